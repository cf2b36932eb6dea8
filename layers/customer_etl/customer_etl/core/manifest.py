"""The run manifest: what travels between stages (Step Functions state, local resume).

It holds ids, URIs and counts, never rows: a Step Functions payload is capped at 256 KiB.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import PurePosixPath
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from customer_etl.core.api_stats import ApiReport
from customer_etl.core.classification import ClassificationReport
from customer_etl.core.column_counts import ProfileCounts
from customer_etl.core.mapping import SourceMapping
from customer_etl.core.quality_totals import QualityTotals

STAGES: tuple[str, ...] = ("extract", "transform", "enrich", "load")
RunStatus = Literal["running", "succeeded", "failed", "interrupted"]
"""`interrupted`: stopped by Ctrl-C or SIGTERM, cleanly; `customer-etl resume` finishes it."""
RUN_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")
"""Run ids name folders and S3 prefixes: no separators, no `..`."""


class StageReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rows_in: int
    rows_out: int
    rows_quarantined: int
    duration_seconds: float
    checkpoint_uri: str
    """A chunk's checkpoint file; for a whole stage, the folder of its chunks' files."""
    quarantine_uri: str | None = None
    chunks: int = 1
    """How many chunks the figures cover (1 for one chunk's report)."""
    reasons: dict[str, int] = Field(default_factory=dict)
    counters: dict[str, int] = Field(default_factory=dict)
    apis: dict[str, ApiReport] = Field(default_factory=dict)
    """Per enrichment API: calls, cache hits, latency, errors, retries, fallbacks."""
    quality: QualityTotals | None = None
    """Sums of the record scores, from a stage that scores records (transform)."""
    profile: ProfileCounts | None = None
    """Counts of the canonical columns as they arrived (transform), for the drift check."""
    # Optional, so that manifests written before these figures existed still load.
    started_at: datetime | None = None
    finished_at: datetime | None = None
    peak_memory_mb: float | None = None
    """Peak resident memory of the process during the stage (see observability/peak_memory.py)."""
    timings: dict[str, float] = Field(default_factory=dict)
    """Seconds spent in each `timed` function during the stage, summed over its calls."""


class FileReport(BaseModel):
    """File-level facts: sizes, names and counts, never values."""

    model_config = ConfigDict(extra="forbid")

    size_bytes: int
    encoding: str
    delimiter: str = ","
    sha256: str | None = None
    """The content hash of the bytes the run read, computed while reading: a resume that
    finds another file under the same name refuses it."""
    modified_ns: int | None = None
    inode: int | None = None
    version: str | None = None
    """The object version (S3 version id or ETag) the run was started for."""
    rows: int | None = None
    """Records read (blank lines excluded); known once extract has finished."""
    columns_found: list[str]
    columns_missing: list[str] = Field(default_factory=list)
    """Optional canonical fields the header lacks: their values are empty."""
    columns_ignored: list[str]
    """Columns neither canonical, mapped nor dropped: reported, not loaded."""
    columns_dropped: list[str] = Field(default_factory=list)
    """Columns the mapping file said to drop."""


class ReplayReport(BaseModel):
    """One replay of corrected quarantined records of a run."""

    model_config = ConfigDict(extra="forbid")

    run_id: str
    rows_replayed: int
    rows_recovered: int
    rows_skipped: int
    """Records of the file that an earlier replay had already recovered."""


class RunManifest(BaseModel):
    """Example:
    >>> m = RunManifest.start("run-1", "data/customers.csv")
    >>> m.source_file
    'customers.csv'
    """

    model_config = ConfigDict(extra="forbid")

    run_id: str = Field(pattern=f"^{RUN_ID_PATTERN.pattern}$")
    source_uri: str
    started_at: datetime
    reference_date: date
    status: RunStatus = "running"
    file: FileReport | None = None
    mapping: SourceMapping | None = None
    """How the source's headers map to canonical fields (`--mapping`), when they do not match."""
    replay_of: str | None = None
    """For a replay run, the run whose quarantined records it replays."""
    replays: list[ReplayReport] = Field(default_factory=list)
    recovered_source_rows: list[int] = Field(default_factory=list)
    """Quarantined records of this run that a replay has since loaded, by `source_row`."""
    stages: dict[str, StageReport] = Field(default_factory=dict)
    classification: ClassificationReport | None = None
    """Personal-data classes found in the source's columns (counts, never values)."""
    error: str | None = None
    finished_at: datetime | None = None
    chunks: int | None = None
    """How many chunks extract wrote (transform, enrich and load run once per chunk)."""
    attempts: int = 1
    """Executions it took: 1, plus one for every resume or redrive."""
    incident: str | None = None
    """The number of the incident its failure opened (alerts.incidents), if any."""
    source_version: str | None = None
    """The version of the source object the run reads (S3 version id or ETag), when the
    store has versions: a replaced object never mixes into a run started for another."""
    drift: list[str] = Field(default_factory=list)
    """Columns whose shape drifted from the source's recent runs (quality/drift.py): the
    column, the measure and two figures each, never a value."""
    triggered_by: str | None = None
    """Who started the run, for the audit trail: `local:<account>` for a local run, the S3
    requester of the upload (`s3:<account or principal>`) or the identity an operator's
    execution input names in the cloud; None for runs recorded before it was kept."""

    @classmethod
    def start(cls, run_id: str, source_uri: str, now: datetime | None = None) -> RunManifest:
        now = now or datetime.now(UTC)
        return cls(run_id=run_id, source_uri=source_uri, started_at=now, reference_date=now.date())

    @property
    def source_file(self) -> str:
        return PurePosixPath(self.source_uri.replace("\\", "/")).name

    @property
    def rows_in(self) -> int:
        extract = self.stages.get("extract")
        return extract.rows_in if extract else 0

    @property
    def rows_loaded(self) -> int:
        load = self.stages.get("load")
        return load.rows_out if load else 0

    @property
    def rows_quarantined(self) -> int:
        return sum(report.rows_quarantined for report in self.stages.values())

    def next_stage(self) -> str | None:
        """The first stage this run has not finished, or None when all are done."""
        return next((stage for stage in STAGES if stage not in self.stages), None)

    def chunk_range(self) -> range:
        if self.chunks is None:
            raise ValueError("the run has no chunks before extract has finished")
        return range(self.chunks)

    def input_of(self, stage: str) -> str:
        """URI of the data `stage` reads: the source file or the previous stage's checkpoint."""
        position = STAGES.index(stage)
        if position == 0:
            return self.source_uri
        previous = STAGES[position - 1]
        if previous not in self.stages:
            raise ValueError(f"stage {stage} needs {previous} to have run first")
        return self.stages[previous].checkpoint_uri
