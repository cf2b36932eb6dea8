"""The warehouse: SQLAlchemy Core over SQLite (the local default), PostgreSQL and SQL Server.

The modules beside this one each own one concern: `tables` (the schema), `schema` (its
Alembic revision), `engine` (connections), `diagnosis` (what a database error means: locked,
read-only, immutable, disk full, unreachable), `fit` (values against column sizes), `statements`
and `staging` (the load's SQL per dialect), `unit` (transaction and savepoints), `metrics`
(what the database did), `data_keys` (the wrapped data keys), `key_rotation` (rewrapping
them) and `customer_records` (the decrypt path for authorised tooling).
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import DBAPIError

from customer_etl.adapters.warehouse import legal_holds, retention, schema
from customer_etl.adapters.warehouse.data_keys import kek_ids
from customer_etl.adapters.warehouse.diagnosis import Kind, kind_of
from customer_etl.adapters.warehouse.engine import (
    CONNECTION_ERRORS,
    ConnectionOptions,
    build_engine,
    checked_url,
    connect,
    database_file,
    unavailable,
)
from customer_etl.adapters.warehouse.fit import characters, utf16_units
from customer_etl.adapters.warehouse.metrics import DatabaseMetrics
from customer_etl.adapters.warehouse.staging import staging_for
from customer_etl.adapters.warehouse.tables import customers, etl_runs
from customer_etl.adapters.warehouse.times import utc
from customer_etl.adapters.warehouse.unit import LoadUnit
from customer_etl.core.errors import LoadAbortedError
from customer_etl.core.legal_holds import HeldTargets, LegalHold, NewLegalHold
from customer_etl.core.ports import LoadResult, RunRecord
from customer_etl.core.retention import Expired, RetentionOutcome
from customer_etl.observability.telemetry import logger


class SqlWarehouse:
    """Customers, their change history and the run history in a SQL database.

    Example:
        >>> warehouse = SqlWarehouse("sqlite://", auto_upgrade=True)
        >>> warehouse.load_customers([], "run-1").inserted
        0
    """

    def __init__(
        self,
        url: str,
        password: str | None = None,
        *,
        connection: ConnectionOptions | None = None,
        batch_rows: int = 10_000,
        max_failed_batches: int = 3,
        auto_upgrade: bool = False,
    ) -> None:
        parsed = checked_url(make_url(url))
        if password is not None:
            parsed = parsed.set(password=password)
        self._url: URL = parsed
        self._database = database_file(parsed)
        self._options = connection or ConnectionOptions()
        self._batch_rows = batch_rows
        self._max_failed_batches = max_failed_batches
        self._auto_upgrade = auto_upgrade
        self.engine: Engine = build_engine(parsed, self._options)
        self.metrics = DatabaseMetrics(self.engine)
        self._schema_checked = False

    @property
    def display_url(self) -> str:
        return self._url.render_as_string(hide_password=True).replace(":***@", "@")

    @property
    def dialect(self) -> str:
        return self._url.get_backend_name()

    def connect(self) -> Connection:
        """A pooled connection, retried while the server refuses it."""
        with self.metrics.waiting_for_connection():
            return connect(self.engine, self._options, self.display_url, self._database)

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """A connection in a transaction of its own; a lost or locked connection is
        retryable, a warehouse that refuses writes is not (`unavailable`)."""
        try:
            with self.connect() as connection, connection.begin():
                yield connection
        except CONNECTION_ERRORS as error:
            raise unavailable(self.display_url, error, "failed", self._database) from None
        except DBAPIError as error:
            if kind_of(error) is Kind.UNREACHABLE:
                raise
            raise unavailable(self.display_url, error, "failed", self._database) from None

    def check_schema(self) -> None:
        """Refuse a schema this version cannot use; with `auto_upgrade`, upgrade it first."""
        if self._schema_checked:
            return
        with self._transaction() as connection:
            revision = schema.current_revision(connection)
            state = schema.schema_state(connection, revision)
            if state is not schema.SchemaState.CURRENT:
                if not (self._auto_upgrade and state in schema.UPGRADABLE):
                    raise schema.refusal(state, revision, self.display_url)
                schema.upgrade(connection)
        self._schema_checked = True

    def upgrade(self) -> tuple[str | None, str]:
        """Apply pending migrations; the revisions before and after."""
        with self._transaction() as connection:
            before = schema.current_revision(connection)
            state = schema.schema_state(connection, before)
            if state not in (schema.SchemaState.CURRENT, *schema.UPGRADABLE):
                raise schema.refusal(state, before, self.display_url)
            schema.upgrade(connection)
        self._schema_checked = True
        return before, schema.head_revision()

    @contextmanager
    def writer_turn(self) -> Iterator[None]:
        """While held, this process is the one loading into a SQLite warehouse: another run
        of this machine waits here for its turn instead of meeting SQLite's single writer
        half-way through its load (`database is locked`). An advisory lock on a file beside
        the database (`fcntl.flock`, released by the kernel if the process dies); other
        databases take concurrent loads and need none."""
        database = self._url.database
        if self.dialect != "sqlite" or database in (None, "", ":memory:"):
            yield
            return
        with Path(f"{database}.lock").open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                logger.info("another run is loading into the warehouse; waiting for its turn")
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextmanager
    def loading(self, run_id: str, chunk: int | None = None) -> Iterator[LoadUnit]:
        """A load unit: what is upserted inside it commits when the block ends, or not at
        all. With `chunk`, the unit is that chunk's (see `LoadUnit.recorded_report`)."""
        self.check_schema()
        before = self.metrics.snapshot()
        connection = self.connect()
        unit = LoadUnit(
            connection,
            staging_for(self.dialect, self.metrics),
            run_id,
            datetime.now(UTC),
            batch_rows=self._batch_rows,
            max_failed_batches=self._max_failed_batches,
            lengths=utf16_units if self.dialect == "mssql" else characters,
            chunk=chunk,
        )
        try:
            with connection.begin():
                unit.start()
                yield unit
                counts = unit.finish()
        except CONNECTION_ERRORS as error:
            raise unavailable(
                self.display_url, error, "failed during the load", self._database
            ) from None
        except DBAPIError as error:
            if kind_of(error) is not Kind.UNREACHABLE:  # read-only, disk full: named
                raise unavailable(
                    self.display_url, error, "failed during the load", self._database
                ) from None
            raise LoadAbortedError(
                f"load into {self.display_url} failed ({type(error).__name__}) and was rolled "
                "back: check the warehouse with `customer-etl health`, then resume the run "
                "(redrive its execution in the cloud)"
            ) from None
        finally:
            connection.close()
        unit.result = LoadResult(
            inserted=counts["inserted"],
            updated=counts["updated"],
            unchanged=counts["unchanged"],
            rejected=unit.rejected,
            database=self.metrics.since(before),
        )

    def load_customers(self, chunks: Iterable[pd.DataFrame], run_id: str) -> LoadResult:
        """Upsert every chunk in one load unit (rows it refuses are counted, not kept)."""
        with self.loading(run_id) as unit:
            for chunk in chunks:
                unit.upsert(chunk)
        assert unit.result is not None
        return unit.result

    def record_run(self, record: RunRecord) -> None:
        """Insert or replace the run's `etl_runs` row in a transaction of its own."""
        self.check_schema()
        values = asdict(record)
        with self._transaction() as connection:
            replaced = connection.execute(
                update(etl_runs).where(etl_runs.c.run_id == record.run_id).values(**values)
            )
            if replaced.rowcount == 0:
                connection.execute(insert(etl_runs).values(**values))

    def runs_between(self, start: datetime, end: datetime) -> list[RunRecord]:
        """The `etl_runs` rows of the runs started in [start, end), oldest first, with UTC
        times (SQLite hands back naive ones)."""
        self.check_schema()
        # In UTC: SQLite compares the text of the times, which the warehouse writes in UTC.
        start, end = start.astimezone(UTC), end.astimezone(UTC)
        query = (
            select(etl_runs)
            .where(etl_runs.c.started_at >= start, etl_runs.c.started_at < end)
            .order_by(etl_runs.c.started_at)
        )
        with self._transaction() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            RunRecord(
                **{
                    **row,
                    "started_at": utc(row["started_at"]),
                    "finished_at": utc(row["finished_at"]) if row["finished_at"] else None,
                }
            )
            for row in rows
        ]

    def delete_customers_last_seen_before(self, cutoff: datetime) -> int:
        self.check_schema()
        with self._transaction() as connection:
            result = connection.execute(delete(customers).where(customers.c.last_seen_at < cutoff))
            return int(result.rowcount)

    def count_customers(self) -> int:
        self.check_schema()
        with self._transaction() as connection:
            return int(connection.execute(select(func.count()).select_from(customers)).scalar_one())

    def add_legal_hold(self, hold: NewLegalHold, now: datetime | None = None) -> LegalHold:
        """Place a hold (and write its `added` event) in one transaction."""
        self.check_schema()
        with self._transaction() as connection:
            return legal_holds.add(connection, hold, (now or datetime.now(UTC)).astimezone(UTC))

    def legal_holds(self, at: datetime | None = None) -> list[LegalHold]:
        """Every hold ever placed, oldest first; with `at`, those in force at that instant."""
        self.check_schema()
        with self._transaction() as connection:
            return legal_holds.listed(connection, at)

    def release_legal_hold(
        self, hold_id: int, by: str, reason: str | None = None, now: datetime | None = None
    ) -> LegalHold:
        """Release a hold (its row stays, with who released it, when and why)."""
        self.check_schema()
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        with self._transaction() as connection:
            return legal_holds.release(connection, hold_id, by, reason, moment)

    def held_at(
        self,
        at: datetime,
        *,
        customer_ids: Iterable[str] = (),
        data_classes: Iterable[str] = (),
        run_ids: Iterable[str] = (),
    ) -> HeldTargets:
        """Of these customer ids, data classes and run ids, those held at `at`."""
        self.check_schema()
        with self._transaction() as connection:
            return legal_holds.held_at(connection, at, customer_ids, data_classes, run_ids)

    def legal_hold_events(self) -> list[dict[str, object]]:
        """The holds' audit rows (hold id, event, actor, reason, time), oldest first."""
        self.check_schema()
        with self._transaction() as connection:
            return legal_holds.events(connection)

    def expired_customers(
        self, event: str, cutoff: datetime, *, skip_anonymised: bool = False
    ) -> list[Expired]:
        """The customers whose `event` (last_seen, signup) is before `cutoff`; with
        `skip_anonymised`, not those already anonymised."""
        self.check_schema()
        with self._transaction() as connection:
            return retention.expired_customers(
                connection, event, cutoff.astimezone(UTC), skip_anonymised=skip_anonymised
            )

    def delete_expired_customers(self, ids: Sequence[str], event: str, cutoff: datetime) -> int:
        """Delete these customers (each only if still past `cutoff`), in one transaction."""
        self.check_schema()
        with self._transaction() as connection:
            return retention.delete_customers(connection, ids, event, cutoff.astimezone(UTC))

    def anonymise_expired_customers(
        self, values: Mapping[str, Mapping[str, str | None]], event: str, cutoff: datetime
    ) -> int:
        """Overwrite these customers' personal columns (each only if still past `cutoff`)
        and clear their blind indexes, in one transaction."""
        self.check_schema()
        with self._transaction() as connection:
            return retention.anonymise_customers(
                connection, values, event, cutoff.astimezone(UTC), datetime.now(UTC)
            )

    def customer_counts(self, event: str, cutoff: datetime) -> tuple[int, int]:
        """(customers, customers whose `event` is before `cutoff`)."""
        self.check_schema()
        with self._transaction() as connection:
            return retention.count_customers(connection, event, cutoff.astimezone(UTC))

    def record_retention_actions(
        self, job_run_id: str, at: datetime, outcomes: Sequence[RetentionOutcome]
    ) -> None:
        """The job's audit rows, one per class and store, in one transaction."""
        self.check_schema()
        with self._transaction() as connection:
            retention.record_actions(connection, job_run_id, at.astimezone(UTC), outcomes)

    def retention_actions(
        self, since: datetime | None = None
    ) -> list[tuple[str, datetime, RetentionOutcome]]:
        """The retention audit rows (job run id, time, outcome), oldest first."""
        self.check_schema()
        with self._transaction() as connection:
            return retention.actions(connection, since.astimezone(UTC) if since else None)

    def kek_ids(self) -> frozenset[str]:
        """The key-encryption keys of the stored data keys (empty before the first
        encrypted load): what tells a lost or foreign local key file from a first run."""
        with self._transaction() as connection:
            return kek_ids(connection)

    def dispose(self) -> None:
        self.engine.dispose()


__all__ = ["ConnectionOptions", "SqlWarehouse"]
