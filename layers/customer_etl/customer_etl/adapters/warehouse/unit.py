"""One load: a chunk of a run (or every chunk, for a caller that gives none) in one
transaction, each sub-batch in a savepoint.

A chunk's transaction also writes its row in `etl_chunk_loads`, so a chunk loaded again
finds that row (`recorded_report`) and changes nothing: idempotent on (run id, chunk).

A sub-batch the database refuses (a constraint, a value it will not take) is rolled back to
its savepoint and its rows are handed back for quarantine with the error class; the rest of
the load goes on. Anything else (a lost connection, too many refused sub-batches, a
statement that cannot run at all) is for the caller to roll the whole load back.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime

import pandas as pd
from sqlalchemy import String, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from customer_etl.adapters.warehouse import statements
from customer_etl.adapters.warehouse.data_keys import StoredDataKey, insert_data_key, run_data_key
from customer_etl.adapters.warehouse.fit import Lengths, unfit_reasons
from customer_etl.adapters.warehouse.staging import Staging
from customer_etl.adapters.warehouse.subjects import read_flags
from customer_etl.adapters.warehouse.tables import (
    ACTIONS,
    INDEX_COLUMNS,
    customers,
    etl_chunk_loads,
)
from customer_etl.core.errors import LoadAbortedError
from customer_etl.core.ports import DataKey, LoadResult
from customer_etl.core.schema import BUSINESS_KEY
from customer_etl.observability.telemetry import logger, timed
from customer_etl.privacy.envelope import PLAINTEXT_WIDTHS
from customer_etl.privacy.subject_requests import SubjectFlags, screen

_BatchWrite = Callable[[Connection, pd.DataFrame, str, datetime, int | None], None]

ROW_ERRORS = (IntegrityError, DataError)
"""Errors that belong to the rows of a sub-batch rather than to the database."""


class LoadUnit:
    """Upserts chunks into the transaction its caller opened on `connection`."""

    def __init__(
        self,
        connection: Connection,
        staging: Staging,
        run_id: str,
        now: datetime,
        *,
        batch_rows: int,
        max_failed_batches: int,
        lengths: Lengths,
        chunk: int | None = None,
    ) -> None:
        self._connection = connection
        self.chunk = chunk
        self.recorded_report: str | None = None
        """The report of this chunk's earlier, committed load; None when it is still to load."""
        self._staging = staging
        self._run_id = run_id
        self._now = now
        self._batch_rows = batch_rows
        self._max_failed_batches = max_failed_batches
        self._lengths = lengths
        self.failed_batches = 0
        self.rejected = 0
        self.result: LoadResult | None = None
        self._flags = SubjectFlags()

    def start(self) -> None:
        self._staging.start(self._connection)
        # Read in the load's own transaction: an erasure committed before it is honoured.
        self._flags = read_flags(self._connection)
        if self.chunk is not None:
            self.recorded_report = self._connection.execute(
                select(etl_chunk_loads.c.report).where(
                    etl_chunk_loads.c.run_id == self._run_id,
                    etl_chunk_loads.c.chunk == self.chunk,
                )
            ).scalar_one_or_none()

    def record_chunk(self, report: str) -> None:
        """The chunk's row in `etl_chunk_loads`, committed with its records."""
        if self.chunk is None:
            raise ValueError("only a chunk's load unit records a chunk")
        self._connection.execute(
            insert(etl_chunk_loads).values(
                run_id=self._run_id, chunk=self.chunk, report=report, loaded_at=self._now
            )
        )

    def run_data_key(self) -> StoredDataKey | None:
        """The data key an earlier chunk of this run stored (the first one wins), if any."""
        return run_data_key(self._connection, self._run_id)

    @timed
    def upsert(self, chunk: pd.DataFrame) -> pd.Series:
        """Upsert the chunk's records; the reason codes of the rows it did not load, by row
        label (empty when every row was loaded)."""
        # A chunk loaded without encryption has no blind indexes: they stay NULL.
        missing = {name: None for name in INDEX_COLUMNS if name not in chunk}
        chunk = chunk.assign(**missing) if missing else chunk
        # Erased and restricted people are refused, objections force marketing off
        # (docs/governance/subject-requests.md).
        screened = screen(chunk, self._flags)
        chunk = screened.kept
        unfit = unfit_reasons(
            chunk, customers, statements.STAGED_COLUMNS, self._lengths, PLAINTEXT_WIDTHS
        )
        rejected = [screened.refused, unfit] if len(screened.refused) else [unfit]
        fitting = chunk.drop(index=unfit.index)
        for start in range(0, len(fitting), self._batch_rows):
            batch = fitting.iloc[start : start + self._batch_rows]
            reason = self._in_savepoint(self._staging.load, batch)
            if reason is not None:
                rejected.append(pd.Series(reason, index=batch.index, dtype=object))
        reasons = pd.concat(rejected) if len(rejected) > 1 else unfit
        if len(screened.refused):
            logger.info(
                "records refused by subject flags",
                extra={
                    "rows": len(screened.refused),
                    "reasons": screened.refused.value_counts().to_dict(),
                },
            )
        self.rejected += len(reasons)
        return reasons

    def stored_hashes(self, keys: Sequence[str]) -> dict[str, str]:
        """The content hashes the warehouse holds for those of `keys` it has, by key.

        The keys go into the staging table in one bulk insert (COPY on PostgreSQL) and come
        back joined to `customers`: one statement where a lookup by key list took one per
        few hundred keys, and five times as long. Read inside the load's transaction, after
        its lock (the local lock file on SQLite, the table lock on PostgreSQL, UPDLOCK and
        HOLDLOCK on SQL Server), so no other load can change them before this one writes."""
        # A key longer than the column cannot be in the table (and PostgreSQL would refuse
        # to stage it); `upsert` quarantines its record.
        key_type = customers.c[BUSINESS_KEY].type
        width = key_type.length if isinstance(key_type, String) and key_type.length else None
        staged = pd.DataFrame(
            {BUSINESS_KEY: [key for key in keys if width is None or len(key) <= width]}
        )
        return self._staging.stored_hashes(self._connection, staged)

    @timed
    def mark_seen(self, rows: pd.DataFrame) -> pd.Series:
        """Record unchanged records (their key and content hash) as seen by this run, with
        their `unchanged` audit rows, a savepoint per sub-batch as `upsert`; the reason codes
        of the rows it could not record, by row label. Their values are those the warehouse
        already holds (same hash), so they fit its columns and are not checked again."""
        rejected = [pd.Series(dtype=object)]
        for start in range(0, len(rows), self._batch_rows):
            batch = rows.iloc[start : start + self._batch_rows]
            reason = self._in_savepoint(self._staging.mark_seen, batch)
            if reason is not None:
                rejected.append(pd.Series(reason, index=batch.index, dtype=object))
        reasons = pd.concat(rejected) if len(rejected) > 1 else rejected[0]
        self.rejected += len(reasons)
        return reasons

    def store_data_key(self, data_key_id: str, key: DataKey) -> None:
        """Record the run's wrapped data key in the load's transaction: it commits with the
        tokens sealed under it, and a rolled-back load leaves neither."""
        insert_data_key(self._connection, data_key_id, key, self._run_id, self._now)

    def _in_savepoint(self, write: _BatchWrite, batch: pd.DataFrame) -> str | None:
        savepoint = self._connection.begin_nested()
        try:
            write(self._connection, batch, self._run_id, self._now, self.chunk)
        except ROW_ERRORS as error:
            savepoint.rollback()
            return self._refused(error, len(batch))
        savepoint.commit()
        return None

    def _refused(self, error: DBAPIError, rows: int) -> str:
        self.failed_batches += 1
        logger.warning(
            "warehouse refused a sub-batch; it was rolled back and its rows quarantined",
            extra={
                "error_class": type(error).__name__,
                "driver_error_class": type(error.orig).__name__,
                "rows": rows,
                "failed_batches": self.failed_batches,
            },
        )
        if self.failed_batches > self._max_failed_batches:
            raise LoadAbortedError(
                f"the warehouse refused {self.failed_batches} sub-batches "
                f"({type(error).__name__}), more than warehouse.max_failed_batches="
                f"{self._max_failed_batches}; the load was rolled back. See the log for the "
                "error classes, fix the cause, then resume the run (redrive its execution in the "
                "cloud)"
            )
        return f"db_{_snake(type(error).__name__)}"

    def finish(self) -> dict[str, int]:
        """Drop the staging table and count the records by action: the chunk's, or the
        run's for a unit of no chunk."""
        self._staging.finish(self._connection)
        return self._counts()

    def action_counts(self) -> dict[str, int]:
        """What the unit's upserts did so far, by action, and the rows it refused: the
        figures a chunk's report records before the chunk commits."""
        counts = self._counts()
        return {**counts, "rejected_by_warehouse": self.rejected}

    def _counts(self) -> dict[str, int]:
        counts = dict.fromkeys(ACTIONS, 0)
        query = statements.count_actions(self._run_id, self.chunk)
        for action, rows in self._connection.execute(query):
            counts[action] = int(rows)
        return counts


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
