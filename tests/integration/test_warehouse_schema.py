"""The schema's migrations, the refusal of an unusable schema, `db upgrade` and `health`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from customer_etl.adapters.warehouse import schema
from customer_etl.adapters.warehouse.tables import metadata
from customer_etl.config import Config
from customer_etl.core.errors import WarehouseSchemaError
from customer_etl.health.database import check_database
from customer_etl.runtime.cli import main
from customer_etl.runtime.factory import local_ports
from customer_etl.runtime.local_runner import LocalRunner
from tests.databases import open_warehouse
from tests.decrypted import plaintext_customers, plaintext_warehouse, upgrade_in_session
from tests.warehouse_rows import customers

REPO = Path(__file__).resolve().parents[2]


def test_the_migrations_build_exactly_the_tables_the_code_uses(warehouse_url: str) -> None:
    warehouse = open_warehouse(warehouse_url)
    warehouse.upgrade()
    with warehouse.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    assert differences == []
    warehouse.dispose()


def test_a_run_refuses_to_start_against_a_database_without_the_schema(
    warehouse_url: str, tmp_path: Path
) -> None:
    config = Config.model_validate(
        {
            "environment": "local",
            "pipeline": {"output_dir": str(tmp_path / "runs")},
            "warehouse": {"url": warehouse_url},
            "enrichment": {"postcodes": {"enabled": False}},
        }
    )
    runner = LocalRunner(config, local_ports(config))
    with pytest.raises(WarehouseSchemaError, match=r"run `customer-etl db upgrade`"):
        runner.run(REPO / "data" / "sample" / "customers.csv", "refused")
    assert not (tmp_path / "runs" / "refused").exists()


@pytest.mark.parametrize(
    ("prepare", "message"),
    [
        ("create table customers (customer_id varchar(64))", "no schema revision"),
        ("insert into alembic_version values ('9999')", "newer than this version"),
    ],
)
def test_a_schema_this_version_does_not_know_is_refused_even_by_upgrade(
    warehouse_url: str, prepare: str, message: str
) -> None:
    warehouse = open_warehouse(warehouse_url, auto_upgrade=True)
    with warehouse.engine.begin() as connection:
        if "alembic_version" in prepare:
            connection.execute(text("create table alembic_version (version_num varchar(32))"))
        connection.execute(text(prepare))
    with pytest.raises(WarehouseSchemaError, match=message):
        warehouse.check_schema()
    with pytest.raises(WarehouseSchemaError, match=message):
        warehouse.upgrade()
    warehouse.dispose()


def test_auto_upgrade_brings_an_empty_database_to_the_latest_revision(
    warehouse_url: str,
) -> None:
    warehouse = open_warehouse(warehouse_url, auto_upgrade=True)
    assert warehouse.count_customers() == 0
    with warehouse.engine.connect() as connection:
        assert schema.current_revision(connection) == schema.head_revision()
    warehouse.dispose()


def test_db_upgrade_then_health_from_the_command_line(
    warehouse_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("CUSTOMER_ETL__WAREHOUSE__URL", warehouse_url)
    monkeypatch.setenv("CUSTOMER_ETL__WAREHOUSE__AUTO_UPGRADE", "false")
    # Health checks every component: keep the others on this machine and offline.
    monkeypatch.setenv("CUSTOMER_ETL__PIPELINE__OUTPUT_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("CUSTOMER_ETL__ENRICHMENT__POSTCODES__BASE_URL", "http://127.0.0.1:9")
    config = ["--config", str(REPO / "config" / "local.yaml")]

    assert main(["health", *config]) == 1
    assert "UNHEALTHY" in capsys.readouterr().out

    assert main(["db", "upgrade", *config]) == 0
    assert f"schema none -> {schema.head_revision()}" in capsys.readouterr().out
    assert main(["db", "upgrade", *config]) == 0  # nothing left to do is not an error

    capsys.readouterr()
    assert main(["health", *config]) == 0
    assert "database: healthy in " in capsys.readouterr().out


def test_health_reports_latency_and_schema_revision(warehouse_url: str) -> None:
    warehouse = open_warehouse(warehouse_url)
    warehouse.upgrade()
    result = check_database(warehouse)
    assert result.healthy
    assert result.latency_ms is not None and result.latency_ms >= 0
    assert result.facts["schema_revision"] == schema.head_revision()
    assert "***" not in result.facts["url"]
    warehouse.dispose()


def test_health_of_an_unreachable_database_is_unhealthy_without_credentials() -> None:
    warehouse = open_warehouse("postgresql+psycopg://etl:hunter2@127.0.0.1:9/x")
    result = check_database(warehouse)
    assert not result.healthy
    assert "cannot be reached" in result.detail
    assert "hunter2" not in result.summary() + str(result.facts)


def test_a_warehouse_with_rows_from_before_encryption_upgrades_reads_and_downgrades(
    warehouse_url: str,
) -> None:
    """0001 rows -> head -> read through the decrypt path -> back to 0001. On PostgreSQL
    under a day-first DateStyle, which must not leak into the migrated dates."""
    records = customers("C1", "C2", date_of_birth=date(1980, 1, 2))
    plaintext_warehouse(warehouse_url, records)
    dialect = make_url(warehouse_url).get_backend_name()
    settings = "SET DateStyle = 'SQL, DMY'" if dialect == "postgresql" else ""
    upgrade_in_session(warehouse_url, settings)
    read = plaintext_customers(warehouse_url, Path("/nonexistent/keys.json"))  # no token: no key
    assert [(r["customer_id"], r["date_of_birth"], r["email"]) for r in read] == [
        ("C1", date(1980, 1, 2), "a@b.co"),
        ("C2", date(1980, 1, 2), "a@b.co"),
    ]
    engine = create_engine(warehouse_url)
    try:
        with engine.begin() as connection:
            command.downgrade(schema.alembic_config(connection), "0001")
        with engine.connect() as connection:
            assert schema.current_revision(connection) == "0001"
            births = connection.execute(text("select date_of_birth from customers")).scalars()
            assert {str(value) for value in births} == {"1980-01-02"}
    finally:
        engine.dispose()
