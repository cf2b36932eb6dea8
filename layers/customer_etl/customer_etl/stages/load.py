"""Load: shape validated, enriched records for the warehouse upsert."""

from __future__ import annotations

import hashlib

import pandas as pd

from customer_etl.schema import CANONICAL_COLUMNS, ENRICHMENT_COLUMNS
from customer_etl.stages.context import ChunkOutcome, RunContext

CONTENT_HASH = "content_hash"
HASHED_COLUMNS: tuple[str, ...] = (*CANONICAL_COLUMNS, *ENRICHMENT_COLUMNS)


def content_hashes(chunk: pd.DataFrame) -> pd.Series:
    """SHA-256 of each record's loaded values, so that the warehouse can tell an unchanged
    record from a changed one without comparing values."""
    values = chunk.loc[:, list(HASHED_COLUMNS)].astype("string").fillna("")
    # Vectorised concatenation; a row-wise apply was ten times slower than the hashing.
    joined = values.iloc[:, 0].str.cat(values.iloc[:, 1:], sep="\x1f")
    digests = [hashlib.sha256(row.encode("utf-8")).hexdigest() for row in joined]
    return pd.Series(digests, index=chunk.index, dtype=object)


def prepare_load(chunk: pd.DataFrame, context: RunContext) -> ChunkOutcome:
    """The records to upsert, each with its content hash."""
    prepared = chunk.copy()
    prepared[CONTENT_HASH] = content_hashes(chunk) if len(chunk) else pd.Series(dtype=object)
    return ChunkOutcome(passed=prepared, quarantined=chunk.iloc[0:0])
