"""The run-level context a stage sees while it processes one chunk after another."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from customer_etl.core.api_stats import ApiStats
from customer_etl.core.column_counts import ProfileCounts
from customer_etl.core.ports import CompanyDetails, PostcodeDetails
from customer_etl.core.quality_totals import QualityTotals

REASON_SEPARATOR = ";"
SOURCE_ROW = "source_row"
"""1-based position of the record among the file's data rows; kept through every stage so
that a quarantined or loaded record can be traced back to its source."""


@dataclass
class RunContext:
    """State that spans the chunks of one run.

    `today` is the run's reference date (for "not in the future" rules), fixed when the
    run starts so that a resume judges records the same way.
    """

    run_id: str
    today: date
    seen_keys: dict[str, list[pd.Index]] = field(default_factory=dict)
    """Per uniqueness rule, the distinct values of each earlier chunk of the run (an Index
    keeps its hash table, so each chunk's is built once)."""
    quality: QualityTotals = field(default_factory=QualityTotals)
    """Sums of the record scores so far."""
    profile: ProfileCounts | None = None
    """The columns' counts (transform's), for the drift check."""
    postcode_cache: dict[str, PostcodeDetails | None] = field(default_factory=dict)
    company_cache: dict[str, CompanyDetails | None] = field(default_factory=dict)
    api_stats: dict[str, ApiStats] = field(default_factory=dict)
    """Per enrichment API, what the run asked of it and how it went."""
    counters: Counter[str] = field(default_factory=Counter)
    repeated_in_earlier_chunks: dict[str, np.ndarray] = field(default_factory=dict)
    """Per `unique` field, which records of the chunk at hand extract found repeating a
    value of an earlier chunk (positional masks): transform runs each chunk on its own."""


@dataclass(frozen=True)
class ChunkOutcome:
    """What a stage made of one chunk: rows passed on and rows quarantined.

    `quarantined` keeps the rows' values as they came in, plus `reason_codes` and `rules`.
    `scores`, from a stage that scores records, has one row per record in.
    """

    passed: pd.DataFrame
    quarantined: pd.DataFrame
    scores: pd.DataFrame | None = None

    @property
    def rows_in(self) -> int:
        return len(self.passed) + len(self.quarantined)
