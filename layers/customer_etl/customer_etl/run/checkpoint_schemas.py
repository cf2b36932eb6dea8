"""Arrow schemas of each stage's checkpoint, so every chunk of a run has the same types
(a chunk whose optional column happens to be all empty must not change the file's schema)."""

from __future__ import annotations

import pyarrow as pa

from customer_etl.core.context import SOURCE_ROW
from customer_etl.core.quality_totals import DIMENSIONS, QUALITY_SCORE
from customer_etl.core.schema import (
    BUSINESS_KEY,
    CANONICAL_FIELDS,
    ENRICHMENT_FIELDS,
    Field,
    FieldType,
)
from customer_etl.stages.duplicates import REPEATED_KEYS
from customer_etl.stages.extract import RAW_RECORD, SOURCE_LINE
from customer_etl.stages.load import CONTENT_HASH
from customer_etl.stages.transform import QUARANTINED

_ARROW_TYPES = {
    FieldType.STRING: pa.string(),
    FieldType.DATE: pa.date32(),
    FieldType.BOOLEAN: pa.bool_(),
    FieldType.FLOAT: pa.float64(),
}


def _typed(fields: tuple[Field, ...]) -> list[pa.Field]:
    return [pa.field(f.name, _ARROW_TYPES[f.type]) for f in fields]


_SOURCE_ROW_FIELD = pa.field(SOURCE_ROW, pa.int64())
_SOURCE_LINE_FIELD = pa.field(SOURCE_LINE, pa.int64())
_TEXT_FIELDS = [pa.field(f.name, pa.string()) for f in CANONICAL_FIELDS]

RAW = pa.schema(
    [_SOURCE_ROW_FIELD, _SOURCE_LINE_FIELD, *_TEXT_FIELDS, pa.field(REPEATED_KEYS, pa.string())]
)
"""Extract's output: every value as the text it arrived as, and the file-wide repeats of a
`unique` key (stages/duplicates.py)."""

CLEAN = pa.schema([_SOURCE_ROW_FIELD, *_typed(CANONICAL_FIELDS)])
ENRICHED = pa.schema([*CLEAN, *_typed(ENRICHMENT_FIELDS)])
LOADED = pa.schema([*ENRICHED, pa.field(CONTENT_HASH, pa.string())])
QUARANTINE = pa.schema(
    [
        pa.field("run_id", pa.string()),
        pa.field("stage", pa.string()),
        *RAW,
        pa.field(RAW_RECORD, pa.string()),
        pa.field("reason_codes", pa.string()),
        pa.field("rules", pa.string()),
    ]
)
"""A quarantined record: its run and stage, its values as they arrived (a ragged row's
whole line in `raw_record`), its reason codes and the rules that gave them."""

SCORES = pa.schema(
    [
        _SOURCE_ROW_FIELD,
        pa.field(BUSINESS_KEY, pa.string()),
        *(pa.field(name, pa.float64()) for name in DIMENSIONS),
        pa.field(QUALITY_SCORE, pa.float64()),
        pa.field(QUARANTINED, pa.bool_()),
    ]
)
"""Each record's quality scores (0 to 100; null where no rule of a dimension applied)."""
