"""The scheduled retention function under moto: it applies the classes to the warehouse's
customers only (S3 lifecycle rules expire the objects), honours legal holds, audits, and
returns counts, never ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from moto import mock_aws
from sqlalchemy import text

from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.core.legal_holds import HoldScope, NewLegalHold
from customer_etl.runtime.lambda_handlers import retention_handler
from tests.fakes.lambda_invoke import FakeLambdaContext
from tests.warehouse_rows import customers

REPO = Path(__file__).resolve().parents[2]


def test_the_retention_function_deletes_expired_customers_but_not_held_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    warehouse = SqlWarehouse(url)
    warehouse.upgrade()
    warehouse.load_customers([customers("GONE-1", "HELD-1", "KEPT-1")], "run-1")
    with warehouse.engine.begin() as connection:
        connection.execute(
            text("update customers set last_seen_at = :t where customer_id != 'KEPT-1'"),
            {"t": datetime.now(UTC) - timedelta(days=2200)},
        )
    warehouse.add_legal_hold(NewLegalHold(HoldScope.CUSTOMER, "HELD-1", "matter", "dpo"))
    for name, value in {
        "CUSTOMER_ETL_ENV": "dev",
        "CUSTOMER_ETL_CONFIG_DIR": str(REPO / "config"),
        "CUSTOMER_ETL__WAREHOUSE__URL": url,
        "CUSTOMER_ETL__WAREHOUSE__PASSWORD_REF": "null",
    }.items():
        monkeypatch.setenv(name, value)

    with mock_aws():
        result = retention_handler({}, FakeLambdaContext("retention"))

    assert result["rows_deleted"] == 1
    assert "GONE-1" not in repr(result) and "HELD-1" not in repr(result)
    with warehouse.engine.connect() as connection:
        left = sorted(r for (r,) in connection.execute(text("select customer_id from customers")))
        audited = list(
            connection.execute(text("select store, records, held from retention_actions"))
        )
    assert left == ["HELD-1", "KEPT-1"]
    assert [tuple(row) for row in audited] == [("warehouse_customers", 1, 1)]
    warehouse.dispose()
