"""The run-level context a stage sees while it processes one chunk after another."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from customer_etl.ports import PostcodeDetails

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
    seen_customer_ids: set[str] = field(default_factory=set)
    postcode_cache: dict[str, PostcodeDetails | None] = field(default_factory=dict)
    counters: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class ChunkOutcome:
    """What a stage made of one chunk: rows passed on and rows quarantined.

    `quarantined` keeps the rows' values as they came in, plus `reason_codes`.
    """

    passed: pd.DataFrame
    quarantined: pd.DataFrame

    @property
    def rows_in(self) -> int:
        return len(self.passed) + len(self.quarantined)
