from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.errors import StageError, WarehouseUnavailableError
from customer_etl.ports import RunRecord
from customer_etl.retention_job import apply_retention
from customer_etl.stages.load import content_hashes


def customers(*ids: str, email: str = "a@b.co") -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "source_row": range(1, len(ids) + 1),
            "customer_id": list(ids),
            "first_name": "Ann",
            "last_name": "Lee",
            "email": email,
            "phone": None,
            "postcode": "SW1A 1AA",
            "company_name": None,
            "company_number": None,
            "date_of_birth": date(1980, 1, 2),
            "signup_date": date(2020, 1, 1),
            "country": "GB",
            "marketing_consent": True,
            "post_town": "London",
            "region": None,
            "admin_district": None,
            "postcode_country": "England",
            "latitude": float("nan"),
            "longitude": float("nan"),
            "enrichment_source": "reference",
        }
    )
    frame["content_hash"] = content_hashes(frame)
    return frame


@pytest.fixture
def warehouse(tmp_path: Path) -> SqlWarehouse:
    return SqlWarehouse(f"sqlite:///{tmp_path / 'w.db'}")


def rows(warehouse: SqlWarehouse, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(warehouse.display_url)
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]


def test_upsert_inserts_then_leaves_the_same_rows_on_reload(warehouse: SqlWarehouse) -> None:
    first = warehouse.load_customers([customers("A", "B"), customers("C")], "run-1")
    second = warehouse.load_customers([customers("A", "B"), customers("C")], "run-2")
    assert (first.inserted, first.updated) == (3, 0)
    assert (second.inserted, second.updated) == (0, 0)
    assert rows(warehouse, "select customer_id from customers order by 1") == [
        ("A",),
        ("B",),
        ("C",),
    ]


def test_a_changed_record_is_updated_and_keeps_its_first_seen_time(warehouse: SqlWarehouse) -> None:
    warehouse.load_customers([customers("A")], "run-1")
    [(first_seen,)] = rows(warehouse, "select first_seen_at from customers")
    result = warehouse.load_customers([customers("A", email="new@b.co")], "run-2")
    assert result.updated == 1
    assert rows(warehouse, "select email, last_run_id, first_seen_at from customers") == [
        ("new@b.co", "run-2", first_seen)
    ]


def test_a_failing_load_rolls_back_every_chunk(warehouse: SqlWarehouse) -> None:
    def chunks() -> Iterator[pd.DataFrame]:
        yield customers("A", "B")
        raise RuntimeError("connection lost mid-load")

    with pytest.raises(RuntimeError):
        warehouse.load_customers(chunks(), "run-1")
    assert warehouse.count_customers() == 0


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
    long_ago = (datetime.now(UTC) - timedelta(days=400)).strftime("%Y-%m-%d %H:%M:%S")
    engine = create_engine(warehouse.display_url)
    with engine.begin() as connection:
        connection.execute(
            text("update customers set last_seen_at = :t where customer_id = 'OLD'"),
            {"t": long_ago},
        )
    record = apply_retention(warehouse, retention_days=365)
    assert record.rows_deleted == 1
    assert rows(warehouse, "select customer_id from customers") == [("NEW",)]
    assert rows(warehouse, "select kind, rows_deleted, status from etl_runs") == [
        ("retention", 1, "succeeded")
    ]


def test_an_unreachable_database_is_a_retryable_error_without_credentials() -> None:
    # Nothing listens on port 9 of loopback: the connection is refused at once.
    warehouse = SqlWarehouse(
        "postgresql+psycopg://etl@127.0.0.1:9/x", password="hunter2", connect_timeout_seconds=2
    )
    with pytest.raises(WarehouseUnavailableError, match="resume the run") as caught:
        warehouse.load_customers([customers("A")], "run-1")
    assert "hunter2" not in str(caught.value)


def test_an_unsupported_dialect_is_a_clear_error() -> None:
    with pytest.raises(StageError, match="not supported yet"):
        SqlWarehouse("mysql://db/x")


def test_display_url_hides_the_password() -> None:
    warehouse = SqlWarehouse("postgresql+psycopg://etl@db:5432/x", password="hunter2")
    assert "hunter2" not in warehouse.display_url
    assert warehouse.display_url.startswith("postgresql+psycopg://etl")
