"""The SQL Server load, checked offline: SQLAlchemy's real `mssql+pyodbc` dialect compiles
and sends every statement to a recording stand-in for pyodbc that reports SQL Server 2022
(16.0). What a real server would do with the statements is not checked here; a test leg
against a real server runs when ETL_MSSQL_URL is set (tests/integration)."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest
from sqlalchemy import event

from customer_etl.adapters.warehouse import SqlWarehouse, schema
from customer_etl.core.errors import StageError
from tests.fakes import pyodbc
from tests.warehouse_rows import customers

URL = "mssql+pyodbc://etl@db.example:1433/customers?driver=ODBC+Driver+18+for+SQL+Server"
PARAMETER_LIMIT = 2100


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> pyodbc.Server:
    fake = pyodbc.Server(revision=schema.head_revision(), actions={"inserted": 3})
    monkeypatch.setitem(sys.modules, "pyodbc", pyodbc.module(fake))
    return fake


def sql_server(server: pyodbc.Server, batch_rows: int) -> SqlWarehouse:
    warehouse = SqlWarehouse(URL, password="pw", batch_rows=batch_rows)
    # pyodbc begins transactions implicitly; record where SQLAlchemy considers one begun.
    event.listen(warehouse.engine, "begin", lambda _c: server.calls.append(pyodbc.Call("BEGIN")))
    return warehouse


def kinds(calls: list[pyodbc.Call]) -> Iterator[str]:
    """Each call of the load named by what it does."""
    start = max(i for i, c in enumerate(calls) if c.sql == "BEGIN")
    for call in calls[start:]:
        sql = " ".join(call.sql.split())
        for prefix in (
            "BEGIN",
            "IF @@TRANCOUNT = 0 BEGIN TRANSACTION",
            "SAVE TRANSACTION",
            "ROLLBACK TRANSACTION",
            "CREATE TABLE [#customers_stage]",
            "INSERT INTO [#customers_stage]",
            "INSERT INTO customer_changes",
            "MERGE INTO customers WITH (HOLDLOCK)",
            "TRUNCATE TABLE [#customers_stage]",
            "DROP TABLE [#customers_stage]",
            "SELECT customer_changes.action, count(*)",
            "SELECT subject_flags.flag",
            "COMMIT",
            "ROLLBACK",
        ):
            if sql.startswith(prefix):
                yield prefix
                break
        else:
            yield sql


def test_a_load_is_begin_savepoints_staging_merge_with_holdlock_commit(
    server: pyodbc.Server,
) -> None:
    warehouse = sql_server(server, batch_rows=2)
    result = warehouse.load_customers([customers("A", "B", "C")], "run-1")

    sub_batch = [
        "IF @@TRANCOUNT = 0 BEGIN TRANSACTION",
        "SAVE TRANSACTION",
        "INSERT INTO [#customers_stage]",
        "INSERT INTO customer_changes",
        "MERGE INTO customers WITH (HOLDLOCK)",
        "TRUNCATE TABLE [#customers_stage]",
    ]
    assert list(kinds(server.calls)) == [
        "BEGIN",
        "CREATE TABLE [#customers_stage]",
        "SELECT subject_flags.flag",  # the flags the load honours (erased, restricted...)
        *sub_batch,  # A, B
        *sub_batch,  # C
        "DROP TABLE [#customers_stage]",
        "SELECT customer_changes.action, count(*)",
        "COMMIT",
        "ROLLBACK",  # the pool's reset when the connection goes back: nothing left open
    ]
    assert (warehouse.engine.dialect.server_version_info or ())[:2] == (16, 0)
    [staging] = [c for c in server.calls if "CREATE TABLE [#customers_stage]" in c.sql]
    # At version 16 dates stay DATE and text is NVARCHAR (VARCHAR would lose characters);
    # an encrypted column is as wide as its longest token.
    assert "signup_date DATE" in staging.sql and "email NVARCHAR(1415)" in staging.sql
    [many] = [c for c in server.calls if c.many]
    assert many.fast_executemany and len(many.rows) == 2
    [merge, _] = [c for c in server.calls if c.sql.startswith("MERGE")]
    assert "WHEN MATCHED AND target.content_hash <> source.content_hash" in merge.sql
    assert "WHEN NOT MATCHED BY TARGET THEN INSERT" in merge.sql and merge.sql.endswith(";")
    assert result.inserted == 3


def test_no_statement_carries_more_than_2100_parameters(server: pyodbc.Server) -> None:
    warehouse = sql_server(server, batch_rows=5000)
    warehouse.load_customers([customers(*(f"C{i}" for i in range(3000)))], "run-1")

    assert max(len(row) for call in server.calls for row in call.rows) <= PARAMETER_LIMIT
    [many] = [c for c in server.calls if c.many]
    assert len(many.rows) == 3000 and many.fast_executemany  # one parameter array


def test_a_refused_sub_batch_is_rolled_back_to_its_savepoint(server: pyodbc.Server) -> None:
    server.refuse = "MERGE"
    warehouse = sql_server(server, batch_rows=10)
    with warehouse.loading("run-1") as unit:
        refused = unit.upsert(customers("A", "B"))

    assert list(refused) == ["db_integrity_error", "db_integrity_error"]
    sequence = list(kinds(server.calls))
    merge = sequence.index("MERGE INTO customers WITH (HOLDLOCK)")
    assert sequence[merge + 1] == "ROLLBACK TRANSACTION"
    assert sequence[-2:] == ["COMMIT", "ROLLBACK"]


def test_connections_to_sql_server_are_encrypted(server: pyodbc.Server) -> None:
    assert SqlWarehouse(URL).engine.url.query["Encrypt"] == "yes"
    with pytest.raises(StageError, match="must be encrypted"):
        SqlWarehouse(URL + "&Encrypt=no")


def test_a_missing_driver_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyodbc", None)
    with pytest.raises(StageError, match=r"customer-etl\[mssql\]"):
        SqlWarehouse(URL)
