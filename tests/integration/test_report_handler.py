"""The scheduled report function under moto: the period report lands in S3 at
`reports/<period>/<date>.html`, and SNS announces it with counts and its address only."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.core.errors import CustomerEtlError
from customer_etl.core.ports import RunRecord
from customer_etl.runtime.lambda_handlers import report_handler
from tests.fakes.alert_inbox import alert_inbox
from tests.fakes.lambda_invoke import REGION, FakeLambdaContext

REPO = Path(__file__).resolve().parents[2]
CHECKPOINTS, REPORTS = "checkpoint-bucket", "reports-bucket"
SOURCE_FILE = "customers_jane.doe@example.com.csv"
"""A file name that looks personal: it must not reach the announcement."""
ERROR = "postcode SW1A 1AA refused"


@dataclass
class Cloud:
    s3: Any
    sqs: Any
    inbox: str
    warehouse: SqlWarehouse

    def announcements(self) -> list[dict[str, str]]:
        found = self.sqs.receive_message(QueueUrl=self.inbox, MaxNumberOfMessages=10)
        return [json.loads(message["Body"]) for message in found.get("Messages", [])]

    def keys(self, bucket: str) -> list[str]:
        listed = self.s3.list_objects_v2(Bucket=bucket)
        return [item["Key"] for item in listed.get("Contents", [])]


@pytest.fixture
def cloud(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cloud]:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        for bucket in (CHECKPOINTS, REPORTS):
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
            )
        topic, sqs, inbox = alert_inbox()
        url = f"sqlite:///{tmp_path / 'warehouse.db'}"
        warehouse = SqlWarehouse(url)
        warehouse.upgrade()
        for name, value in {
            "CUSTOMER_ETL_ENV": "dev",
            "CUSTOMER_ETL_CONFIG_DIR": str(REPO / "config"),
            "CUSTOMER_ETL__WAREHOUSE__URL": url,
            "CUSTOMER_ETL__WAREHOUSE__PASSWORD_REF": "null",
            "CUSTOMER_ETL__AWS__CHECKPOINT_BUCKET": CHECKPOINTS,
            "CUSTOMER_ETL__AWS__REPORTS_BUCKET": REPORTS,
            "CUSTOMER_ETL__AWS__ALERT_TOPIC_ARN": topic,
        }.items():
            monkeypatch.setenv(name, value)
        yield Cloud(s3, sqs, inbox, warehouse)
        warehouse.dispose()


def record_runs(warehouse: SqlWarehouse, now: datetime) -> None:
    for hours, status in ((2, "succeeded"), (5, "succeeded"), (9, "succeeded"), (12, "failed")):
        started = now - timedelta(hours=hours)
        warehouse.record_run(
            RunRecord(
                run_id=f"run-{hours}",
                kind="pipeline",
                source_file=SOURCE_FILE,
                status=status,
                rows_in=500,
                rows_loaded=480 if status == "succeeded" else 0,
                rows_quarantined=20,
                started_at=started,
                finished_at=started + timedelta(seconds=40),
                error=ERROR if status == "failed" else None,
            )
        )


def test_the_daily_report_is_written_to_s3_and_announced(cloud: Cloud) -> None:
    now = datetime.now(UTC)
    record_runs(cloud.warehouse, now)

    result = report_handler({"period": "daily"}, FakeLambdaContext("customer-etl-report"))

    [key] = cloud.keys(REPORTS)
    # Named after the day the period ends (today, or tomorrow if midnight has just passed).
    days = {now.date(), datetime.now(UTC).date()}
    assert key in {f"reports/daily/{day.isoformat()}.html" for day in days}
    assert result["uri"] == f"s3://{REPORTS}/{key}"
    assert (result["runs"], result["success_rate"]) == (4, 75.0)
    stored = cloud.s3.get_object(Bucket=REPORTS, Key=key)
    assert stored["ContentType"].startswith("text/html")
    html = stored["Body"].read().decode("utf-8")
    assert 'id="success-rate">75 %<' in html and "run-12" in html
    [announcement] = cloud.announcements()
    assert "daily report: 4 run(s), 75 % succeeded" in announcement["Subject"]
    body = announcement["Message"]
    assert "3 succeeded, 1 failed" in body and f"s3://{REPORTS}/{key}" in body
    assert "jane.doe" not in body + announcement["Subject"]
    assert "SW1A" not in body + announcement["Subject"]


def test_without_a_reports_bucket_the_report_goes_to_the_checkpoint_bucket(
    cloud: Cloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTOMER_ETL__AWS__REPORTS_BUCKET", "")

    result = report_handler({"period": "weekly"}, FakeLambdaContext("customer-etl-report"))

    [key] = cloud.keys(CHECKPOINTS)
    assert key.startswith("reports/weekly/") and key.endswith(".html")
    assert cloud.keys(REPORTS) == []
    assert result["runs"] == 0 and result["success_rate"] is None
    [announcement] = cloud.announcements()
    assert "weekly report: 0 run(s), n/a succeeded" in announcement["Subject"]


def test_an_unknown_period_is_refused_before_anything_is_written(cloud: Cloud) -> None:
    with pytest.raises(CustomerEtlError, match="report period 'monthly'"):
        report_handler({"period": "monthly"}, FakeLambdaContext("customer-etl-report"))

    assert cloud.keys(REPORTS) == [] and cloud.announcements() == []
