"""Source mappings: how a file that is not in our layout becomes canonical records, with no
code: which header is which field, which columns to drop, which fields a stable
`customer_id` is derived from, values to supply where the file has none, value maps,
several columns into one, and the date formats of each column.

    columns:            # source header -> canonical field
      Postal: postcode
    drop: [Address, Website]
    customer_id_from: [email]
    constants: {country: GB}            # every record, whatever the file says
    defaults: {marketing_consent: "false"}   # where the file's value is empty or absent
    values:
      marketing_consent: boolean        # Yes/No/Y/N/1/0/true/false
      country: country                  # names and alpha-3 codes to alpha-2
    # or a map of your own:   marketing_consent: {"Subscribed": true, "Opted out": false}
    combine:
      phone: [Phone 1, Phone 2]         # the first valid one
    date_formats:
      signup_date: ["%m/%d/%Y"]

The model lives in the kernel because the run manifest carries it; applying it to records
is the extract stage's (`customer_etl.stages.source_mapping`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from pathlib import Path

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from customer_etl.core.errors import InputFileError
from customer_etl.core.schema import (
    BUSINESS_KEY,
    CANONICAL_COLUMNS,
    REQUIRED_COLUMNS,
    FieldType,
    field,
)

DERIVED_ID_PREFIX = "id-"
ALTERNATE_SEPARATOR = "\x1f"
"""Joins a combined field's name and the place of one of its further source columns in the
chunk extract reads (`phone\x1f1`): a name no header can give."""
NAMED_VALUE_MAPS: tuple[str, ...] = ("boolean", "country")
"""Value maps the pipeline knows by name: `boolean` (yes/no, y/n, 1/0, true/false, on/off,
to `true`/`false`) and `country` (names and ISO codes to alpha-2, through pycountry)."""

Scalar = str | bool | int | float | date
ValueMap = str | dict[str, Scalar]


class MappingError(InputFileError):
    """A mapping file cannot be read or does not describe a valid mapping."""


def normalise_header(name: str) -> str:
    """`" First Name "` and `first_name` name the same column."""
    return "_".join(name.strip().lower().replace("-", " ").split())


class SourceMapping(BaseModel):
    """Example:
    >>> SourceMapping(columns={"Postal": "postcode"}).target("  postal ")
    'postcode'
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: dict[str, str] = Field(default_factory=dict)
    drop: list[str] = Field(default_factory=list)
    customer_id_from: list[str] = Field(default_factory=list)
    constants: dict[str, Scalar] = Field(default_factory=dict)
    """Field -> value for every record, whatever the file holds (the column need not exist)."""
    defaults: dict[str, Scalar] = Field(default_factory=dict)
    """Field -> value where the file's value is empty or its column absent."""
    values: dict[str, ValueMap] = Field(default_factory=dict)
    """Field -> a named map (NAMED_VALUE_MAPS) or source value -> canonical value (matched
    trimmed and case-insensitively). A value the map does not know is kept as written, for
    the rules to judge."""
    combine: dict[str, list[str]] = Field(default_factory=dict)
    """Field -> source headers in order: the record takes the first valid value among them
    (valid by the field's format for email and phone; non-empty for other fields)."""
    date_formats: dict[str, list[str]] = Field(default_factory=dict)
    """Date field -> strptime formats tried in order; a value read is passed on as ISO."""

    @field_validator("constants", "defaults")
    @classmethod
    def _as_text(cls, value: dict[str, Scalar]) -> dict[str, Scalar]:
        return {name: _text(scalar) for name, scalar in value.items()}

    @field_validator("values")
    @classmethod
    def _maps_as_text(cls, value: dict[str, ValueMap]) -> dict[str, ValueMap]:
        return {
            name: mapped
            if isinstance(mapped, str)
            else {key: _text(target) for key, target in mapped.items()}
            for name, mapped in value.items()
        }

    @model_validator(mode="after")
    def _canonical_targets(self) -> SourceMapping:
        named = {
            *self.columns.values(),
            *self.customer_id_from,
            *self.constants,
            *self.defaults,
            *self.values,
            *self.combine,
            *self.date_formats,
        }
        unknown = sorted(name for name in named if name not in CANONICAL_COLUMNS)
        if unknown:
            raise ValueError(f"not canonical fields: {', '.join(unknown)}")
        if BUSINESS_KEY in self.customer_id_from:
            raise ValueError(f"{BUSINESS_KEY} cannot be derived from itself")
        for name, mapped in self.values.items():
            if isinstance(mapped, str) and mapped not in NAMED_VALUE_MAPS:
                raise ValueError(
                    f"values.{name}: {mapped!r} is not a named map (one of "
                    f"{', '.join(NAMED_VALUE_MAPS)}); or give a map of values"
                )
        for name in self.date_formats:
            if field(name).type is not FieldType.DATE:
                raise ValueError(f"date_formats.{name}: not a date field")
        both = sorted(set(self.constants) & set(self.defaults))
        if both:
            raise ValueError(f"{', '.join(both)}: a constant or a default, not both")
        mapped_to = set(self.columns.values())
        for name, sources in self.combine.items():
            if not sources:
                raise ValueError(f"combine.{name}: name at least one source column")
            if name in mapped_to or name in self.constants:
                raise ValueError(
                    f"combine.{name}: the field also comes from columns or constants; keep one"
                )
        return self

    def supplied(self) -> set[str]:
        """Fields the mapping fills without a column of the file (constants, defaults)."""
        return {*self.constants, *self.defaults}

    def target(self, header: str) -> str | None:
        """The canonical field a source header maps to; None for a header to drop."""
        name = normalise_header(header)
        if name in {normalise_header(d) for d in self.drop}:
            return None
        for source, canonical in self.columns.items():
            if normalise_header(source) == name:
                return canonical
        return name

    def combined(self, header: str) -> tuple[str, int] | None:
        """The combined field a source header feeds and its place among that field's
        sources; None when it feeds none."""
        name = normalise_header(header)
        for target, sources in self.combine.items():
            for place, source in enumerate(sources):
                if normalise_header(source) == name:
                    return target, place
        return None


def _text(value: Scalar) -> str:
    """YAML reads `false`, `1` and `2020-01-01` as a boolean, a number and a date; records
    hold text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def load_mapping(path: Path) -> SourceMapping:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MappingError(f"mapping file {path.name} not found: check the path") from None
    except yaml.YAMLError:
        raise MappingError(f"mapping file {path.name} is not valid YAML") from None
    try:
        return SourceMapping.model_validate(data or {})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "top level"
        raise MappingError(
            f"mapping file {path.name}: {where}: {first['msg']} (see docs/data-quality.md)"
        ) from None


@dataclass(frozen=True)
class HeaderPlan:
    """Where each canonical field is in a file's rows, and what the header held besides."""

    positions: dict[str, int]
    columns_found: tuple[str, ...]
    columns_missing: tuple[str, ...]
    columns_ignored: tuple[str, ...]
    columns_dropped: tuple[str, ...]
    alternates: dict[str, tuple[int, ...]] = dataclass_field(default_factory=dict)
    """A combined field's further source columns, in the mapping's order (the first found
    is in `positions`)."""


def plan_header(
    header: list[str],
    mapping: SourceMapping | None,
    file_name: str,
    required: tuple[str, ...] = REQUIRED_COLUMNS,
) -> HeaderPlan:
    """Match a header to the canonical fields, or raise InputFileError naming the columns.

    `required` are the fields a record cannot do without (the business key and what the
    rules require); each must be in the header, mapped, or supplied by the mapping."""
    mapping = mapping or SourceMapping()
    derived = bool(mapping.customer_id_from)
    positions: dict[str, int] = {}
    combined: dict[str, dict[int, int]] = {}
    repeated: set[str] = set()
    ignored: list[str] = []
    dropped: list[str] = []
    for index, name in enumerate(header):
        target = mapping.target(name)
        feeds = mapping.combined(name)
        if target is None:
            dropped.append(name.strip())
        elif feeds is not None:
            combined.setdefault(feeds[0], {})[feeds[1]] = index
        elif target not in CANONICAL_COLUMNS or (derived and target == BUSINESS_KEY):
            ignored.append(name.strip())
        elif target in positions:
            repeated.add(target)
        else:
            positions[target] = index
    alternates: dict[str, tuple[int, ...]] = {}
    for target, places in combined.items():
        ordered = [places[place] for place in sorted(places)]
        positions[target] = ordered[0]
        alternates[target] = tuple(ordered[1:])
    if not any(name.strip() for name in header):
        raise InputFileError(f"input file {file_name} has no header row")
    if repeated:
        raise InputFileError(
            f"input file {file_name} repeats column(s) {', '.join(sorted(repeated))} in its "
            "header (after mapping)"
        )
    needed = [name for name in required if not (derived and name == BUSINESS_KEY)]
    needed += [name for name in mapping.customer_id_from if name not in needed]
    supplied = mapping.supplied()
    missing_required = [name for name in needed if name not in positions and name not in supplied]
    if missing_required:
        raise InputFileError(
            f"input file {file_name} lacks required column(s) {', '.join(missing_required)}: "
            "add them to the header, map them, or give a constant or default in the mapping "
            "(see docs/mapping.md)"
        )
    missing = tuple(
        name
        for name in CANONICAL_COLUMNS
        if name not in positions and name not in supplied and not (derived and name == BUSINESS_KEY)
    )
    return HeaderPlan(
        positions=positions,
        columns_found=tuple(name.strip() for name in header),
        columns_missing=missing,
        columns_ignored=tuple(ignored),
        columns_dropped=tuple(dropped),
        alternates=alternates,
    )


def alternate_column(name: str, place: int) -> str:
    """The chunk column of a combined field's further source column `place` (1, 2...)."""
    return f"{name}{ALTERNATE_SEPARATOR}{place}"


def derive_customer_ids(frame: pd.DataFrame, fields: list[str]) -> pd.Series:
    """A stable id from the named fields, normalised (trimmed, case-folded, inner spaces
    collapsed), so that reloading the same people gives the same ids. Empty where every
    named field is empty, which the `required` rule then quarantines."""
    parts = [
        frame[name]
        .fillna("")
        .astype(str)
        .str.strip()
        .str.casefold()
        .str.replace(r"\s+", " ", regex=True)
        for name in fields
    ]
    table = pd.concat(parts, axis=1)
    joined = table.iloc[:, 0].str.cat(table.iloc[:, 1:], sep="\x1f") if len(parts) > 1 else parts[0]
    empty = (table == "").all(axis=1)
    # SHA-256 keeps ids from revealing the values they come from; 32 hex digits (128 bits)
    # make a collision among a file's customers vanishingly unlikely.
    digests = [hashlib.sha256(text.encode("utf-8")).hexdigest()[:32] for text in joined]
    ids = DERIVED_ID_PREFIX + pd.Series(digests, index=frame.index, dtype=object)
    return ids.where(~empty, "")
