"""The small interfaces the stages and runners need from the world.

Stages and runners talk to these; adapters under `customer_etl.adapters` implement them for
the local machine and for AWS. Tests use the real local adapters or in-memory fakes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

import pandas as pd


class InputStore(Protocol):
    """Where source files are read from."""

    def fetch(self, uri: str) -> Path:
        """A local path holding the object's bytes (the original file, or a downloaded copy)."""
        ...


class CheckpointWriter(Protocol):
    def write(self, chunk: pd.DataFrame) -> None: ...

    def close(self) -> str:
        """Finish the checkpoint and return its URI."""
        ...


class CheckpointStore(Protocol):
    """Parquet checkpoints, one per stage per run."""

    def writer(self, run_id: str, stage: str, schema: object) -> CheckpointWriter:
        """A writer for a new checkpoint; `schema` is the pyarrow schema of every chunk."""
        ...

    def read_chunks(self, uri: str, chunk_rows: int) -> Iterator[pd.DataFrame]: ...


@dataclass(frozen=True)
class QuarantineBatch:
    """Where one stage's quarantined rows of a run were put."""

    uri: str
    rows: int
    reasons: Mapping[str, int]


class QuarantineSink(Protocol):
    """Holds rows that failed a stage, with their original values and reason codes."""

    def writer(self, run_id: str, stage: str, schema: object) -> CheckpointWriter: ...

    def announce(self, run_id: str, stage: str, batch: QuarantineBatch) -> None:
        """Tell operators a batch was quarantined (counts and reasons only, no values)."""
        ...


@dataclass(frozen=True)
class Alert:
    """An alert for operators. Built from counts, ids and error classes: no personal data."""

    subject: str
    body: str


class Notifier(Protocol):
    def send(self, alert: Alert) -> None: ...


@dataclass(frozen=True)
class PostcodeDetails:
    region: str | None
    admin_district: str | None
    country: str | None
    latitude: float | None
    longitude: float | None


class PostcodeLookup(Protocol):
    """Details of UK postcodes from an external source."""

    def lookup(self, postcodes: list[str]) -> dict[str, PostcodeDetails | None]:
        """Details of each postcode; None for a postcode the source does not know.

        Raises EnrichmentUnavailableError when the source cannot answer.
        """
        ...


@dataclass(frozen=True)
class RunRecord:
    """One row of the warehouse's `etl_runs` table."""

    run_id: str
    kind: str
    source_file: str
    status: str
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    started_at: datetime
    finished_at: datetime | None
    error: str | None
    rows_deleted: int = 0


@dataclass(frozen=True)
class LoadResult:
    rows_written: int
    inserted: int
    updated: int


class Warehouse(Protocol):
    """The target database."""

    @property
    def display_url(self) -> str:
        """The connection URL without credentials, safe to show."""
        ...

    def load_customers(self, chunks: Iterable[pd.DataFrame], run_id: str) -> LoadResult:
        """Upsert every chunk on `customer_id` in one transaction."""
        ...

    def record_run(self, record: RunRecord) -> None:
        """Insert or replace the `etl_runs` row of a run, in its own transaction."""
        ...

    def delete_customers_last_seen_before(self, cutoff: datetime) -> int: ...
