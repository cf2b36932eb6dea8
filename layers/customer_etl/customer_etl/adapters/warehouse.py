"""The warehouse: SQLAlchemy Core over SQLite (local default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, create_engine, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import OperationalError

from customer_etl.adapters.warehouse_tables import customers, etl_runs, metadata
from customer_etl.errors import StageError, WarehouseUnavailableError
from customer_etl.ports import LoadResult, RunRecord
from customer_etl.schema import BUSINESS_KEY
from customer_etl.stages.load import CONTENT_HASH

# Both dialects' INSERT constructs take ON CONFLICT DO UPDATE the same way.
_UPSERT_DIALECTS: dict[str, Callable[..., Any]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}
_LOADED_COLUMNS = [column.name for column in customers.columns]


class SqlWarehouse:
    """Customers and run history in a SQL database.

    Example:
        >>> warehouse = SqlWarehouse("sqlite://")
        >>> warehouse.display_url
        'sqlite://'
    """

    def __init__(self, url: str, password: str | None = None, connect_timeout_seconds: int = 10):
        parsed = make_url(url)
        if parsed.get_backend_name() not in _UPSERT_DIALECTS:
            raise StageError(
                f"warehouse dialect {parsed.get_backend_name()} is not supported yet: "
                "use sqlite or postgresql"
            )
        if password is not None:
            parsed = parsed.set(password=password)
        self._url: URL = parsed
        self._insert = _UPSERT_DIALECTS[parsed.get_backend_name()]
        self._engine: Engine = create_engine(
            parsed, connect_args=_connect_args(parsed, connect_timeout_seconds)
        )
        self._ready = False

    @property
    def display_url(self) -> str:
        return self._url.render_as_string(hide_password=True).replace(":***@", "@")

    def _connection_ready(self) -> None:
        if self._ready:
            return
        if self._url.get_backend_name() == "sqlite" and self._url.database:
            from pathlib import Path

            Path(self._url.database).parent.mkdir(parents=True, exist_ok=True)
        try:
            metadata.create_all(self._engine)
        except OperationalError as error:
            raise WarehouseUnavailableError(
                f"warehouse {self.display_url} cannot be reached ({type(error.orig).__name__}): "
                "check it is up, then resume the run"
            ) from None
        self._ready = True

    def load_customers(self, chunks: Iterable[pd.DataFrame], run_id: str) -> LoadResult:
        self._connection_ready()
        now = datetime.now(UTC)
        inserted = updated = written = 0
        try:
            with self._engine.begin() as connection:
                for chunk in chunks:
                    if chunk.empty:
                        continue
                    records = _records(chunk, run_id, now)
                    existing = _existing_hashes(connection, [r[BUSINESS_KEY] for r in records])
                    inserted += sum(1 for r in records if r[BUSINESS_KEY] not in existing)
                    updated += sum(
                        1
                        for r in records
                        if r[BUSINESS_KEY] in existing
                        and existing[r[BUSINESS_KEY]] != r[CONTENT_HASH]
                    )
                    connection.execute(self._upsert(), records)
                    written += len(records)
        except OperationalError as error:
            raise WarehouseUnavailableError(
                f"load into {self.display_url} failed ({type(error.orig).__name__}) and was "
                "rolled back: resume the run once the warehouse is available"
            ) from None
        return LoadResult(rows_written=written, inserted=inserted, updated=updated)

    def _upsert(self) -> Any:
        statement = self._insert(customers)
        keep_on_update = {BUSINESS_KEY, "first_seen_at"}
        return statement.on_conflict_do_update(
            index_elements=[customers.c[BUSINESS_KEY]],
            set_={
                name: statement.excluded[name]
                for name in _LOADED_COLUMNS
                if name not in keep_on_update
            },
        )

    def record_run(self, record: RunRecord) -> None:
        self._connection_ready()
        values = asdict(record)
        statement = self._insert(etl_runs).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=[etl_runs.c.run_id],
            set_={k: v for k, v in values.items() if k != "run_id"},
        )
        with self._engine.begin() as connection:
            connection.execute(statement)

    def delete_customers_last_seen_before(self, cutoff: datetime) -> int:
        self._connection_ready()
        with self._engine.begin() as connection:
            result = connection.execute(delete(customers).where(customers.c.last_seen_at < cutoff))
            return int(result.rowcount)

    def count_customers(self) -> int:
        self._connection_ready()
        with self._engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(customers)).scalar_one())

    def dispose(self) -> None:
        self._engine.dispose()


def _connect_args(url: URL, timeout_seconds: int) -> dict[str, Any]:
    if url.get_backend_name() == "sqlite":
        return {"timeout": timeout_seconds}
    return {"connect_timeout": timeout_seconds}


def _records(chunk: pd.DataFrame, run_id: str, now: datetime) -> list[dict[str, Any]]:
    frame = chunk.loc[:, [c for c in _LOADED_COLUMNS if c in chunk.columns]]
    frame = frame.astype(object).where(frame.notna(), None)
    records: list[dict[str, Any]] = frame.to_dict("records")  # type: ignore[assignment]
    for record in records:
        record["first_seen_at"] = now
        record["last_seen_at"] = now
        record["last_run_id"] = run_id
    return records


def _existing_hashes(connection: Connection, keys: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    # Bounded IN lists: SQLite caps bound parameters, SQL Server at 2,100.
    for start in range(0, len(keys), 1000):
        batch = keys[start : start + 1000]
        rows = connection.execute(
            select(customers.c[BUSINESS_KEY], customers.c[CONTENT_HASH]).where(
                customers.c[BUSINESS_KEY].in_(batch)
            )
        )
        found.update({row[0]: row[1] for row in rows})
    return found
