"""The small interfaces the stages and runners need from the world.

Stages and runners talk to these; adapters under `customer_etl.adapters` implement them for
the local machine and for AWS. Tests use the real local adapters or in-memory fakes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Literal, Protocol

import pandas as pd

from customer_etl.core.api_stats import ApiStats
from customer_etl.core.legal_holds import HeldTargets, LegalHold, NewLegalHold
from customer_etl.core.manifest import RunManifest
from customer_etl.core.retention import Expired, RetentionOutcome


class InputStore(Protocol):
    """Where source files are read from."""

    def fetch(self, uri: str, version: str | None = None) -> Path:
        """A local path holding the object's bytes (the original file, or a downloaded copy);
        with `version`, exactly that version of the object, or InputChangedError."""
        ...


class CheckpointWriter(Protocol):
    def write(self, chunk: pd.DataFrame) -> None: ...

    def close(self) -> str:
        """Finish the checkpoint and return its URI."""
        ...


class CheckpointStore(Protocol):
    """Parquet checkpoints, one per stage and chunk of a run (`<stage>/chunk-00000`), and the
    run's small documents (chunk reports, the chunk list, classification)."""

    def writer(self, run_id: str, stage: str, schema: object) -> CheckpointWriter:
        """A writer for a new checkpoint; `schema` is the pyarrow schema of every chunk."""
        ...

    def read_chunks(self, uri: str, chunk_rows: int) -> Iterator[pd.DataFrame]: ...

    def put_document(self, run_id: str, name: str, text: str) -> str:
        """Write a small text document of the run (a report for people, never rows) beside
        its checkpoints and return its URI."""
        ...

    def get_document(self, run_id: str, name: str) -> str | None:
        """A document `put_document` wrote, or None when there is none."""
        ...


@dataclass(frozen=True)
class QuarantineBatch:
    """Where one stage's quarantined rows of a run were put."""

    uri: str
    rows: int
    reasons: Mapping[str, int]
    rules: Mapping[str, int] = field(default_factory=dict)
    """Rule name -> rows it quarantined (rows a stage refused without a rule have none)."""


class QuarantineSink(Protocol):
    """Holds rows that failed a stage, with their original values and reason codes."""

    def writer(self, run_id: str, stage: str, schema: object) -> CheckpointWriter: ...

    def announce(self, run_id: str, stage: str, batch: QuarantineBatch) -> None:
        """Tell operators a batch was quarantined (counts and reasons only, no values)."""
        ...

    def announce_failed_run(
        self,
        run_id: str,
        stage: str | None,
        error_class: str,
        error: str | None,
        execution: str,
        status: str,
    ) -> None:
        """Record that a run failed and how to recover it (our error texts carry no values)."""
        ...


@dataclass(frozen=True)
class Alert:
    """An alert for operators. Built from counts, ids and error classes: no personal data."""

    subject: str
    body: str
    severity: str | None = None
    """P1, P2 or P3 (docs/incident-response.md), for notifiers that can route on it."""


class Notifier(Protocol):
    def send(self, alert: Alert) -> None: ...


@dataclass(frozen=True)
class Incident:
    """What an incident tool is told of a failed run: the alert's words (written to carry no
    personal data), its severity, the run and the error class."""

    run_id: str
    severity: str
    error_class: str
    summary: str
    details: str


@dataclass(frozen=True)
class IncidentRef:
    """An incident as its tool knows it: `number` for people (INC0010001, OPS-12), `key` for
    the API (a sys_id, an issue key, a dedup key)."""

    tool: str
    number: str
    key: str


class IncidentTracker(Protocol):
    """An incident tool that opens an incident and resolves it."""

    def open(self, incident: Incident) -> IncidentRef: ...

    def resolve(self, incident: IncidentRef, note: str) -> None: ...


@dataclass(frozen=True)
class PostcodeDetails:
    region: str | None
    admin_district: str | None
    country: str | None
    latitude: float | None
    longitude: float | None


class PostcodeLookup(Protocol):
    """Details of UK postcodes from an external source."""

    def lookup(self, postcodes: list[str], stats: ApiStats) -> dict[str, PostcodeDetails | None]:
        """Details of each postcode; None for a postcode the source does not know.

        A postcode the source could not be asked about (it failed, or its circuit is open)
        is absent from the answer. Calls, cache hits, retries and errors go to `stats`.
        """
        ...


@dataclass(frozen=True)
class CompanyDetails:
    status: str | None
    company_type: str | None
    sic_codes: tuple[str, ...]
    incorporated_on: date | None


class CompanyLookup(Protocol):
    """Details of companies by their Companies House registration number."""

    def lookup(self, numbers: list[str], stats: ApiStats) -> dict[str, CompanyDetails | None]:
        """Details of each company; None for a number the register does not know.

        A number the source could not be asked about is absent from the answer.
        """
        ...


class AnswerCache(Protocol):
    """Persistent answers of an enrichment API, kept for a while so that a rerun or the
    next file does not ask again. Values are JSON-ready dicts; None records "unknown"."""

    def get(self, api: str, keys: list[str]) -> dict[str, dict[str, object] | None]:
        """The unexpired answers among `keys`; a key without one is absent."""
        ...

    def put(
        self, api: str, answers: Mapping[str, dict[str, object] | None], ttl_seconds: float
    ) -> None: ...


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
    attempts: int = 1
    """Executions the run took: 1, plus one per resume or redrive."""
    triggered_by: str | None = None
    """Who started the run (`RunManifest.triggered_by`); None when not recorded."""
    incident: str | None = None
    """The number of the incident its failure opened (alerts.incidents), if any."""
    api_calls: int | None = None
    """Requests the run sent to the enrichment APIs (None before schema 0010)."""
    api_errors: int | None = None
    """Of those, the ones that failed, whatever the kind of failure."""
    column_profiles: str | None = None
    """The run's column profile as JSON (quality/drift.py; None before schema 0013)."""
    api_latency_ms: float | None = None
    """The 95th-percentile latency of the run's slowest enrichment API."""


@dataclass(frozen=True)
class LoadResult:
    """What one load did, by record, and what the database did for it."""

    inserted: int
    updated: int
    unchanged: int
    rejected: int
    database: Mapping[str, int]
    """`db_*` counters: statements by verb and their milliseconds, commits, rollbacks,
    savepoints, savepoint rollbacks, pool checkouts and the wait for a connection."""

    def counters(self) -> dict[str, int]:
        """The load stage's counters, for its report and the run's summary."""
        actions = {"inserted": self.inserted, "updated": self.updated}
        actions |= {"unchanged": self.unchanged, "rejected_by_warehouse": self.rejected}
        return actions | dict(self.database)


class CustomerLoad(Protocol):
    """One load unit: a chunk of a run (or all of them) upserted in one transaction."""

    result: LoadResult | None
    """Set once the unit has committed."""
    recorded_report: str | None
    """For a chunk already loaded and committed: the report it recorded (then nothing is to
    be upserted again); None otherwise."""

    def record_chunk(self, report: str) -> None:
        """Record the chunk as loaded, with its report, in this unit's transaction."""
        ...

    def action_counts(self) -> dict[str, int]:
        """Records inserted, updated and unchanged by this unit so far, and those refused."""
        ...

    def run_data_key(self) -> StoredKey | None:
        """The wrapped data key an earlier chunk of the run stored, if any."""
        ...

    def upsert(self, chunk: pd.DataFrame) -> pd.Series:
        """Upsert the chunk's records (with their content hash) on `customer_id`; the reason
        codes of the rows the warehouse did not load, by row label."""
        ...

    def stored_hashes(self, keys: Sequence[str]) -> dict[str, str]:
        """The content hashes the warehouse holds for those of `keys` it has."""
        ...

    def mark_seen(self, rows: pd.DataFrame) -> pd.Series:
        """Record unchanged records (`customer_id` and `content_hash` only) as seen by this
        load, with their audit rows; the reason codes of the rows it could not record."""
        ...

    def store_data_key(self, data_key_id: str, key: DataKey) -> None:
        """Record the run's wrapped data key (never its plaintext) in this unit's
        transaction, so that it commits with the values sealed under it, or not at all."""
        ...


class Warehouse(Protocol):
    """The target database."""

    @property
    def display_url(self) -> str:
        """The connection URL without credentials, safe to show."""
        ...

    def check_schema(self) -> None:
        """Raise WarehouseSchemaError when the schema is not the one this version needs."""
        ...

    def loading(
        self, run_id: str, chunk: int | None = None
    ) -> AbstractContextManager[CustomerLoad]:
        """A load unit that commits when the block ends without an error, else rolls back;
        with `chunk`, that chunk's unit, idempotent on (run id, chunk)."""
        ...

    def record_run(self, record: RunRecord) -> None:
        """Insert or replace the `etl_runs` row of a run, in its own transaction."""
        ...

    def delete_customers_last_seen_before(self, cutoff: datetime) -> int: ...

    def runs_between(self, start: datetime, end: datetime) -> list[RunRecord]:
        """The `etl_runs` rows of the runs started in [start, end), oldest first."""
        ...

    def add_legal_hold(self, hold: NewLegalHold, now: datetime | None = None) -> LegalHold:
        """Place a legal hold, with its audit row, in one transaction."""
        ...

    def legal_holds(self, at: datetime | None = None) -> list[LegalHold]:
        """Every hold, oldest first; with `at`, only those in force at that instant."""
        ...

    def release_legal_hold(
        self, hold_id: int, by: str, reason: str | None = None, now: datetime | None = None
    ) -> LegalHold:
        """Release a hold (LegalHoldError if there is none or it is already released)."""
        ...

    def held_at(
        self,
        at: datetime,
        *,
        customer_ids: Iterable[str] = (),
        data_classes: Iterable[str] = (),
        run_ids: Iterable[str] = (),
    ) -> HeldTargets:
        """Of these customer ids, data classes and run ids, those a hold covers at `at`."""
        ...

    def expired_customers(
        self, event: str, cutoff: datetime, *, skip_anonymised: bool = False
    ) -> list[Expired]:
        """The customers whose `event` (`last_seen`, `signup`) is before `cutoff`; with
        `skip_anonymised`, not those an earlier job anonymised."""
        ...

    def delete_expired_customers(self, ids: Sequence[str], event: str, cutoff: datetime) -> int:
        """Delete these customers, each only if still past `cutoff`; how many went."""
        ...

    def anonymise_expired_customers(
        self, values: Mapping[str, Mapping[str, str | None]], event: str, cutoff: datetime
    ) -> int:
        """Overwrite these customers' personal columns with `values` (by customer id), each
        only if still past `cutoff`, and clear their blind indexes; how many changed."""
        ...

    def customer_counts(self, event: str, cutoff: datetime) -> tuple[int, int]:
        """(customers, customers whose `event` is before `cutoff`)."""
        ...

    def record_retention_actions(
        self, job_run_id: str, at: datetime, outcomes: Sequence[RetentionOutcome]
    ) -> None:
        """Record what a retention job did, one row per class and store (counts only)."""
        ...

    def retention_actions(
        self, since: datetime | None = None
    ) -> list[tuple[str, datetime, RetentionOutcome]]:
        """The retention audit rows (job run id, time, outcome), oldest first."""
        ...


class ReportStore(Protocol):
    """Where the scheduled reports are kept (S3 in the cloud)."""

    def put(self, name: str, html: str) -> str:
        """Store an HTML report under `name` (a relative path); return its URI."""
        ...


@dataclass(frozen=True)
class DataKey:
    """A data key for envelope encryption: the plaintext key (kept in memory only) and the
    same key wrapped by the key-encryption key, which is what gets stored."""

    plaintext: bytes = field(repr=False)  # never in a log line or a traceback's locals repr
    wrapped: bytes
    kek_id: str
    """Which key-encryption key wrapped it: a KMS key ARN, or a local key file's key id."""
    kek_version: str
    """Which version of that key: a local key file's version number, or the KMS key id
    the wrap was made under (KMS rotates its backing keys itself)."""


class StoredKey(Protocol):
    """A data key as the warehouse stores it: wrapped, never in plaintext."""

    @property
    def data_key_id(self) -> str: ...
    @property
    def wrapped_key(self) -> bytes: ...
    @property
    def kek_version(self) -> str: ...


class KeyProvider(Protocol):
    """The key-encryption key: KMS in the cloud, a key file locally. Only data keys cross
    this port; values are encrypted with them in this process (AES-256-GCM)."""

    def generate_data_key(self, context: Mapping[str, str]) -> DataKey:
        """A new 256-bit data key, wrapped under the current key version; `context` is
        bound to the wrap (the KMS encryption context) and needed again to unwrap it."""
        ...

    def unwrap(self, wrapped: bytes, kek_version: str, context: Mapping[str, str]) -> bytes:
        """The plaintext of a stored data key."""
        ...

    def rewrap(
        self, wrapped: bytes, kek_version: str, context: Mapping[str, str]
    ) -> tuple[bytes, str]:
        """The same data key wrapped under the current key version: (wrapped, version)."""
        ...

    def current_version(self) -> tuple[str, str]:
        """(kek_id, kek_version) that new wraps are made under."""
        ...

    def add_version(self, after: str | None = None) -> tuple[str, str]:
        """Start a new key version and make it current, for a rotation; (kek_id,
        kek_version). `after` is the current version the caller saw: if another rotation
        added one since, the provider refuses rather than start a second. A provider whose
        key service rotates key material itself (KMS) returns its current version
        unchanged."""
        ...


LineageEventKind = Literal["START", "COMPLETE", "FAIL", "ABORT"]
RUN_JOB = "run"
"""The job of a lineage event about the whole run (the others name their stage)."""


@dataclass(frozen=True)
class LineageEvent:
    """A moment of a run or of one of its stages, for its lineage: what started, finished or
    failed, with the manifest as of then (ids, URIs, counts, classes: never values)."""

    kind: LineageEventKind
    job: str
    """`run`, or the stage's name."""
    manifest: RunManifest
    error_class: str | None = None
    """For FAIL and ABORT: the class of the error that ended it (never its message)."""
    at: datetime | None = None
    """When it happened, where that is not now (a stage's start, told once it finished)."""


class LineageEmitter(Protocol):
    """Where a run's lineage goes (OpenLineage run events). Best-effort: it never raises, so
    that lineage can never fail a run."""

    def emit(self, event: LineageEvent) -> None: ...


class NoLineage:
    """The emitter of a run without lineage: it says nothing."""

    def emit(self, event: LineageEvent) -> None:
        return None
