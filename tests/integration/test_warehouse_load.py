"""Loads into real databases: SQLite, PostgreSQL (and SQL Server when one is given)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import func, insert, select, text

from customer_etl.adapters.warehouse import ConnectionOptions, SqlWarehouse
from customer_etl.adapters.warehouse.metrics import database_metrics
from customer_etl.adapters.warehouse.tables import customer_changes, etl_runs
from customer_etl.core.errors import LoadAbortedError, StageError, WarehouseUnavailableError
from customer_etl.core.ports import RunRecord
from customer_etl.run.retention import apply_retention
from tests.databases import open_warehouse
from tests.retention_settings import customer_days
from tests.warehouse_rows import customers


def rows(warehouse: SqlWarehouse, sql: str) -> list[tuple[Any, ...]]:
    with warehouse.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


def refuse_ids_starting_with_bad(warehouse: SqlWarehouse) -> None:
    """Make the database itself refuse some rows, as a constraint added by a DBA would."""
    with warehouse.engine.begin() as connection:
        if warehouse.dialect == "sqlite":
            connection.execute(
                text(
                    "CREATE TRIGGER refuse_bad BEFORE INSERT ON customers "
                    "WHEN NEW.customer_id LIKE 'BAD%' BEGIN SELECT RAISE(ABORT, 'refused'); END"
                )
            )
        else:
            connection.execute(
                text(
                    "ALTER TABLE customers ADD CONSTRAINT refuse_bad "
                    "CHECK (customer_id NOT LIKE 'BAD%')"
                )
            )


def test_upsert_inserts_then_leaves_the_same_rows_on_reload(warehouse: SqlWarehouse) -> None:
    first = warehouse.load_customers([customers("A", "B"), customers("C")], "run-1")
    second = warehouse.load_customers([customers("A", "B"), customers("C")], "run-2")
    assert (first.inserted, first.updated, first.unchanged) == (3, 0, 0)
    assert (second.inserted, second.updated, second.unchanged) == (0, 0, 3)
    assert rows(warehouse, "select customer_id from customers order by 1") == [
        ("A",),
        ("B",),
        ("C",),
    ]


def test_a_changed_record_is_rewritten_and_an_unchanged_one_only_marked_seen(
    warehouse: SqlWarehouse,
) -> None:
    warehouse.load_customers([customers("A", "B")], "run-1")
    [(first_seen, updated_before)] = rows(
        warehouse, "select first_seen_at, last_updated_at from customers where customer_id = 'B'"
    )
    result = warehouse.load_customers([customers("A", email="new@b.co"), customers("B")], "run-2")
    assert (result.updated, result.unchanged) == (1, 1)
    changed, unchanged = rows(
        warehouse,
        "select email, last_run_id, first_seen_at, last_updated_at, last_seen_at "
        "from customers order by customer_id",
    )
    assert changed[:3] == ("new@b.co", "run-2", first_seen)
    assert changed[3] > updated_before
    # Same content: the record keeps its last update; only when and by which run it was
    # last seen move (retention keys on last_seen_at).
    assert unchanged[:4] == ("a@b.co", "run-2", first_seen, updated_before)
    assert unchanged[4] > updated_before


def test_the_audit_trail_has_one_row_per_record_with_hashes_and_never_values(
    warehouse: SqlWarehouse,
) -> None:
    warehouse.load_customers([customers("A", "B")], "run-1")
    warehouse.load_customers([customers("A", email="new@b.co"), customers("B", "C")], "run-2")
    hashes = dict(rows(warehouse, "select customer_id, content_hash from customers"))
    trail = rows(
        warehouse,
        "select run_id, customer_id, action, before_hash, after_hash from customer_changes "
        "order by run_id, customer_id",
    )
    first_a = customers("A")["content_hash"].iloc[0]
    assert trail == [
        ("run-1", "A", "inserted", None, first_a),
        ("run-1", "B", "inserted", None, hashes["B"]),
        ("run-2", "A", "updated", first_a, hashes["A"]),
        ("run-2", "B", "unchanged", hashes["B"], hashes["B"]),
        ("run-2", "C", "inserted", None, hashes["C"]),
    ]
    assert {c.name for c in customer_changes.columns} == {
        "run_id",
        "customer_id",
        "action",
        "before_hash",
        "after_hash",
        "recorded_at",
        "chunk",
    }


def test_a_load_repeated_after_its_commit_keeps_what_the_run_first_did(
    warehouse: SqlWarehouse,
) -> None:
    warehouse.load_customers([customers("A", "B")], "run-1")
    again = warehouse.load_customers([customers("A", "B")], "run-1")
    assert (again.inserted, again.unchanged) == (2, 0)
    assert rows(warehouse, "select action, count(*) from customer_changes group by action") == [
        ("inserted", 2)
    ]


def test_a_value_that_cannot_fit_quarantines_its_row_and_the_rest_loads(
    warehouse: SqlWarehouse,
) -> None:
    chunk = pd.concat(
        [
            customers("OK"),
            customers("LONG", email="x" * 300 + "@b.co"),
            customers("REGION", region="R" * 101),
            customers("NUL", first_name="A\x00n"),
        ],
        ignore_index=True,
    )
    with warehouse.loading("run-1") as unit:
        refused = unit.upsert(chunk)
    assert dict(zip(chunk.loc[refused.index, "customer_id"], refused, strict=True)) == {
        "LONG": "too_long_email",
        "REGION": "too_long_region",
        "NUL": "invalid_text_first_name",
    }
    assert unit.result is not None and unit.result.rejected == 3
    assert rows(warehouse, "select customer_id from customers") == [("OK",)]


def test_a_refused_sub_batch_is_rolled_back_and_quarantined_and_the_rest_loads(
    warehouse_url: str,
) -> None:
    warehouse = open_warehouse(warehouse_url, batch_rows=2)
    warehouse.upgrade()
    refuse_ids_starting_with_bad(warehouse)
    chunk = customers("A", "B", "BAD", "C", "D", "E")

    with warehouse.loading("run-1") as unit:
        refused = unit.upsert(chunk)

    # The sub-batch [BAD, C] was refused as a whole; the ones before and after loaded.
    assert sorted(chunk.loc[refused.index, "customer_id"]) == ["BAD", "C"]
    assert set(refused) == {"db_integrity_error"}
    assert rows(warehouse, "select customer_id from customers order by 1") == [
        ("A",),
        ("B",),
        ("D",),
        ("E",),
    ]
    assert rows(warehouse, "select customer_id from customer_changes order by 1") == [
        ("A",),
        ("B",),
        ("D",),
        ("E",),
    ]
    assert unit.result is not None
    assert unit.result.database["db_savepoint_rollbacks"] == 1
    warehouse.dispose()


def test_too_many_refused_sub_batches_roll_the_whole_load_back(warehouse_url: str) -> None:
    warehouse = open_warehouse(warehouse_url, batch_rows=1, max_failed_batches=1)
    warehouse.upgrade()
    refuse_ids_starting_with_bad(warehouse)

    with pytest.raises(LoadAbortedError, match="max_failed_batches=1") as caught:
        warehouse.load_customers([customers("A"), customers("BAD1", "BAD2", "B")], "run-1")

    assert "BAD" not in str(caught.value)
    assert warehouse.count_customers() == 0
    assert rows(warehouse, "select count(*) from customer_changes") == [(0,)]
    # Nothing of the failed load is left behind: the next load works.
    assert warehouse.load_customers([customers("A")], "run-2").inserted == 1
    warehouse.dispose()


def test_a_failing_load_rolls_back_every_chunk(warehouse: SqlWarehouse) -> None:
    def chunks() -> Iterator[pd.DataFrame]:
        yield customers("A", "B")
        raise RuntimeError("connection lost mid-load")

    with pytest.raises(RuntimeError):
        warehouse.load_customers(chunks(), "run-1")
    assert warehouse.count_customers() == 0


def test_a_connection_lost_mid_load_rolls_everything_back_and_is_retryable(
    postgres_url: str,
) -> None:
    warehouse = open_warehouse(postgres_url)
    warehouse.upgrade()
    with (
        pytest.raises(WarehouseUnavailableError, match="resume the run"),
        warehouse.loading("run-1") as unit,
    ):
        unit.upsert(customers("A"))
        with open_warehouse(postgres_url).engine.connect() as admin:
            admin.execute(
                text(
                    "select pg_terminate_backend(pid) from pg_stat_activity "
                    "where datname = current_database() and pid <> pg_backend_pid()"
                )
            )
        unit.upsert(customers("B"))
    assert warehouse.count_customers() == 0
    warehouse.dispose()


def test_a_locked_sqlite_database_is_a_retryable_error(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    warehouse = open_warehouse(f"sqlite:///{path}")
    warehouse.upgrade()
    warehouse.dispose()
    options = ConnectionOptions(connect_timeout_seconds=1, connect_attempts=1)
    locked = SqlWarehouse(f"sqlite:///{path}", connection=options)
    other = sqlite3.connect(path)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(WarehouseUnavailableError, match="resume the run"):
            locked.load_customers([customers("A")], "run-1")
    finally:
        other.rollback()
        other.close()


def test_savepoints_then_a_rolled_back_transaction_leave_no_rows(
    warehouse: SqlWarehouse,
) -> None:
    """The load's shape: a savepoint first in the transaction, released, another rolled
    back, then the whole transaction rolled back. With pysqlite's own transaction handling
    the first RELEASE committed, and a row was left behind."""
    started = datetime(2026, 1, 1, tzinfo=UTC)

    def run(run_id: str) -> dict[str, Any]:
        return asdict(
            RunRecord(run_id, "pipeline", "f.csv", "running", 0, 0, 0, started, None, None)
        )

    count = select(func.count()).select_from(etl_runs)
    with warehouse.engine.connect() as connection:
        outer = connection.begin()
        released = connection.begin_nested()
        connection.execute(insert(etl_runs).values(**run("released")))
        released.commit()
        undone = connection.begin_nested()
        connection.execute(insert(etl_runs).values(**run("undone")))
        undone.rollback()
        assert connection.execute(count).scalar_one() == 1
        outer.rollback()
    with warehouse.engine.connect() as connection:
        assert connection.execute(count).scalar_one() == 0


def test_the_load_reports_what_the_database_did(warehouse: SqlWarehouse) -> None:
    result = warehouse.load_customers([customers("A", "B"), customers("C")], "run-1")
    database = result.database
    assert database["db_commits"] == 1
    assert database["db_savepoints"] == 2  # one per sub-batch: one per chunk here
    assert database["db_pool_checkouts"] >= 1
    assert database["db_statements"] >= 8
    assert database["db_statement_ms"] >= 0
    assert "db_pool_wait_ms" in database
    assert result.counters()["inserted"] == 3
    assert database_metrics(database)["DbCommits"][1] == 1


def test_record_run_replaces_the_row_of_the_same_run(warehouse: SqlWarehouse) -> None:
    started = datetime(2026, 1, 1, tzinfo=UTC)
    record = RunRecord("run-1", "pipeline", "c.csv", "failed", 10, 0, 2, started, started, "boom")
    warehouse.record_run(record)
    warehouse.record_run(
        RunRecord("run-1", "pipeline", "c.csv", "succeeded", 10, 8, 2, started, started, None)
    )
    assert rows(warehouse, "select run_id, status, rows_loaded, error from etl_runs") == [
        ("run-1", "succeeded", 8, None)
    ]


def test_retention_deletes_only_customers_last_seen_before_the_period(
    warehouse: SqlWarehouse,
) -> None:
    warehouse.load_customers([customers("OLD", "NEW")], "run-1")
    long_ago = datetime.now(UTC) - timedelta(days=400)
    with warehouse.engine.begin() as connection:
        connection.execute(
            text("update customers set last_seen_at = :t where customer_id = 'OLD'"),
            {"t": long_ago},
        )
    record = apply_retention(warehouse, customer_days(365))
    assert record.rows_deleted == 1
    assert rows(warehouse, "select customer_id from customers") == [("NEW",)]
    assert rows(warehouse, "select kind, rows_deleted, status from etl_runs") == [
        ("retention", 1, "succeeded")
    ]


def test_a_failed_retention_job_is_recorded_as_failed_and_raises(
    warehouse: SqlWarehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse.load_customers([customers("OLD")], "run-1")
    with warehouse.engine.begin() as connection:
        connection.execute(
            text("update customers set last_seen_at = :t where customer_id = 'OLD'"),
            {"t": datetime.now(UTC) - timedelta(days=400)},
        )

    def refuse(ids: object, event: str, cutoff: datetime) -> int:
        raise LoadAbortedError("delete refused")

    monkeypatch.setattr(warehouse, "delete_expired_customers", refuse)
    with pytest.raises(LoadAbortedError):
        apply_retention(warehouse, customer_days(365))
    assert rows(warehouse, "select kind, status, error from etl_runs") == [
        ("retention", "failed", "delete refused")
    ]


def test_an_unreachable_database_is_a_retryable_error_without_credentials() -> None:
    # Nothing listens on port 9 of loopback: the connection is refused at once.
    options = ConnectionOptions(connect_timeout_seconds=2, connect_backoff_seconds=0.1)
    warehouse = SqlWarehouse(
        "postgresql+psycopg://etl@127.0.0.1:9/x", password="hunter2", connection=options
    )
    with pytest.raises(WarehouseUnavailableError, match="resume the run") as caught:
        warehouse.load_customers([customers("A")], "run-1")
    assert "hunter2" not in str(caught.value)


def test_each_connection_retry_logs_one_line_without_the_url_or_its_password(
    caplog: pytest.LogCaptureFixture,
) -> None:
    options = ConnectionOptions(
        connect_timeout_seconds=2, connect_attempts=3, connect_backoff_seconds=0.01
    )
    warehouse = SqlWarehouse(
        "postgresql+psycopg://etl@127.0.0.1:9/x", password="hunter2", connection=options
    )
    with pytest.raises(WarehouseUnavailableError):
        warehouse.connect()
    retries = [
        r for r in caplog.records if r.getMessage() == "warehouse connection failed; retrying"
    ]
    assert [r.__dict__["attempt"] for r in retries] == [1, 2]
    assert {r.__dict__["error_class"] for r in retries} == {"OperationalError"}
    assert {r.__dict__["error_kind"] for r in retries} == {"unreachable"}
    assert all(r.__dict__["wait_seconds"] >= 0 for r in retries)
    assert "hunter2" not in caplog.text and "127.0.0.1:9" not in caplog.text


def test_an_unsupported_dialect_is_a_clear_error() -> None:
    with pytest.raises(StageError, match="not supported yet"):
        SqlWarehouse("mysql://db/x")


def test_display_url_hides_the_password() -> None:
    warehouse = SqlWarehouse("postgresql+psycopg://etl@db:5432/x", password="hunter2")
    assert "hunter2" not in warehouse.display_url
    assert warehouse.display_url.startswith("postgresql+psycopg://etl")
