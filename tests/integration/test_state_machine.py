"""The pipeline in the cloud, end to end: chunked runs, failures at the task, status events,
duplicate and replaced uploads, redrive (tests/state_machine_harness.py models it)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.core.errors import WarehouseSchemaError
from customer_etl.reference.sample import generate_customers
from tests.fakes.lambda_invoke import ACCOUNT, REGION, FakeLambdaContext, load_handler
from tests.fakes.postcodes_api import company_profile
from tests.state_machine_harness import (
    CHECKPOINTS,
    LANDING,
    STAGES,
    alerts,
    assert_clean_warehouse,
    chunk_reports,
    entered_states,
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


def test_an_uploaded_csv_runs_chunk_by_chunk_and_reaches_the_warehouse(
    aws: dict[str, Any],
) -> None:
    sample = generate_customers(rows=120, seed=11, defect_rate=0.1)
    valid = sample.frame.drop(index=sample.defects.index)
    first_company = sorted(n for n in valid["company_number"] if n)[0]
    aws["api"].companies = {first_company: company_profile()}
    # S3 event keys arrive URL-encoded: a space is '+'.
    source = landed(aws, "incoming/customers 2026.csv", sample.frame.to_csv(index=False).encode())

    result = execute_input(aws, source | {"key": "incoming/customers+2026.csv"}, name="run-ok")

    assert result["status"] == "SUCCEEDED", result
    manifest = json.loads(result["output"])
    assert manifest["status"] == "succeeded"
    assert manifest["chunks"] == 5
    assert set(manifest["stages"]) == set(STAGES)
    for stage in STAGES:
        assert manifest["stages"][stage]["chunks"] == 5
        assert manifest["stages"][stage]["checkpoint_uri"] == (
            f"s3://{CHECKPOINTS}/runs/run-ok/{stage}/"
        )
    # Every Map item's work is checked by the completion after it: each chunk has a report.
    assert len(chunk_reports("run-ok")) == 4 * 5
    states = entered_states(aws, result)
    for name in ("Extract", "TransformChunks", "Transformed", "EnrichChunks", "Loaded"):
        assert name in states
    rows_quarantined = sum(s["rows_quarantined"] for s in manifest["stages"].values())
    assert rows_quarantined == len(sample.defects)
    loaded = manifest["stages"]["load"]["rows_out"]
    assert loaded + rows_quarantined == 120
    document = aws["s3"].get_object(Bucket=CHECKPOINTS, Key="runs/run-ok/classification.json")
    classes = {c["column"]: c["data_class"] for c in json.loads(document["Body"].read())["columns"]}
    assert classes["email"] == "email" and classes["customer_id"] is None
    assert warehouse(aws, "select count(*) from customers") == [(loaded,)]
    assert run_rows(aws) == [("run-ok", "succeeded", None, 1)]
    assert warehouse(aws, "select count(*), count(distinct customer_id) from customer_changes") == [
        (loaded, loaded)
    ]
    enriched = warehouse(
        aws,
        f"select company_enrichment_source from customers where company_number = '{first_company}'",
    )
    assert enriched == [("companies_house",)]
    apis = manifest["stages"]["enrich"]["apis"]
    assert apis["companies_house"]["successes"] >= 1
    assert apis["postcodes.io"]["calls"] >= 1
    notices = [json.loads(m) for m in messages(aws, "quarantine_url")]
    assert {n["kind"] for n in notices} == {"rows_quarantined"}
    assert sum(n["rows"] for n in notices if n["stage"] == "transform") == len(sample.defects)
    text_seen = json.dumps(notices) + result["output"]
    assert not [v for v in personal_values(sample.frame) if v in text_seen]
    # A success that needed no redrive is no recovery: nothing is sent.
    assert run_status(status_event(result)) == {"run_id": "run-ok", "action": "none"}
    assert not [a for a in alerts(aws) if "recovered" in a["Subject"]]


def test_a_failing_stage_fails_the_execution_at_that_stage_and_the_status_event_alerts_once(
    aws: dict[str, Any],
) -> None:
    sample = generate_customers(rows=20, seed=3, defect_rate=0.0)
    without_email = sample.frame.drop(columns=["email"]).to_csv(index=False).encode()
    source = landed(aws, "incoming/bad.csv", without_email)

    result = execute_input(aws, source, name="run-bad")

    assert result["status"] == "FAILED"
    assert entered_states(aws, result) == ["Extract"]  # failed at the task: no Catch path
    assert result["error"] == "InputFileError"

    assert run_status(status_event(result)) == {"run_id": "run-bad", "action": "recorded_failure"}

    [notice] = [json.loads(m) for m in messages(aws, "quarantine_url")]
    assert (notice["kind"], notice["run_id"], notice["status"]) == (
        "run_failed",
        "run-bad",
        "FAILED",
    )
    assert notice["stage"] == "extract"
    assert notice["error_class"] == "InputFileError"
    assert "lacks required column(s) email" in notice["error"]
    assert "redrive-execution" in notice["recovery"]
    # One alert, the template's: severity (InputFileError is P3), run id and error class in
    # the subject, the stage and our error's own message in the body.
    [alert] = alerts(aws)
    assert alert["Subject"] == "[P3] customer-etl run run-bad failed: InputFileError"
    assert "Run run-bad failed in stage extract with InputFileError." in alert["Message"]
    assert "lacks required column(s) email" in alert["Message"]
    assert "incident-response.md#inputfileerror" in alert["Message"]
    assert alert["MessageAttributes"]["severity"]["Value"] == "P3"
    [(run_id, status, error, attempts)] = run_rows(aws)
    assert (run_id, status, attempts) == ("run-bad", "failed", 1)
    assert error is not None and "lacks required column(s) email" in error
    text_seen = json.dumps(notice) + json.dumps(alert) + (error or "")
    assert not [
        v
        for v in personal_values(sample.frame.drop(columns=["email"]).assign(email=""))
        if v in text_seen
    ]


@pytest.mark.parametrize(
    ("status", "error_class"), [("TIMED_OUT", "States.Timeout"), ("ABORTED", "ExecutionAborted")]
)
def test_a_timed_out_or_aborted_execution_is_recorded_and_alerted_too(
    aws: dict[str, Any], status: str, error_class: str
) -> None:
    event = {
        "detail": {
            "executionArn": f"arn:aws:states:{REGION}:{ACCOUNT}:execution:customer-etl:run-x",
            "name": "run-x",
            "status": status,
            "input": json.dumps({"bucket": LANDING, "key": "incoming/x.csv"}),
            "error": None,
            "cause": None,
        }
    }
    assert run_status(event)["action"] == "recorded_failure"
    [alert] = alerts(aws)
    assert alert["Subject"].endswith(f"customer-etl run run-x failed: {error_class}")
    assert run_rows(aws)[0][:2] == ("run-x", "failed")


def test_an_unexpected_error_is_alerted_by_its_class_without_its_message(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = generate_customers(rows=20, seed=5, defect_rate=0.0)
    source = landed(aws, "incoming/ok.csv", sample.frame.to_csv().encode())
    secret = str(sample.frame["email"].iloc[0])

    def boom(*_: Any, **__: Any) -> Any:
        raise KeyError(f"no such customer {secret}")  # a message that quotes a value

    monkeypatch.setattr("customer_etl.runtime.lambda_handlers.run_extract", boom)
    result = execute_input(aws, source, name="run-boom")

    assert result["status"] == "FAILED"
    run_status(status_event(result))
    [alert] = alerts(aws)
    # The function answers with a stand-in error: its message names the class, not the value.
    assert alert["Subject"] == "[P1] customer-etl run run-boom failed: UnexpectedStageError"
    assert "unexpected KeyError in stage extract" in alert["Message"]
    [(_, status, error, _)] = run_rows(aws)
    assert status == "failed"
    [notice] = messages(aws, "quarantine_url")
    assert "UnexpectedStageError" in notice
    seen = (
        json.dumps(alert) + (error or "") + notice + json.dumps(history(aws, result), default=str)
    )
    assert secret not in seen


def test_the_same_landed_object_delivered_twice_starts_one_run_and_a_new_version_another(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A state machine that ends at once: what is under test is Step Functions' uniqueness of
    # execution names, which the start function relies on.
    quick = aws["sfn"].create_state_machine(
        name="quick",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/customer-etl-states",
    )["stateMachineArn"]
    monkeypatch.setenv("CUSTOMER_ETL__AWS__STATE_MACHINE_ARN", quick)
    start = load_handler("start")
    context = FakeLambdaContext("customer-etl-start")

    def event(version: str) -> dict[str, Any]:
        return {
            "source": "aws.s3",
            "detail-type": "Object Created",
            "detail": {
                "bucket": {"name": LANDING},
                "object": {"key": "incoming/twice.csv", "version-id": version, "etag": "e"},
            },
        }

    first = start(event("v1"), context)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(
        e["status"] == "RUNNING"
        for e in aws["sfn"].list_executions(stateMachineArn=quick)["executions"]
    ):
        time.sleep(0.05)
    again = start(event("v1"), context)
    newer = start(event("v2"), context)

    assert first["started"] is True
    assert again == first | {"started": False}
    assert newer["started"] is True and newer["run_id"] != first["run_id"]
    executions = aws["sfn"].list_executions(stateMachineArn=quick)["executions"]
    assert sorted(e["name"] for e in executions) == sorted([first["run_id"], newer["run_id"]])
    described = aws["sfn"].describe_execution(executionArn=executions[0]["executionArn"])
    assert json.loads(described["input"])["bucket"] == LANDING


def test_a_run_reads_the_version_it_was_started_for_even_after_the_key_is_replaced(
    aws: dict[str, Any],
) -> None:
    aws["s3"].put_bucket_versioning(Bucket=LANDING, VersioningConfiguration={"Status": "Enabled"})
    first = generate_customers(rows=30, seed=1, defect_rate=0.0).frame
    put = aws["s3"].put_object(
        Bucket=LANDING, Key="incoming/v.csv", Body=first.to_csv(index=False).encode()
    )
    second = generate_customers(rows=10, seed=2, defect_rate=0.0).frame
    aws["s3"].put_object(
        Bucket=LANDING, Key="incoming/v.csv", Body=second.to_csv(index=False).encode()
    )

    source = {"bucket": LANDING, "key": "incoming/v.csv", "version_id": put["VersionId"]}
    result = execute_input(aws, source, name="run-version")

    assert result["status"] == "SUCCEEDED", result
    manifest = json.loads(result["output"])
    assert manifest["stages"]["extract"]["rows_in"] == 30
    assert manifest["file"]["version"] == put["VersionId"]
    assert warehouse(aws, "select count(*) from customers") == [(30,)]


def test_an_object_replaced_in_a_bucket_without_versions_is_refused_not_mixed(
    aws: dict[str, Any],
) -> None:
    first = generate_customers(rows=30, seed=1, defect_rate=0.0).frame
    put = aws["s3"].put_object(
        Bucket=LANDING, Key="incoming/e.csv", Body=first.to_csv(index=False).encode()
    )
    second = generate_customers(rows=10, seed=2, defect_rate=0.0).frame
    aws["s3"].put_object(
        Bucket=LANDING, Key="incoming/e.csv", Body=second.to_csv(index=False).encode()
    )

    source = {"bucket": LANDING, "key": "incoming/e.csv", "version_id": put["ETag"]}
    result = execute_input(aws, source, name="run-replaced")

    assert result["status"] == "FAILED"
    assert result["error"] == "InputChangedError"
    assert warehouse(aws, "select count(*) from customers") == [(0,)]


# The stages and chunks the redrive passes through publish no figures again.
@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_a_redrive_after_a_chunk_failed_to_load_runs_only_that_chunk_and_completes_the_run(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = generate_customers(rows=100, seed=7, defect_rate=0.1)
    source = landed(aws, "incoming/load.csv", sample.frame.to_csv(index=False).encode())
    loads: list[int | None] = []
    original = SqlWarehouse.loading

    def counted(self: SqlWarehouse, run_id: str, chunk: int | None = None) -> Any:
        loads.append(chunk)
        return original(self, run_id, chunk)

    def chunk_two_fails(self: SqlWarehouse, run_id: str, chunk: int | None = None) -> Any:
        if chunk == 2:
            raise WarehouseSchemaError("the warehouse schema is not current: run db upgrade")
        return counted(self, run_id, chunk)

    with pytest.MonkeyPatch.context() as broken:
        broken.setattr(SqlWarehouse, "loading", chunk_two_fails)
        failed = execute_input(aws, source, name="run-load")

    assert failed["status"] == "FAILED"
    assert failed["error"] == "ChunkMissingError"
    # (A chunk may load twice: SQLite's one writer makes concurrent loads retry.)
    assert {c for c in loads if c is not None} == {0, 1, 3}
    assert run_status(status_event(failed))["action"] == "recorded_failure"
    assert run_rows(aws)[0][:2] == ("run-load", "failed")
    [alert] = [a for a in alerts(aws) if " failed: " in a["Subject"]]
    assert "redrive" in alert["Message"]
    reports_before = chunk_reports("run-load")
    loads.clear()
    monkeypatch.setattr(SqlWarehouse, "loading", counted)

    redriven = redrive(aws, failed, "LoadChunks", name="run-load-redrive")

    assert redriven["status"] == "SUCCEEDED", redriven
    assert {c for c in loads if c is not None} == {2}, "only the chunk that had failed loads"
    after = chunk_reports("run-load")
    assert {k: v for k, v in after.items() if k in reports_before} == reports_before
    assert set(after) - set(reports_before) == {"runs/run-load/chunks/load-00002.json"}
    manifest = json.loads(redriven["output"])
    assert manifest["run_id"] == "run-load"
    loaded = manifest["stages"]["load"]["rows_out"]
    quarantined = sum(s["rows_quarantined"] for s in manifest["stages"].values())
    assert loaded + quarantined == 100 and quarantined == len(sample.defects)
    assert_clean_warehouse(aws, sample)
    # The redriven execution's success: the run's row says so, with its attempts, and one
    # "recovered" notice goes out.
    assert run_status(status_event(redriven | {"name": "run-load"}, redrive_count=1)) == {
        "run_id": "run-load",
        "action": "recovered",
    }
    assert run_rows(aws) == [("run-load", "succeeded", None, 2)]
    [notice] = [a for a in alerts(aws) if "recovered" in a["Subject"]]
    assert notice["Subject"] == "[P3] customer-etl run run-load recovered"
