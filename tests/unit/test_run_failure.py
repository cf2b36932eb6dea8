"""How the cloud ends a failed run (run/failure.py): from the execution's status event and
the run's last manifest, the failed run's stage, its one templated alert, its `etl_runs`
row, its `run_failed` message and its one RunsFailed metric; and a recovery's notice."""

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
from customer_etl.core.ports import Alert, QuarantineBatch, Warehouse
from customer_etl.observability import metric_names
from customer_etl.run.failure import (
    ExecutionStatus,
    caught_error,
    last_manifest,
    report_recovery,
    report_run_failure,
)
from customer_etl.runtime.lambda_handlers import manifest_from_event

SOURCE = {"bucket": "landing", "key": "incoming/customers+2026.csv"}
read_start_event = partial(manifest_from_event, "extract")


class RecordingQuarantine:
    def __init__(self) -> None:
        self.failed_runs: list[tuple[Any, ...]] = []

    def writer(self, run_id: str, stage: str, schema: object) -> Any:
        raise AssertionError("a failed run writes no rows")

    def announce(self, run_id: str, stage: str, batch: QuarantineBatch) -> None:
        raise AssertionError("a failed run quarantines no rows")

    def announce_failed_run(self, *args: Any) -> None:
        self.failed_runs.append(args)


def status_of(error: dict[str, str] | None, status: str = "FAILED") -> ExecutionStatus:
    """The execution status event of run-7, as EventBridge delivers it."""
    return ExecutionStatus.from_event(
        {
            "detail": {
                "executionArn": "arn:aws:states:eu-west-2:1:execution:customer-etl:run-7",
                "name": "run-7",
                "status": status,
                "input": json.dumps(SOURCE),
                "error": (error or {}).get("Error"),
                "cause": (error or {}).get("Cause"),
            }
        }
    )


def failed_run(
    state: dict[str, Any] | None, error: dict[str, str] | None
) -> tuple[ExecutionStatus, RunManifest]:
    """The status event and the run's last manifest (None: extract had not finished)."""
    status = status_of(error)
    stored = json.dumps(state) if state is not None else None
    return status, last_manifest(status, stored, read_start_event)


class RecordingNotifier:
    def __init__(self) -> None:
        self.sent: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.sent.append(alert)


def lambda_error(error_type: str, message: str) -> dict[str, str]:
    """A stage's error as the failed execution reports it (`error`, `cause`)."""
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
    state: dict[str, Any] | None,
    error: dict[str, str],
    warehouse: Any,
    notifier: RecordingNotifier | None = None,
) -> tuple[RunManifest, Alert]:
    notifier = notifier or RecordingNotifier()
    status, manifest = failed_run(state, error)
    failed = report_run_failure(
        status, manifest, notifier, lambda: warehouse, AlertsSettings(), RecordingQuarantine()
    )
    [alert] = notifier.sent
    return failed, alert


@pytest.mark.parametrize(
    ("state", "stage"),
    [
        (None, "extract"),
        (manifest_after("extract"), "transform"),
        (manifest_after("extract", "transform"), "enrich"),
        (manifest_after("extract", "transform", "enrich"), "load"),
    ],
)
def test_the_failed_stage_is_the_first_one_the_last_manifest_has_not_finished(
    state: dict[str, Any] | None, stage: str, warehouse: SqlWarehouse
) -> None:
    error = lambda_error("StageError", "the stage could not finish")
    assert failed_run(state, error)[1].next_stage() == stage
    _, alert = report(state, error, warehouse)
    assert f"failed in stage {stage} with StageError" in alert.body


def test_a_failed_extract_is_read_from_the_start_event_with_its_key_decoded(
    warehouse: SqlWarehouse,
) -> None:
    failed, _ = report(None, lambda_error("InputFileError", "the file is empty"), warehouse)
    assert failed.source_uri == "s3://landing/incoming/customers 2026.csv"
    assert failed.stages == {}


def test_our_error_makes_one_templated_alert_with_its_message_and_its_severity(
    warehouse: SqlWarehouse,
) -> None:
    failed, alert = report(
        manifest_after("extract", "transform", "enrich"),
        lambda_error("WarehouseUnavailableError", "the warehouse did not answer"),
        warehouse,
    )
    assert alert.severity == "P2"
    assert alert.subject == "[P2] customer-etl run run-7 failed: WarehouseUnavailableError"
    assert "What happened: the warehouse did not answer" in alert.body
    assert "Rows in: 40; loaded: 0; quarantined: 6" in alert.body
    assert "invalid_email 6" in alert.body
    assert (failed.status, failed.error) == ("failed", "the warehouse did not answer")


def test_an_unexpected_errors_message_is_never_used(warehouse: SqlWarehouse) -> None:
    quoted = "jane.doe@example.com"
    failed, alert = report(
        manifest_after("extract"), lambda_error("KeyError", f"'{quoted}'"), warehouse
    )
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
    assert "ended States.Timeout in stage enrich" in error.message
    assert "900" not in error.message


def test_the_failed_run_gets_its_etl_runs_row(warehouse: SqlWarehouse) -> None:
    failed, _ = report(None, lambda_error("InputFileError", "the file is empty"), warehouse)
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
    status, manifest = failed_run(None, lambda_error("InputFileError", "the file is empty"))
    report_run_failure(
        status, manifest, notifier, unreachable, AlertsSettings(), RecordingQuarantine()
    )

    [alert] = notifier.sent
    assert alert.subject == "[P3] customer-etl run run-7 failed: InputFileError"
    [logged] = [r for r in caplog.records if r.getMessage() == "could not record the failed run"]
    assert getattr(logged, "error_class", None) == "WarehouseUnavailableError"


def test_the_failed_run_counts_once_in_runs_failed_with_the_alarms_dimensions(
    warehouse: SqlWarehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    report(None, lambda_error("InputFileError", "the file is empty"), warehouse)
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


def test_the_failed_run_leaves_how_to_redrive_it_on_the_quarantine_queue(
    warehouse: SqlWarehouse,
) -> None:
    quarantine = RecordingQuarantine()
    status, manifest = failed_run(
        manifest_after("extract"), lambda_error("StageError", "the stage could not finish")
    )
    report_run_failure(
        status, manifest, RecordingNotifier(), lambda: warehouse, AlertsSettings(), quarantine
    )
    [(run_id, stage, error_class, message, execution, state)] = quarantine.failed_runs
    assert (run_id, stage, error_class, state) == ("run-7", "transform", "StageError", "FAILED")
    assert message == "the stage could not finish"
    assert execution.endswith(":execution:customer-etl:run-7")


def test_a_redriven_success_records_its_attempts_and_sends_one_recovered_notice(
    warehouse: SqlWarehouse,
) -> None:
    _, manifest = failed_run(manifest_after("extract", "transform", "enrich", "load"), None)
    succeeded = ExecutionStatus.from_event(
        {"detail": {"name": "run-7", "status": "SUCCEEDED", "redriveCount": 2}}
    )
    notifier = RecordingNotifier()
    recovered = report_recovery(
        succeeded,
        manifest.model_copy(update={"status": "succeeded"}),
        notifier,
        lambda: warehouse,
        AlertsSettings(),
    )
    assert recovered is not None and recovered.attempts == 3
    [alert] = notifier.sent
    assert alert.subject == "[P3] customer-etl run run-7 recovered"
    assert "after 3 attempts" in alert.body
    [row] = warehouse.runs_between(manifest.started_at, manifest.started_at.replace(year=2100))
    assert (row.status, row.attempts) == ("succeeded", 3)


def test_a_first_time_success_is_no_recovery(warehouse: SqlWarehouse) -> None:
    _, manifest = failed_run(manifest_after("extract"), None)
    succeeded = ExecutionStatus.from_event({"detail": {"name": "run-7", "status": "SUCCEEDED"}})
    notifier = RecordingNotifier()
    assert (
        report_recovery(succeeded, manifest, notifier, lambda: warehouse, AlertsSettings()) is None
    )
    assert notifier.sent == []
