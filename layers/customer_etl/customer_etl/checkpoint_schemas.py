"""Arrow schemas of each stage's checkpoint, so every chunk of a run has the same types
(a chunk whose optional column happens to be all empty must not change the file's schema)."""

from __future__ import annotations

import pyarrow as pa

from customer_etl.schema import CANONICAL_FIELDS, ENRICHMENT_FIELDS, Field, FieldType
from customer_etl.stages.context import SOURCE_ROW
from customer_etl.stages.load import CONTENT_HASH

_ARROW_TYPES = {
    FieldType.STRING: pa.string(),
    FieldType.DATE: pa.date32(),
    FieldType.BOOLEAN: pa.bool_(),
    FieldType.FLOAT: pa.float64(),
}


def _typed(fields: tuple[Field, ...]) -> list[pa.Field]:
    return [pa.field(f.name, _ARROW_TYPES[f.type]) for f in fields]


_SOURCE_ROW_FIELD = pa.field(SOURCE_ROW, pa.int64())

RAW = pa.schema([_SOURCE_ROW_FIELD, *(pa.field(f.name, pa.string()) for f in CANONICAL_FIELDS)])
"""Extract's output: every value as the text it arrived as."""

CLEAN = pa.schema([_SOURCE_ROW_FIELD, *_typed(CANONICAL_FIELDS)])
ENRICHED = pa.schema([*CLEAN, *_typed(ENRICHMENT_FIELDS)])
LOADED = pa.schema([*ENRICHED, pa.field(CONTENT_HASH, pa.string())])
QUARANTINE = pa.schema([*RAW, pa.field("reason_codes", pa.string())])
"""A quarantined record: its values as they arrived and its reason codes."""
