"""Apply a source mapping to the records extract read: constants and defaults, value maps,
date formats, combined columns and derived ids, in that order, so that each step sees what
the steps before it made (a phone is read in the country a constant gave).

Then the privacy default: a record with no marketing consent is recorded as not
consenting, never as consenting (`marketing_consent` is `false`).
"""

from __future__ import annotations

import pandas as pd

from customer_etl.core import formats
from customer_etl.core.context import RunContext
from customer_etl.core.mapping import (
    ALTERNATE_SEPARATOR,
    SourceMapping,
    ValueMap,
    derive_customer_ids,
)
from customer_etl.core.schema import BUSINESS_KEY
from customer_etl.reference.countries import alpha_2

CONSENT = "marketing_consent"
NO_CONSENT = "false"

# What a `boolean` value map reads, trimmed and case-folded.
_BOOLEAN_TEXT: dict[str, str] = {
    **dict.fromkeys(("true", "t", "yes", "y", "1", "on"), "true"),
    **dict.fromkeys(("false", "f", "no", "n", "0", "off"), "false"),
}


def apply_mapping(
    records: pd.DataFrame, mapping: SourceMapping | None, context: RunContext
) -> pd.DataFrame:
    """The records with `mapping` applied and the consent default set; the combined
    fields' further source columns are gone. Counters say how many values each step
    supplied (`mapping:default:<field>`, `mapping:constant:<field>`), never which."""
    mapping = mapping or SourceMapping()
    records = records.copy()
    for name, value in mapping.constants.items():
        records[name] = str(value)
        context.counters[f"mapping:constant:{name}"] += len(records)
    for name, value in mapping.defaults.items():
        empty = _empty(records, name)
        records.loc[empty, name] = str(value)
        context.counters[f"mapping:default:{name}"] += int(empty.sum())
    for name, value_map in mapping.values.items():
        records[name] = _mapped(records[name], value_map)
    for name, date_formats in mapping.date_formats.items():
        records[name] = _iso_dates(records[name], date_formats)
    for name in mapping.combine:
        records = _combine(records, name)
    if mapping.customer_id_from:
        records[BUSINESS_KEY] = derive_customer_ids(records, mapping.customer_id_from)
    no_consent = _empty(records, CONSENT)
    records.loc[no_consent, CONSENT] = NO_CONSENT
    context.counters[f"mapping:default:{CONSENT}"] += int(no_consent.sum())
    return records


def _empty(records: pd.DataFrame, name: str) -> pd.Series:
    if name not in records:
        records[name] = ""
    return records[name].fillna("").astype(str).str.strip() == ""


def _mapped(values: pd.Series, value_map: ValueMap) -> pd.Series:
    """Values through the map, trimmed and case-insensitively; an unknown or empty one as
    written."""
    key = values.fillna("").astype(str).str.strip()
    if value_map == "boolean":
        mapped = key.str.casefold().map(_BOOLEAN_TEXT)
    elif value_map == "country":
        mapped = key.map(lambda text: alpha_2(text) if text else None)
    else:
        assert isinstance(value_map, dict)  # the model allows a name or a map
        table = {str(k).strip().casefold(): str(v) for k, v in value_map.items()}
        mapped = key.str.casefold().map(table)
    return mapped.where(mapped.notna(), values).astype(object)


def _iso_dates(values: pd.Series, date_formats: list[str]) -> pd.Series:
    text = values.fillna("").astype(str).str.strip()
    present = text != ""
    parsed, invalid = formats.dates(text[present], date_formats)
    read = parsed[~invalid].dt.strftime("%Y-%m-%d")
    out = values.astype(object).copy()
    out[read.index] = read
    return out


def _combine(records: pd.DataFrame, name: str) -> pd.DataFrame:
    """The first valid of a field's source columns (the field's own, then its alternates)."""
    prefix = f"{name}{ALTERNATE_SEPARATOR}"
    alternates = sorted(
        (column for column in records.columns if str(column).startswith(prefix)),
        key=lambda column: int(str(column)[len(prefix) :]),
    )
    if name not in records:
        records[name] = ""
    chosen = records[name].fillna("").astype(str)
    valid = _valid(records, name, chosen)
    for column in alternates:
        candidate = records[column].fillna("").astype(str)
        better = ~valid & _valid(records, name, candidate)
        chosen = chosen.where(~better, candidate)
        valid |= better
        # Where none is valid, the first non-empty one goes on for the rules to judge.
        take = (chosen.str.strip() == "") & (candidate.str.strip() != "")
        chosen = chosen.where(~take, candidate)
    records[name] = chosen.astype(object)
    return records.drop(columns=alternates)


def _valid(records: pd.DataFrame, name: str, values: pd.Series) -> pd.Series:
    text = values.str.strip()
    present = text != ""
    valid = pd.Series(False, index=values.index)
    if not present.any():
        return valid
    if name == "email":
        _, invalid = formats.email(text[present])
    elif name == "phone":
        country = records.get("country", pd.Series("", index=values.index))
        regions = country[present].fillna("").astype(str).map(lambda c: alpha_2(c) or "GB")
        _, invalid = formats.phones(text[present], regions, "possible")
    else:
        invalid = pd.Series(False, index=text[present].index)
    valid[present] = ~invalid.to_numpy(dtype=bool)
    return valid
