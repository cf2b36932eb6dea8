"""Source mappings: how the headers of a file that is not in our layout map to canonical
fields, which columns to drop, and which fields a stable `customer_id` is derived from.

    columns:            # source header -> canonical field
      Postal: postcode
      Phone 1: phone
    drop: [Address, Website]
    customer_id_from: [email]
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from customer_etl.core.errors import InputFileError
from customer_etl.core.schema import BUSINESS_KEY, CANONICAL_COLUMNS, REQUIRED_COLUMNS

DERIVED_ID_PREFIX = "id-"


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

    @model_validator(mode="after")
    def _canonical_targets(self) -> SourceMapping:
        unknown = sorted(
            {t for t in self.columns.values() if t not in CANONICAL_COLUMNS}
            | {f for f in self.customer_id_from if f not in CANONICAL_COLUMNS}
        )
        if unknown:
            raise ValueError(f"not canonical fields: {', '.join(unknown)}")
        if BUSINESS_KEY in self.customer_id_from:
            raise ValueError(f"{BUSINESS_KEY} cannot be derived from itself")
        return self

    def target(self, header: str) -> str | None:
        """The canonical field a source header maps to; None for a header to drop."""
        name = normalise_header(header)
        if name in {normalise_header(d) for d in self.drop}:
            return None
        for source, canonical in self.columns.items():
            if normalise_header(source) == name:
                return canonical
        return name


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


def plan_header(header: list[str], mapping: SourceMapping | None, file_name: str) -> HeaderPlan:
    """Match a header to the canonical fields, or raise InputFileError naming the columns."""
    mapping = mapping or SourceMapping()
    derived = bool(mapping.customer_id_from)
    positions: dict[str, int] = {}
    repeated: set[str] = set()
    ignored: list[str] = []
    dropped: list[str] = []
    for index, name in enumerate(header):
        target = mapping.target(name)
        if target is None:
            dropped.append(name.strip())
        elif target not in CANONICAL_COLUMNS or (derived and target == BUSINESS_KEY):
            ignored.append(name.strip())
        elif target in positions:
            repeated.add(target)
        else:
            positions[target] = index
    if not any(name.strip() for name in header):
        raise InputFileError(f"input file {file_name} has no header row")
    if repeated:
        raise InputFileError(
            f"input file {file_name} repeats column(s) {', '.join(sorted(repeated))} in its "
            "header (after mapping)"
        )
    needed = [name for name in REQUIRED_COLUMNS if not (derived and name == BUSINESS_KEY)]
    needed += [name for name in mapping.customer_id_from if name not in needed]
    missing_required = [name for name in needed if name not in positions]
    if missing_required:
        raise InputFileError(
            f"input file {file_name} lacks required column(s) {', '.join(missing_required)}: "
            "add them to the header or map them (see docs/data-quality.md)"
        )
    missing = tuple(
        name
        for name in CANONICAL_COLUMNS
        if name not in positions and not (derived and name == BUSINESS_KEY)
    )
    return HeaderPlan(
        positions=positions,
        columns_found=tuple(name.strip() for name in header),
        columns_missing=missing,
        columns_ignored=tuple(ignored),
        columns_dropped=tuple(dropped),
    )


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
