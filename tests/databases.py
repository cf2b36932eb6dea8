"""The real databases the warehouse tests run against, as pytest fixtures.

- SQLite, always: a file in the test's temporary folder.
- PostgreSQL, at `ETL_TEST_POSTGRES_URL` (`scripts/with-postgres.sh` starts a throwaway
  server and sets it; `.ci/run` and `make test-postgres` use it): a fresh database per
  test. Without it the PostgreSQL cases skip, except in CI (`CI` set), where they fail.
- SQL Server, at `ETL_MSSQL_URL` when set (no server can run on the CI machine, so these
  cases skip without it): the tests' tables are dropped before each test.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from customer_etl.adapters.warehouse import ConnectionOptions, SqlWarehouse
from customer_etl.adapters.warehouse.tables import metadata

POSTGRES_URL = "ETL_TEST_POSTGRES_URL"
MSSQL_URL = "ETL_MSSQL_URL"
DIALECTS = ("sqlite", "postgresql", "mssql")


def postgres_server_url() -> str:
    """The test server's URL; skips the test locally when there is none, fails it in CI."""
    url = os.environ.get(POSTGRES_URL)
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail(f"{POSTGRES_URL} is not set: CI runs the tests with scripts/with-postgres.sh")
    pytest.skip(f"no PostgreSQL server ({POSTGRES_URL} unset): `make test-postgres` starts one")


def fresh_postgres_database() -> Iterator[str]:
    server = make_url(postgres_server_url())
    name = f"etl_test_{secrets.token_hex(4)}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def emptied_sql_server_database() -> Iterator[str]:
    url = os.environ.get(MSSQL_URL)
    if not url:
        pytest.skip(f"no SQL Server ({MSSQL_URL} unset); see the README on what is verified")
    engine = create_engine(url)
    with engine.begin() as connection:
        metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()
    yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """An empty PostgreSQL database, for what only a server can show (a killed session)."""
    yield from fresh_postgres_database()


@pytest.fixture(params=DIALECTS)
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each dialect in turn."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'warehouse.db'}"
    elif request.param == "postgresql":
        yield from fresh_postgres_database()
    else:
        yield from emptied_sql_server_database()


def open_warehouse(
    url: str, *, batch_rows: int = 10_000, max_failed_batches: int = 3, auto_upgrade: bool = False
) -> SqlWarehouse:
    """A warehouse at `url` that tries to connect once (the tests' servers are up or not)."""
    return SqlWarehouse(
        url,
        connection=ConnectionOptions(connect_attempts=1),
        batch_rows=batch_rows,
        max_failed_batches=max_failed_batches,
        auto_upgrade=auto_upgrade,
    )


@pytest.fixture
def warehouse(warehouse_url: str) -> Iterator[SqlWarehouse]:
    """A warehouse of each dialect in turn, its schema at the latest revision."""
    opened = open_warehouse(warehouse_url)
    opened.upgrade()
    yield opened
    opened.dispose()
