"""Transform: validate every record, normalise what is valid, quarantine the rest.

Every rule runs vectorised over the chunk. A failing record is quarantined with every
reason code that applies, and its values kept as they arrived.
"""

from __future__ import annotations

import pandas as pd

from customer_etl.schema import BUSINESS_KEY, CANONICAL_FIELDS, FieldType
from customer_etl.stages.context import REASON_SEPARATOR, SOURCE_ROW, ChunkOutcome, RunContext

# The UK postcode shapes (A9 9AA, A99 9AA, AA9 9AA, AA99 9AA, A9A 9AA, AA9A 9AA) with the
# letters Royal Mail allows in each position, matched after upper-casing and removing spaces.
UK_POSTCODE_PATTERN = (
    r"^(?:GIR0AA|[A-PR-UWYZ](?:[0-9]{1,2}|[A-HK-Y][0-9]{1,2}|[0-9][A-HJKPSTUW]"
    r"|[A-HK-Y][0-9][ABEHMNPRV-Y])[0-9][ABD-HJLNP-UW-Z]{2})$"
)
# Deliberately simple: one @, no spaces, a dot in the domain. Deliverability is not
# something a pattern can tell.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s.]+$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"
ISO_DATE_FORMAT = "%Y-%m-%d"

_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


class _Reasons:
    """Collects reason codes per row as boolean columns, then joins them."""

    def __init__(self, index: pd.Index) -> None:
        self._flags: dict[str, pd.Series] = {}
        self._index = index

    def add(self, code: str, failing: pd.Series) -> None:
        if failing.any():
            self._flags[code] = failing.fillna(False).astype(bool)

    def any_failing(self) -> pd.Series:
        result = pd.Series(False, index=self._index)
        for failing in self._flags.values():
            result |= failing
        return result

    def joined(self) -> pd.Series:
        codes = pd.Series("", index=self._index, dtype=object)
        for code, failing in self._flags.items():
            codes[failing] = codes[failing] + REASON_SEPARATOR + code
        return codes.str.lstrip(REASON_SEPARATOR)

    def counts(self) -> dict[str, int]:
        return {code: int(failing.sum()) for code, failing in self._flags.items()}


def normalise_postcode(values: pd.Series) -> pd.Series:
    """`sw1a1aa`, `SW1A 1AA` and ` sw1a  1aa ` all become `SW1A 1AA` (shape not checked)."""
    compact = values.str.upper().str.replace(r"\s+", "", regex=True)
    return compact.str[:-3] + " " + compact.str[-3:]


def transform(chunk: pd.DataFrame, context: RunContext) -> ChunkOutcome:
    """Validate and normalise one chunk of string records (as extract produced them)."""
    raw = chunk
    values = chunk.drop(columns=[SOURCE_ROW]).apply(lambda column: column.str.strip())
    reasons = _Reasons(chunk.index)
    clean = pd.DataFrame(index=chunk.index)
    clean[SOURCE_ROW] = chunk[SOURCE_ROW]

    for spec in CANONICAL_FIELDS:
        column = values[spec.name]
        empty = column == ""
        if spec.required:
            reasons.add(f"missing_{spec.name}", empty)
        if spec.max_length is not None:
            reasons.add(f"too_long_{spec.name}", column.str.len() > spec.max_length)
        clean[spec.name] = column.where(~empty, None)

    clean["email"] = clean["email"].str.lower()
    reasons.add("invalid_email", _fails(clean["email"], EMAIL_PATTERN))

    compact = values["postcode"].str.upper().str.replace(r"\s+", "", regex=True)
    reasons.add("invalid_postcode", _fails(compact.where(compact != "", None), UK_POSTCODE_PATTERN))
    clean["postcode"] = normalise_postcode(values["postcode"]).where(compact != "", None)

    clean["country"] = clean["country"].str.upper()
    reasons.add("invalid_country", _fails(clean["country"], COUNTRY_PATTERN))

    today = pd.Timestamp(context.today)
    for spec in CANONICAL_FIELDS:
        if spec.type is FieldType.DATE:
            parsed = pd.to_datetime(values[spec.name], format=ISO_DATE_FORMAT, errors="coerce")
            present = values[spec.name] != ""
            reasons.add(f"invalid_{spec.name}", present & parsed.isna())
            reasons.add(f"{spec.name}_in_future", parsed > today)
            clean[spec.name] = parsed.dt.date.where(parsed.notna(), None)
    born_after_signup = pd.to_datetime(clean["date_of_birth"]) > pd.to_datetime(
        clean["signup_date"]
    )
    reasons.add("signup_before_birth", born_after_signup)

    consent = values["marketing_consent"].str.lower()
    reasons.add("invalid_marketing_consent", (consent != "") & ~consent.isin(_TRUE | _FALSE))
    clean["marketing_consent"] = consent.isin(_TRUE)

    reasons.add("duplicate_customer_id", _duplicates(values[BUSINESS_KEY], context))

    failing = reasons.any_failing()
    for code, count in reasons.counts().items():
        context.counters[f"reason:{code}"] += count

    quarantined = raw.loc[failing].copy()
    quarantined["reason_codes"] = reasons.joined()[failing]
    return ChunkOutcome(
        passed=clean.loc[~failing].reset_index(drop=True),
        quarantined=quarantined.reset_index(drop=True),
    )


def _fails(values: pd.Series, pattern: str) -> pd.Series:
    """True where a value is present and does not match; a missing value is the
    `missing_*` rule's business, not this one's."""
    present = values.notna()
    return present & ~values.fillna("").str.match(pattern)


def _duplicates(ids: pd.Series, context: RunContext) -> pd.Series:
    """A record whose `customer_id` appeared on an earlier row of the file, in this chunk
    or an earlier one. The first occurrence is kept, whatever became of it."""
    present = ids != ""
    seen_before = ids.isin(context.seen_customer_ids)
    repeated_here = ids.duplicated(keep="first")
    context.seen_customer_ids.update(ids[present].tolist())
    return present & (seen_before | repeated_here)
