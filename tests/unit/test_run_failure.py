"""The end of the cloud's failure path (run/failure.py): from the failed state's input
and the caught error, the failed run's stage, its one templated alert, its `etl_runs` row and
its one RunsFailed metric."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.config.model import AlertsSettings
from customer_etl.core.errors import WarehouseUnavailableError
from customer_etl.core.manifest import RunManifest, StageReport
from customer_etl.core.ports import Alert, Warehouse
from customer_etl.observability import metric_names
from customer_etl.run.failure import caught_error, failed_manifest, report_run_failure
from customer_etl.runtime.lambda_handlers import manifest_from_event

START_EVENT = {"run_id": "run-7", "bucket": "landing", "key": "incoming/customers+2026.csv"}
read_start_event = partial(manifest_from_event, "extract")


class RecordingNotifier:
    def __init__(self) -> None:
        self.sent: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.sent.append(alert)


def lambda_error(error_type: str, message: str) -> dict[str, str]:
    """A stage's error as a Step Functions Catch puts it under `$.error`."""
    cause = {"errorType": error_type, "errorMessage": message, "stackTrace": ["  File ..."]}
    return {"Error": error_type, "Cause": json.dumps(cause)}


def manifest_after(*stages: str) -> dict[str, Any]:
    """The JSON manifest a stage function returned after `stages`, as the next state gets it."""
    report = StageReport(
        rows_in=40,
        rows_out=38,
        rows_quarantined=2,
        duration_seconds=1.0,
        checkpoint_uri="s3://checkpoints/x.parquet",
        reasons={"invalid_email": 2},
    )
    manifest = RunManifest.start("run-7", "s3://landing/incoming/customers 2026.csv")
    manifest = manifest.model_copy(update={"stages": dict.fromkeys(stages, report)})
    return manifest.model_dump(mode="json")


@pytest.fixture
def warehouse(tmp_path: Path) -> SqlWarehouse:
    database = SqlWarehouse(f"sqlite:///{tmp_path / 'warehouse.db'}")
    database.upgrade()
    return database


def report(
    event: dict[str, Any], warehouse: Any, notifier: RecordingNotifier | None = None
) -> tuple[RunManifest, Alert]:
    notifier = notifier or RecordingNotifier()
    failed = report_run_failure(
        event, notifier, lambda: warehouse, AlertsSettings(), read_start_event
    )
    [alert] = notifier.sent
    return failed, alert


@pytest.mark.parametrize(
    ("state_input", "stage"),
    [
        (START_EVENT, "extract"),
        (manifest_after("extract"), "transform"),
        (manifest_after("extract", "transform"), "enrich"),
        (manifest_after("extract", "transform", "enrich"), "load"),
    ],
)
def test_the_failed_stage_is_the_first_one_the_manifest_has_not_finished(
    state_input: dict[str, Any], stage: str, warehouse: SqlWarehouse
) -> None:
    event = {**state_input, "error": lambda_error("StageError", "the stage could not finish")}
    assert failed_manifest(event, read_start_event).next_stage() == stage
    _, alert = report(event, warehouse)
    assert f"failed in stage {stage} with StageError" in alert.body


def test_a_failed_extract_is_read_from_the_start_event_with_its_key_decoded(
    warehouse: SqlWarehouse,
) -> None:
    event = {**START_EVENT, "error": lambda_error("InputFileError", "the file is empty")}
    failed, _ = report(event, warehouse)
    assert failed.source_uri == "s3://landing/incoming/customers 2026.csv"
    assert failed.stages == {}


def test_our_error_makes_one_templated_alert_with_its_message_and_its_severity(
    warehouse: SqlWarehouse,
) -> None:
    event = {
        **manifest_after("extract", "transform", "enrich"),
        "error": lambda_error("WarehouseUnavailableError", "the warehouse did not answer"),
    }
    failed, alert = report(event, warehouse)
    assert alert.severity == "P2"
    assert alert.subject == "[P2] customer-etl run run-7 failed: WarehouseUnavailableError"
    assert "What happened: the warehouse did not answer" in alert.body
    assert "Rows in: 40; loaded: 0; quarantined: 6" in alert.body
    assert "invalid_email 6" in alert.body
    assert (failed.status, failed.error) == ("failed", "the warehouse did not answer")


def test_an_unexpected_errors_message_is_never_used(warehouse: SqlWarehouse) -> None:
    quoted = "jane.doe@example.com"
    event = {**manifest_after("extract"), "error": lambda_error("KeyError", f"'{quoted}'")}
    failed, alert = report(event, warehouse)
    assert alert.severity == "P1"  # an unforeseen error is a defect until shown otherwise
    assert alert.subject == "[P1] customer-etl run run-7 failed: KeyError"
    assert "unexpected KeyError in stage transform" in alert.body
    assert quoted not in alert.subject + alert.body + (failed.error or "")
    [row] = warehouse.runs_between(failed.started_at, failed.finished_at or failed.started_at)
    assert row.error is not None and quoted not in row.error


def test_a_cause_that_is_not_the_lambda_services_json_gives_the_error_name() -> None:
    timeout = {"Error": "States.Timeout", "Cause": "Task timed out after 900.00 seconds"}
    error = caught_error(timeout, "enrich")
    assert error.error_class == "States.Timeout"
    assert "unexpected States.Timeout in stage enrich" in error.message
    assert "900" not in error.message


def test_the_failed_run_gets_its_etl_runs_row(warehouse: SqlWarehouse) -> None:
    event = {**START_EVENT, "error": lambda_error("InputFileError", "the file is empty")}
    failed, _ = report(event, warehouse)
    assert failed.finished_at is not None
    [row] = warehouse.runs_between(failed.started_at, failed.finished_at)
    assert (row.run_id, row.status, row.error) == ("run-7", "failed", "the file is empty")
    assert row.source_file == "customers 2026.csv"


def test_a_warehouse_that_cannot_be_reached_does_not_stop_the_alert(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def unreachable() -> Warehouse:
        raise WarehouseUnavailableError("could not connect to the warehouse")

    notifier = RecordingNotifier()
    event = {**START_EVENT, "error": lambda_error("InputFileError", "the file is empty")}
    report_run_failure(event, notifier, unreachable, AlertsSettings(), read_start_event)

    [alert] = notifier.sent
    assert alert.subject == "[P3] customer-etl run run-7 failed: InputFileError"
    [logged] = [r for r in caplog.records if r.getMessage() == "could not record the failed run"]
    assert getattr(logged, "error_class", None) == "WarehouseUnavailableError"


def test_the_failed_run_counts_once_in_runs_failed_with_the_alarms_dimensions(
    warehouse: SqlWarehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    event = {**START_EVENT, "error": lambda_error("InputFileError", "the file is empty")}
    report(event, warehouse)
    emitted = [
        blob
        for line in capsys.readouterr().out.splitlines()
        for blob in [json.loads(line)]
        if "_aws" in blob
    ]
    [metric] = [
        (blob, directive)
        for blob in emitted
        for directive in blob["_aws"]["CloudWatchMetrics"]
        if metric_names.RUNS_FAILED in {m["Name"] for m in directive["Metrics"]}
    ]
    blob, directive = metric
    [dimensions] = directive["Dimensions"]
    assert {name: blob[name] for name in dimensions} == metric_names.RUN_DIMENSIONS
    assert blob[metric_names.RUNS_FAILED] in (1, 1.0, [1.0])
