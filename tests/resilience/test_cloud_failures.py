"""Failure drills in the cloud: AWS throttled, AWS refusing a call, an enrichment API down
for a whole run, the warehouse lost mid-chunk and down through the load. Each under moto's
Step Functions interpreter with the real ASL and handlers (tests/state_machine_harness.py);
a refused call, an outage or a warehouse down ends in a redrive that completes the run.

The AWS faults are answers botocore receives before the request is sent (its `before-call`
event), so they bypass the SDK's own retries: what is under test is what the task does once
those are spent.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import boto3
import pandas as pd
import pytest
from sqlalchemy.exc import OperationalError

from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.adapters.warehouse.engine import unavailable
from customer_etl.adapters.warehouse.unit import LoadUnit
from customer_etl.reference.sample import generate_customers
from tests.state_machine_harness import (
    alerts,
    assert_clean_warehouse,
    chunk_reports,
    execute_input,
    history,
    landed,
    messages,
    personal_values,
    redrive,
    run_rows,
    run_status,
    status_event,
    warehouse,
)

ROWS = 100
"""Four chunks of the harness's 25 rows."""


@dataclass
class Fault:
    """AWS answering `operation` (`service.Operation`, as botocore's events name it) on
    requests whose URL contains `url_part` with `code` and `status`, `times` times (None:
    until the drill heals it)."""

    operation: str
    code: str
    status: int
    url_part: str = ""
    times: int | None = 1
    injected: int = 0
    healed: bool = False

    def answer(self, params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]] | None:
        if self.healed or self.url_part not in str(params.get("url", "")):
            return None
        if self.times is not None and self.injected >= self.times:
            return None
        self.injected += 1
        response = {
            "Error": {"Code": self.code, "Message": "injected by the drill"},
            "ResponseMetadata": {"HTTPStatusCode": self.status, "HTTPHeaders": {}},
        }
        return SimpleNamespace(status_code=self.status, headers={}), response


@pytest.fixture
def inject(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[Fault], Fault]]:
    """Arm faults on every client the functions make from now on."""
    faults: list[Fault] = []
    make_client = boto3.client

    def client_with_faults(*args: Any, **kwargs: Any) -> Any:
        client = make_client(*args, **kwargs)
        for fault in faults:
            client.meta.events.register(f"before-call.{fault.operation}", fault.answer)
        return client

    monkeypatch.setattr(boto3, "client", client_with_faults)

    def arm(fault: Fault) -> Fault:
        faults.append(fault)
        return fault

    yield arm


def _task_failures(aws: dict[str, Any], result: dict[str, Any]) -> list[str]:
    """The error of every failed task attempt the execution's history records."""
    return [
        str(
            (event.get("taskFailedEventDetails") or event["lambdaFunctionFailedEventDetails"])[
                "error"
            ]
        )
        for event in history(aws, result)
        if event["type"] in {"TaskFailed", "LambdaFunctionFailed"}
    ]


def test_a_throttled_read_of_the_landed_file_is_retried_by_the_task_and_the_run_succeeds(
    aws: dict[str, Any], inject: Callable[[Fault], Fault]
) -> None:
    sample = generate_customers(rows=ROWS, seed=21, defect_rate=0.1)
    source = landed(aws, "incoming/throttled.csv", sample.frame.to_csv(index=False).encode())
    fault = inject(Fault("s3.HeadObject", "SlowDown", 503, url_part="incoming/throttled.csv"))

    result = execute_input(aws, source, name="run-throttled")

    assert result["status"] == "SUCCEEDED", result
    assert fault.injected == 1
    assert _task_failures(aws, result) == ["AwsServiceUnavailableError"]
    assert_clean_warehouse(aws, sample)
    assert run_rows(aws) == [("run-throttled", "succeeded", None, 1)]


def test_throttled_kms_is_retried_by_the_task_and_the_run_succeeds(
    aws: dict[str, Any], inject: Callable[[Fault], Fault]
) -> None:
    sample = generate_customers(rows=ROWS, seed=22, defect_rate=0.1)
    source = landed(aws, "incoming/kms.csv", sample.frame.to_csv(index=False).encode())
    generate = inject(Fault("kms.GenerateDataKey", "ThrottlingException", 400))
    decrypt = inject(Fault("kms.Decrypt", "ThrottlingException", 400))

    result = execute_input(aws, source, name="run-kms")

    assert result["status"] == "SUCCEEDED", result
    assert generate.injected == 1 and decrypt.injected == 1, "both calls were made and throttled"
    assert_clean_warehouse(aws, sample)
    assert run_rows(aws) == [("run-kms", "succeeded", None, 1)]


# The stages and chunks the redrive passes through publish no figures again.
@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_a_refused_checkpoint_write_fails_the_run_and_a_redrive_completes_it(
    aws: dict[str, Any], inject: Callable[[Fault], Fault]
) -> None:
    sample = generate_customers(rows=ROWS, seed=23, defect_rate=0.1)
    source = landed(aws, "incoming/refused.csv", sample.frame.to_csv(index=False).encode())
    # The bucket policy refuses one enrich chunk's checkpoint until the operator fixes it.
    refused = inject(
        Fault("s3.PutObject", "AccessDenied", 403, url_part="/enrich/chunk-00001", times=None)
    )

    failed = execute_input(aws, source, name="run-refused")

    assert failed["status"] == "FAILED"
    assert refused.injected == 1, "a refusal is not retried: retrying cannot change it"
    assert run_status(status_event(failed))["action"] == "recorded_failure"
    assert run_rows(aws)[0][:2] == ("run-refused", "failed")
    [alert] = [a for a in alerts(aws) if " failed: " in a["Subject"]]
    assert "redrive" in alert["Message"]
    reports_before = chunk_reports("run-refused")
    assert "runs/run-refused/chunks/enrich-00001.json" not in reports_before
    refused.healed = True

    redriven = redrive(aws, failed, "EnrichChunks", name="run-refused-redrive")

    assert redriven["status"] == "SUCCEEDED", redriven
    after = chunk_reports("run-refused")
    # Finished chunks are not run again: their reports are the same objects.
    assert {k: v for k, v in after.items() if k in reports_before} == reports_before
    assert "runs/run-refused/chunks/enrich-00001.json" in after
    assert_clean_warehouse(aws, sample)
    assert run_status(status_event(redriven | {"name": "run-refused"}, redrive_count=1)) == {
        "run_id": "run-refused",
        "action": "recovered",
    }
    assert run_rows(aws) == [("run-refused", "succeeded", None, 2)]
    text_seen = json.dumps(alerts(aws)) + json.dumps(messages(aws, "quarantine_url"))
    assert not [v for v in personal_values(sample.frame) if v in text_seen]


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_an_enrichment_api_down_for_the_whole_run_fails_it_and_a_redrive_completes_it(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Fail fast: no client retries, and an open circuit lets a trial through within a second.
    for api in ("POSTCODES", "COMPANIES_HOUSE"):
        monkeypatch.setenv(f"CUSTOMER_ETL__ENRICHMENT__{api}__MAX_RETRIES", "0")
        monkeypatch.setenv(f"CUSTOMER_ETL__ENRICHMENT__{api}__RESET_TIMEOUT_SECONDS", "0.5")
    sample = generate_customers(rows=ROWS, seed=24, defect_rate=0.1)
    source = landed(aws, "incoming/outage.csv", sample.frame.to_csv(index=False).encode())
    aws["api"].down = True

    failed = execute_input(aws, source, name="run-outage")

    assert failed["status"] == "FAILED"
    # dev.yaml lets at most half the postcodes fall back: beyond that nothing is loaded.
    assert warehouse(aws, "select count(*) from customers") == [(0,)]
    assert run_status(status_event(failed))["action"] == "recorded_failure"
    [alert] = [a for a in alerts(aws) if " failed: " in a["Subject"]]
    assert "redrive" in alert["Message"]
    aws["api"].down = False
    time.sleep(0.5)  # the operator redrives once the API is back and its circuit may close

    redriven = redrive(aws, failed, "EnrichChunks", name="run-outage-redrive")

    assert redriven["status"] == "SUCCEEDED", redriven
    assert_clean_warehouse(aws, sample)
    # Every postcode was asked of the API once it was back: none is a fallback's.
    sources = warehouse(aws, "select distinct enrichment_source from customers")
    assert "fallback" not in {row[0] for row in sources}
    assert run_status(status_event(redriven | {"name": "run-outage"}, redrive_count=1)) == {
        "run_id": "run-outage",
        "action": "recovered",
    }
    assert run_rows(aws) == [("run-outage", "succeeded", None, 2)]


# The failed attempt publishes no figures.
@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_the_warehouse_lost_in_the_middle_of_a_chunk_is_rolled_back_and_retried_by_the_task(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = generate_customers(rows=ROWS, seed=25, defect_rate=0.1)
    source = landed(aws, "incoming/lost.csv", sample.frame.to_csv(index=False).encode())
    upsert = LoadUnit.upsert
    lost: list[int] = []

    def connection_lost_after_writing(self: LoadUnit, chunk: pd.DataFrame) -> pd.Series:
        reasons = upsert(self, chunk)  # the chunk's rows are written in its transaction...
        if self.chunk == 1 and not lost:
            lost.append(len(chunk))  # ...then the server goes away before the commit
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))
        return reasons

    monkeypatch.setattr(LoadUnit, "upsert", connection_lost_after_writing)

    result = execute_input(aws, source, name="run-lost")

    assert result["status"] == "SUCCEEDED", result
    assert lost, "the connection was lost once, mid-chunk"
    assert_clean_warehouse(aws, sample)
    assert run_rows(aws) == [("run-lost", "succeeded", None, 1)]


@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_the_warehouse_down_through_the_load_fails_the_run_and_a_redrive_completes_it(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = generate_customers(rows=ROWS, seed=26, defect_rate=0.1)
    source = landed(aws, "incoming/down.csv", sample.frame.to_csv(index=False).encode())
    loading = SqlWarehouse.loading
    refused: list[int | None] = []

    def refused_connection(self: SqlWarehouse, run_id: str, chunk: int | None = None) -> Any:
        refused.append(chunk)
        # What the warehouse adapter makes of a server that refuses every connection.
        raise unavailable(
            self.display_url, OperationalError("connect", {}, Exception("refused")), "failed"
        )

    monkeypatch.setattr(SqlWarehouse, "loading", refused_connection)

    failed = execute_input(aws, source, name="run-down")

    assert failed["status"] == "FAILED"
    # Each chunk's task tried its three retries before the execution failed.
    assert Counter(refused) == {chunk: 4 for chunk in range(4)}
    assert warehouse(aws, "select count(*) from customers") == [(0,)]
    assert run_status(status_event(failed))["action"] == "recorded_failure"
    monkeypatch.setattr(SqlWarehouse, "loading", loading)

    redriven = redrive(aws, failed, "LoadChunks", name="run-down-redrive")

    assert redriven["status"] == "SUCCEEDED", redriven
    assert_clean_warehouse(aws, sample)
    assert run_status(status_event(redriven | {"name": "run-down"}, redrive_count=1)) == {
        "run_id": "run-down",
        "action": "recovered",
    }
    assert run_rows(aws) == [("run-down", "succeeded", None, 2)]
