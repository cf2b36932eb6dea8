"""The scheduled retention function under moto: it applies the classes to the warehouse's
customers only (S3 lifecycle rules expire the objects), honours legal holds, audits, returns
counts, never ids, and alerts on SNS when records are still past their period."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws
from sqlalchemy import text

from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.core.legal_holds import HoldScope, NewLegalHold
from customer_etl.runtime.lambda_handlers import retention_handler
from tests.fakes.alert_inbox import alert_inbox
from tests.fakes.lambda_invoke import FakeLambdaContext
from tests.warehouse_rows import customers

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Cloud:
    warehouse: SqlWarehouse
    sqs: Any
    inbox: str

    def alerts(self) -> list[dict[str, Any]]:
        found = self.sqs.receive_message(QueueUrl=self.inbox, MaxNumberOfMessages=10)
        return [json.loads(message["Body"]) for message in found.get("Messages", [])]

    def customer_ids(self) -> list[str]:
        with self.warehouse.engine.connect() as connection:
            return sorted(
                r for (r,) in connection.execute(text("select customer_id from customers"))
            )


@pytest.fixture
def cloud(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
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
    with mock_aws():
        topic, sqs, inbox = alert_inbox()
        for name, value in {
            "CUSTOMER_ETL_ENV": "dev",
            "CUSTOMER_ETL_CONFIG_DIR": str(REPO / "config"),
            "CUSTOMER_ETL__WAREHOUSE__URL": url,
            "CUSTOMER_ETL__WAREHOUSE__PASSWORD_REF": "null",
            "CUSTOMER_ETL__AWS__ALERT_TOPIC_ARN": topic,
        }.items():
            monkeypatch.setenv(name, value)
        yield Cloud(warehouse, sqs, inbox)
    warehouse.dispose()


def test_the_retention_function_deletes_expired_customers_but_not_held_ones(
    cloud: Cloud,
) -> None:
    result = retention_handler({}, FakeLambdaContext("retention"))

    assert (result["rows_deleted"], result["overdue"], result["alerted"]) == (1, 0, False)
    assert "GONE-1" not in repr(result) and "HELD-1" not in repr(result)
    assert cloud.customer_ids() == ["HELD-1", "KEPT-1"]
    with cloud.warehouse.engine.connect() as connection:
        audited = [
            tuple(row)
            for row in connection.execute(
                text("select store, records, held from retention_actions")
            )
        ]
    assert audited == [("warehouse_customers", 1, 1)]
    assert cloud.alerts() == [], "held records are not overdue"


def test_records_still_past_their_period_after_the_job_raise_one_alert_without_ids(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A warehouse that accepts the delete but removes nothing (a trigger, a replica lag).
    monkeypatch.setattr(SqlWarehouse, "delete_expired_customers", lambda *args: 0)
    result = retention_handler({}, FakeLambdaContext("retention"))

    assert (result["overdue"], result["alerted"]) == (1, True)
    [alert] = cloud.alerts()
    assert alert["Subject"].startswith("[P2] customer-etl retention")
    assert "1 record(s) past their retention period" in alert["Subject"]
    assert "customer: 1" in alert["Message"]
    for customer_id in ("GONE-1", "HELD-1", "KEPT-1"):
        assert customer_id not in alert["Subject"] + alert["Message"]
