"""Drill: the warehouse refuses to work, each way a real database does. Each error names
which it is and what to do, is retryable only when a retry can cure it, and leaves a log line
with its class and kind, never the URL's password."""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from customer_etl.adapters.warehouse import ConnectionOptions, SqlWarehouse
from customer_etl.alerting.classification import classify
from customer_etl.core.errors import (
    TransientError,
    WarehouseUnavailableError,
    WarehouseWriteError,
)
from customer_etl.core.ports import RunRecord
from tests.warehouse_rows import customers

QUICK = ConnectionOptions(connect_timeout_seconds=1, connect_attempts=1)
WRONG_ADVICE = "check it is up"


def a_run(run_id: str = "run-1") -> RunRecord:
    started = datetime(2026, 1, 2, tzinfo=UTC)
    return RunRecord(run_id, "pipeline", "c.csv", "running", 3, 0, 0, started, None, None)


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """A SQLite warehouse file at the current schema."""
    path = tmp_path / "warehouse.db"
    migrated = SqlWarehouse(f"sqlite:///{path}")
    migrated.upgrade()
    migrated.dispose()
    return path


@pytest.fixture
def opened(database: Path) -> Iterator[SqlWarehouse]:
    warehouse = SqlWarehouse(f"sqlite:///{database}", connection=QUICK)
    yield warehouse
    warehouse.dispose()


def warehouse_log(caplog: pytest.LogCaptureFixture) -> dict[str, Any]:
    [record] = [r for r in caplog.records if r.getMessage() == "warehouse error"]
    return {key: getattr(record, key, None) for key in ("error_class", "kind", "transient")}


def test_a_locked_database_says_so_and_is_retryable_until_the_lock_is_released(
    database: Path, opened: SqlWarehouse, caplog: pytest.LogCaptureFixture
) -> None:
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with caplog.at_level(logging.WARNING), pytest.raises(WarehouseUnavailableError) as raised:
            opened.load_customers([customers("C1", "C2")], "run-1")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert isinstance(raised.value, TransientError)  # Step Functions and the runner retry it
    assert raised.value.kind == "locked"
    assert "is locked by another connection" in str(raised.value)
    assert WRONG_ADVICE not in str(raised.value)
    assert warehouse_log(caplog) == {
        "error_class": "WarehouseUnavailableError",
        "kind": "locked",
        "transient": True,
    }
    # Once the other writer is done, the same call (a retry, a resume) succeeds.
    assert opened.load_customers([customers("C1", "C2")], "run-1").inserted == 2


def test_a_database_opened_read_only_says_so_and_is_not_retryable(
    database: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Tests run as root, whom chmod 0444 does not stop: SQLite's own read-only mode is the
    # read-only file every user gets.
    warehouse = SqlWarehouse(f"sqlite:///file:{database}?mode=ro&uri=true", connection=QUICK)
    try:
        with caplog.at_level(logging.WARNING), pytest.raises(WarehouseWriteError) as raised:
            warehouse.record_run(a_run())
    finally:
        warehouse.dispose()
    assert not isinstance(raised.value, TransientError)
    assert raised.value.kind == "read_only"
    assert "is read-only and refuses writes" in str(raised.value)
    assert WRONG_ADVICE not in str(raised.value)
    assert warehouse_log(caplog) == {
        "error_class": "WarehouseWriteError",
        "kind": "read_only",
        "transient": False,
    }


@pytest.mark.skipif(
    os.geteuid() == 0,
    reason="root writes a 0444 file anyway; the mode=ro and chattr +i drills cover root",
)
def test_a_file_without_write_permission_is_read_only(database: Path, opened: SqlWarehouse) -> None:
    database.chmod(0o444)
    try:
        with pytest.raises(WarehouseWriteError) as raised:
            opened.record_run(a_run())
    finally:
        database.chmod(0o644)
    assert raised.value.kind == "read_only"


@pytest.fixture
def immutable(database: Path) -> Iterator[Path]:
    """The database file with the immutable attribute (`chattr +i`), which stops root too;
    skipped where the filesystem or the user cannot set it."""
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(database)]).returncode != 0:
        pytest.skip("chattr +i is not available here (needs root and a filesystem with it)")
    yield database
    subprocess.run([chattr, "-i", str(database)], check=True)


def test_an_immutable_file_is_named_with_the_flag_to_remove(
    immutable: Path, opened: SqlWarehouse, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING), pytest.raises(WarehouseWriteError) as raised:
        opened.record_run(a_run())
    assert raised.value.kind == "immutable"
    assert f"chattr -i {immutable}" in str(raised.value)
    assert warehouse_log(caplog)["kind"] == "immutable"


def test_a_full_disk_says_so_rolls_the_load_back_and_is_not_retryable(
    opened: SqlWarehouse, caplog: pytest.LogCaptureFixture
) -> None:
    # SQLite answers SQLITE_FULL ("database or disk is full") as on a full filesystem once
    # the file may not grow: max_page_count set to the pages it has.
    @event.listens_for(opened.engine, "connect")
    def _no_room_to_grow(dbapi_connection: Any, _record: Any) -> None:
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    rows = customers(*(f"C{n}" for n in range(2000)))
    with caplog.at_level(logging.WARNING), pytest.raises(WarehouseWriteError) as raised:
        opened.load_customers([rows], "run-1")
    assert raised.value.kind == "disk_full"
    assert "its disk is full" in str(raised.value)
    assert "free space on the filesystem holding the database file" in str(raised.value)
    assert warehouse_log(caplog)["error_class"] == "WarehouseWriteError"
    event.remove(opened.engine, "connect", _no_room_to_grow)
    opened.engine.dispose()
    assert opened.count_customers() == 0  # nothing of the load was committed


def test_the_password_never_reaches_the_message_or_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    password = "pw-that-must-not-leak-7731"
    warehouse = SqlWarehouse(
        "postgresql+psycopg://etl@127.0.0.1:1/warehouse", password, connection=QUICK
    )
    try:
        with caplog.at_level(logging.DEBUG), pytest.raises(WarehouseUnavailableError) as raised:
            warehouse.record_run(a_run())
    finally:
        warehouse.dispose()
    assert raised.value.kind == "unreachable"
    assert "cannot be reached" in str(raised.value)
    assert password not in str(raised.value)
    assert password not in caplog.text
    assert all(password not in str(vars(record)) for record in caplog.records)


def test_a_read_only_postgresql_server_is_a_write_error(postgres_url: str) -> None:
    migrated = SqlWarehouse(postgres_url)
    migrated.upgrade()
    migrated.dispose()
    # A standby or a read-only setting: every transaction of the session is read-only.
    read_only = SqlWarehouse(
        f"{postgres_url}?options=-c%20default_transaction_read_only%3Don", connection=QUICK
    )
    try:
        with pytest.raises(WarehouseWriteError) as raised:
            read_only.record_run(a_run())
    finally:
        read_only.dispose()
    assert raised.value.kind == "read_only"


def test_the_new_class_is_classified_and_the_kind_survives_a_process_pool() -> None:
    assert classify("WarehouseWriteError").anchor == "warehousewriteerror"
    error = WarehouseWriteError("warehouse x is read-only", "read_only")
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), str(copy), copy.kind) == (WarehouseWriteError, str(error), "read_only")
    locked = pickle.loads(pickle.dumps(WarehouseUnavailableError("locked", "locked")))
    assert locked.kind == "locked"
