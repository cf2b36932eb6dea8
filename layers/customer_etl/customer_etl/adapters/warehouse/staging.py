"""How a sub-batch gets into the staging table and on into `customers`, per dialect.

PostgreSQL takes the rows by COPY (several times faster than any INSERT), SQLite and SQL
Server by an executemany INSERT (pyodbc's fast_executemany sends it as one parameter
array, so SQL Server's 2,100-parameter limit never applies to it).
"""

from __future__ import annotations

import io
from datetime import datetime
from time import perf_counter
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from sqlalchemy import Executable, insert, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from customer_etl.adapters.warehouse import statements
from customer_etl.adapters.warehouse.metrics import DatabaseMetrics
from customer_etl.adapters.warehouse.tables import customers
from customer_etl.core.schema import BUSINESS_KEY


class Staging:
    """SQLite: fill by executemany, upsert by `INSERT ... ON CONFLICT`."""

    def __init__(self, dialect_name: str, metrics: DatabaseMetrics) -> None:
        self.dialect_name = dialect_name
        self.table = statements.staging_table(dialect_name)
        self._metrics = metrics

    def start(self, connection: Connection) -> None:
        """Create the staging table inside the load's transaction, so that a rollback
        removes it too."""
        self.table.create(connection)

    def load(
        self,
        connection: Connection,
        batch: pd.DataFrame,
        run_id: str,
        now: datetime,
        chunk: int | None = None,
    ) -> None:
        """Stage `batch`, record its changes, upsert it, and empty the staging table."""
        rows = batch.loc[:, list(statements.STAGED_COLUMNS)]
        self._apply(connection, rows, self.upserts(connection, run_id, now), run_id, now, chunk)

    def mark_seen(
        self,
        connection: Connection,
        batch: pd.DataFrame,
        run_id: str,
        now: datetime,
        chunk: int | None = None,
    ) -> None:
        """Record unchanged records as seen: stage only their keys and content hashes, write
        their audit rows (`unchanged`) and move their seen stamps; nothing else of them is
        sealed, staged or rewritten."""
        rows = batch.loc[:, [BUSINESS_KEY, statements.CONTENT_HASH]]
        seen = [statements.mark_unchanged_seen(self.table, run_id, now)]
        self._apply(connection, rows, seen, run_id, now, chunk)

    def stored_hashes(self, connection: Connection, keys: pd.DataFrame) -> dict[str, str]:
        """Stage `keys` (a frame of the business key alone) and read back the content
        hashes `customers` holds for them; the staging table is left empty."""
        if not len(keys):
            return {}
        self.fill(connection, keys)
        rows = connection.execute(statements.stored_hashes(self.table))
        found = {str(key): str(digest) for key, digest in rows if digest is not None}
        self.empty(connection)
        return found

    def _apply(
        self,
        connection: Connection,
        rows: pd.DataFrame,
        then: list[Executable],
        run_id: str,
        now: datetime,
        chunk: int | None,
    ) -> None:
        """Stage `rows`, write their audit rows (which need the state before `then`), run
        `then`, and empty the staging table."""
        self.fill(connection, rows)
        connection.execute(
            statements.record_changes(self.table, self.dialect_name, run_id, now, chunk)
        )
        for statement in then:
            connection.execute(statement)
        self.empty(connection)

    def fill(self, connection: Connection, rows: pd.DataFrame) -> None:
        # Straight to the driver's executemany: SQLAlchemy's per-row parameter handling
        # cost three times the insert itself. Values still go through each column type's
        # own conversion for the dialect (dates as ISO text on SQLite, for instance).
        dialect = connection.dialect
        # The INSERT below names its columns in the table's order: give the values in it.
        rows = rows.loc[:, [c.name for c in self.table.c if c.name in rows.columns]]
        columns: list[list[Any]] = []
        for name in rows.columns:
            values = rows[name].astype(object).where(rows[name].notna(), None).tolist()
            convert = self.table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
            if convert is not None:
                values = [None if v is None else convert(v) for v in values]
            columns.append(values)
        # Only the columns given (all staged columns, or a key and hash), in their order.
        sql = str(insert(self.table).compile(dialect=dialect, column_keys=list(rows.columns)))
        connection.exec_driver_sql(sql, list(zip(*columns, strict=True)))

    def upserts(self, connection: Connection, run_id: str, now: datetime) -> list[Executable]:
        return [
            statements.mark_unchanged_seen(self.table, run_id, now),
            statements.upsert_changed(self.table, self.dialect_name, run_id, now),
        ]

    def empty(self, connection: Connection) -> None:
        connection.execute(self.table.delete())

    def finish(self, connection: Connection) -> None:
        self.table.drop(connection)


class PostgresStaging(Staging):
    """PostgreSQL: one load at a time, rows in by COPY, out by `INSERT ... ON CONFLICT`."""

    def start(self, connection: Connection) -> None:
        # Loads into one warehouse take turns, so that each load's audit rows see the
        # state its own upsert changes; readers are not blocked.
        table = connection.dialect.identifier_preparer.format_table(customers)
        connection.execute(text(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE"))
        super().start(connection)

    def fill(self, connection: Connection, rows: pd.DataFrame) -> None:
        # Arrow writes the CSV in C++; quoting every value but nulls keeps an empty string
        # apart from NULL, which PostgreSQL's CSV format reads as unquoted-empty.
        buffer = io.BytesIO()
        pa_csv.write_csv(
            pa.Table.from_pandas(rows, preserve_index=False),
            buffer,
            pa_csv.WriteOptions(include_header=False, quoting_style="all_valid"),
        )
        preparer = connection.dialect.identifier_preparer
        columns = ", ".join(preparer.quote(name) for name in rows.columns)
        sql = f"COPY {preparer.format_table(self.table)} ({columns}) FROM STDIN (FORMAT csv)"
        driver = connection.connection.driver_connection
        started = perf_counter()
        try:
            with driver.cursor() as cursor, cursor.copy(sql) as copy:  # type: ignore[union-attr]
                copy.write(buffer.getbuffer())
        except connection.dialect.loaded_dbapi.Error as error:
            # The same exception classes SQLAlchemy raises for its own statements.
            raise DBAPIError.instance(
                sql, None, error, connection.dialect.loaded_dbapi.Error
            ) from error
        self._metrics.record_statement("copy", perf_counter() - started)
        # Autovacuum never analyses temporary tables: without statistics the planner
        # guesses the staged rows and joins them by scanning the whole of `customers`,
        # once per sub-batch.
        connection.execute(text(f"ANALYZE {preparer.format_table(self.table)}"))

    def empty(self, connection: Connection) -> None:
        # TRUNCATE, not DELETE: autovacuum never visits temporary tables, so deleted rows
        # would pile up and slow every later sub-batch's join.
        table = connection.dialect.identifier_preparer.format_table(self.table)
        connection.execute(text(f"TRUNCATE TABLE {table}"))


class SqlServerStaging(Staging):
    """SQL Server: a #temp table filled by fast_executemany, then `MERGE ... WITH (HOLDLOCK)`."""

    def upserts(self, connection: Connection, run_id: str, now: datetime) -> list[Executable]:
        return [statements.merge(self.table, connection.dialect, run_id, now)]

    def empty(self, connection: Connection) -> None:
        table = connection.dialect.identifier_preparer.format_table(self.table)
        connection.execute(text(f"TRUNCATE TABLE {table}"))


def staging_for(dialect_name: str, metrics: DatabaseMetrics) -> Staging:
    kinds: dict[str, type[Staging]] = {
        "postgresql": PostgresStaging,
        "mssql": SqlServerStaging,
    }
    return kinds.get(dialect_name, Staging)(dialect_name, metrics)
