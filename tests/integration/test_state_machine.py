"""The real ASL under moto's Step Functions interpreter, with the real handlers in-process."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from sqlalchemy import create_engine, text

from customer_etl.adapters.aws import S3CheckpointStore
from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.core.errors import WarehouseSchemaError
from customer_etl.reference.sample import generate_customers
from tests.fakes.lambda_invoke import ACCOUNT, REGION, function_arn, handlers_in_process
from tests.fakes.postcodes_api import FakePostcodesApi, company_profile, serve
from tests.integration.test_dynamodb_state import BREAKERS, CACHE, create_tables

REPO = Path(__file__).resolve().parents[2]
STAGES = ["extract", "transform", "enrich", "load"]
FUNCTIONS = [*STAGES, "run_failed"]
"""The functions the state machine invokes: the stages and, at the end of its Catch path,
the run-failed function."""
LANDING, CHECKPOINTS = "landing-bucket", "checkpoint-bucket"
API_KEY = "integration-key"


@pytest.fixture
def aws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        s3 = boto3.client("s3", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        sns = boto3.client("sns", region_name=REGION)
        for bucket in (LANDING, CHECKPOINTS):
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
            )
        quarantine_url = sqs.create_queue(QueueName="quarantine")["QueueUrl"]
        alerts_url = sqs.create_queue(QueueName="alert-inbox")["QueueUrl"]
        alerts_arn = sqs.get_queue_attributes(QueueUrl=alerts_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        topic_arn = sns.create_topic(Name="alerts")["TopicArn"]
        create_tables(boto3.client("dynamodb", region_name=REGION))
        # dev.yaml names this secret; the enrich function reads it.
        boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name="customer-etl/dev/companies-house", SecretString=API_KEY
        )
        # The stack gives each function its KMS key; dev.yaml names the blind-index secret
        # and the masking key (dev masks personal data).
        kms_key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["Arn"]
        secrets = boto3.client("secretsmanager", region_name=REGION)
        secrets.create_secret(Name="customer-etl/dev/blind-index-key", SecretString="b" * 48)
        secrets.create_secret(Name="customer-etl/dev/masking-key", SecretString="m" * 48)
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=alerts_arn)

        definition = (REPO / "statemachine" / "pipeline.asl.json").read_text()
        substitutions = {f"{s.capitalize()}FunctionArn": function_arn(s) for s in STAGES}
        substitutions |= {
            "RunFailedFunctionArn": function_arn("run_failed"),
            "QuarantineQueueUrl": quarantine_url,
            "AlertTopicArn": topic_arn,
        }
        for name, value in substitutions.items():
            definition = definition.replace("${" + name + "}", value)
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machine = sfn.create_state_machine(
            name="customer-etl",
            definition=definition,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/customer-etl-states",
        )["stateMachineArn"]

        warehouse = tmp_path / "warehouse.db"
        # A shared warehouse is upgraded by the deployment, not by the functions.
        SqlWarehouse(f"sqlite:///{warehouse}").upgrade()
        with serve(FakePostcodesApi(api_key=API_KEY)) as api:
            for name, value in {
                "CUSTOMER_ETL_ENV": "dev",
                "CUSTOMER_ETL_CONFIG_DIR": str(REPO / "config"),
                "CUSTOMER_ETL__WAREHOUSE__URL": f"sqlite:///{warehouse}",
                "CUSTOMER_ETL__WAREHOUSE__PASSWORD_REF": "null",
                "CUSTOMER_ETL__ENRICHMENT__POSTCODES__BASE_URL": api.base_url,
                "CUSTOMER_ETL__ENRICHMENT__COMPANIES_HOUSE__BASE_URL": api.base_url,
                "CUSTOMER_ETL__AWS__ENRICHMENT_CACHE_TABLE": CACHE,
                "CUSTOMER_ETL__AWS__CIRCUIT_BREAKER_TABLE": BREAKERS,
                "CUSTOMER_ETL__AWS__CHECKPOINT_BUCKET": CHECKPOINTS,
                "CUSTOMER_ETL__AWS__QUARANTINE_QUEUE_URL": quarantine_url,
                "CUSTOMER_ETL__AWS__ALERT_TOPIC_ARN": topic_arn,
                "CUSTOMER_ETL__ENCRYPTION__KMS_KEY_ID": kms_key,
                # The samples here are 10% defective, above the default max_bad_ratio.
                "CUSTOMER_ETL__QUALITY__MAX_BAD_RATIO": "0.2",
            }.items():
                monkeypatch.setenv(name, value)
            yield {
                "s3": s3,
                "sqs": sqs,
                "sfn": sfn,
                "machine": machine,
                "quarantine_url": quarantine_url,
                "alerts_url": alerts_url,
                "warehouse": warehouse,
                "api": api,
            }


def execute(aws: dict[str, Any], key: str, name: str) -> dict[str, Any]:
    """Start the state machine on an S3 'Object Created' event and wait for its end."""
    event = {
        "detail-type": "Object Created",
        "source": "aws.s3",
        "detail": {"bucket": {"name": LANDING}, "object": {"key": key}},
    }
    return execute_input(aws, event, name)


def execute_input(aws: dict[str, Any], state_input: dict[str, Any], name: str) -> dict[str, Any]:
    """Start the state machine on `state_input` and wait for its end."""
    with handlers_in_process(FUNCTIONS):
        arn = aws["sfn"].start_execution(
            stateMachineArn=aws["machine"], name=name, input=json.dumps(state_input)
        )["executionArn"]
        deadline = time.monotonic() + 60
        while True:
            described: dict[str, Any] = aws["sfn"].describe_execution(executionArn=arn)
            if described["status"] != "RUNNING" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    if described["status"] == "RUNNING":
        aws["sfn"].stop_execution(executionArn=arn)
    return described


def messages(aws: dict[str, Any], queue: str) -> list[str]:
    found = aws["sqs"].receive_message(QueueUrl=aws[queue], MaxNumberOfMessages=10)
    return [m["Body"] for m in found.get("Messages", [])]


def personal_values(frame: Any) -> set[str]:
    return {
        value
        for column in ("email", "phone", "postcode", "last_name")
        for value in frame[column]
        if len(value) > 3
    }


def test_an_uploaded_csv_runs_every_stage_and_reaches_the_warehouse(
    aws: dict[str, Any], tmp_path: Path
) -> None:
    sample = generate_customers(rows=300, seed=11, defect_rate=0.1)
    valid = sample.frame.drop(index=sample.defects.index)
    first_company = sorted(n for n in valid["company_number"] if n)[0]
    aws["api"].companies = {first_company: company_profile()}
    body = sample.frame.to_csv(index=False).encode()
    aws["s3"].put_object(Bucket=LANDING, Key="incoming/customers 2026.csv", Body=body)

    # S3 event keys arrive URL-encoded: a space is '+'.
    result = execute(aws, "incoming/customers+2026.csv", name="run-ok")

    assert result["status"] == "SUCCEEDED", result
    manifest = json.loads(result["output"])
    assert manifest["status"] == "succeeded"
    assert set(manifest["stages"]) == set(STAGES)
    rows_quarantined = sum(s["rows_quarantined"] for s in manifest["stages"].values())
    assert rows_quarantined == len(sample.defects)
    loaded = manifest["stages"]["load"]["rows_out"]
    assert loaded + rows_quarantined == 300
    # The classification report lies beside the run's checkpoints.
    document = aws["s3"].get_object(Bucket=CHECKPOINTS, Key="runs/run-ok/classification.json")
    classes = {c["column"]: c["data_class"] for c in json.loads(document["Body"].read())["columns"]}
    assert classes["email"] == "email" and classes["customer_id"] is None
    engine = create_engine(f"sqlite:///{aws['warehouse']}")
    with engine.connect() as connection:
        assert connection.execute(text("select count(*) from customers")).scalar_one() == loaded
        assert connection.execute(text("select status from etl_runs")).scalars().all() == [
            "succeeded"
        ]
        enriched = connection.execute(
            text("select company_enrichment_source from customers where company_number = :n"),
            {"n": first_company},
        ).scalars()
        assert set(enriched) == {"companies_house"}
    apis = manifest["stages"]["enrich"]["apis"]
    assert apis["companies_house"]["successes"] >= 1
    assert apis["postcodes.io"]["calls"] >= 1
    cached = boto3.client("dynamodb", region_name=REGION).scan(TableName=CACHE)["Count"]
    assert cached > 0, "the answers are kept for the next run"
    for stage in STAGES:
        assert manifest["stages"][stage]["checkpoint_uri"].startswith(
            f"s3://{CHECKPOINTS}/runs/run-ok/"
        )
    notices = [json.loads(m) for m in messages(aws, "quarantine_url")]
    assert [(n["kind"], n["stage"], n["rows"]) for n in notices] == [
        ("rows_quarantined", "transform", len(sample.defects))
    ]
    quarantine_key = notices[0]["uri"].split(f"{CHECKPOINTS}/", 1)[1]
    assert aws["s3"].head_object(Bucket=CHECKPOINTS, Key=quarantine_key)["ContentLength"] > 0
    text_seen = json.dumps(notices) + result["output"]
    assert not [v for v in personal_values(sample.frame) if v in text_seen]


def alerts(aws: dict[str, Any]) -> list[dict[str, Any]]:
    """The SNS notifications the alert topic delivered to its test queue."""
    return [json.loads(m) for m in messages(aws, "alerts_url")]


def run_rows(aws: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    engine = create_engine(f"sqlite:///{aws['warehouse']}")
    with engine.connect() as connection:
        rows = connection.execute(text("select run_id, status, error from etl_runs")).all()
    engine.dispose()
    return [(row.run_id, row.status, row.error) for row in rows]


def entered_states(aws: dict[str, Any], result: dict[str, Any]) -> list[str]:
    history = aws["sfn"].get_execution_history(executionArn=result["executionArn"])["events"]
    return [
        e["stateEnteredEventDetails"]["name"] for e in history if e["type"].endswith("StateEntered")
    ]


def test_a_failing_stage_ends_in_the_catch_path_with_a_quarantine_message_and_one_templated_alert(
    aws: dict[str, Any],
) -> None:
    sample = generate_customers(rows=20, seed=3, defect_rate=0.0)
    without_email = sample.frame.drop(columns=["email"]).to_csv(index=False).encode()
    aws["s3"].put_object(Bucket=LANDING, Key="incoming/bad.csv", Body=without_email)

    result = execute(aws, "incoming/bad.csv", name="run-bad")

    assert result["status"] == "FAILED"
    assert entered_states(aws, result)[-3:] == ["QuarantineFailure", "NotifyRunFailed", "Failed"]
    [notice] = [json.loads(m) for m in messages(aws, "quarantine_url")]
    assert notice["kind"] == "run_failed"
    assert notice["run_id"] == "run-bad"
    assert notice["error"] == "InputFileError"
    assert "lacks required column(s) email" in notice["cause"]
    # One alert, the template's: severity (InputFileError is P3), run id and error class in
    # the subject, the stage and our error's own message in the body, and the severity as
    # a message attribute for the subscriptions' filter policies.
    [alert] = alerts(aws)
    assert alert["Subject"] == "[P3] customer-etl run run-bad failed: InputFileError"
    assert "Run run-bad failed in stage extract with InputFileError." in alert["Message"]
    assert "lacks required column(s) email" in alert["Message"]
    assert "incident-response.md#inputfileerror" in alert["Message"]
    assert alert["MessageAttributes"]["severity"]["Value"] == "P3"
    # The failed extract has its etl_runs row, so the period report counts the failure.
    [(run_id, status, error)] = run_rows(aws)
    assert (run_id, status) == ("run-bad", "failed")
    assert error is not None and "lacks required column(s) email" in error
    text_seen = json.dumps(notice) + json.dumps(alert) + (error or "")
    assert not [
        v
        for v in personal_values(sample.frame.drop(columns=["email"]).assign(email=""))
        if v in text_seen
    ]


def test_an_unexpected_error_is_alerted_by_its_class_without_its_message(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = generate_customers(rows=20, seed=5, defect_rate=0.0)
    aws["s3"].put_object(Bucket=LANDING, Key="incoming/ok.csv", Body=sample.frame.to_csv().encode())
    secret = str(sample.frame["email"].iloc[0])

    def boom(*_: Any, **__: Any) -> Any:
        raise KeyError(f"no such customer {secret}")  # a message that quotes a value

    monkeypatch.setattr("customer_etl.runtime.lambda_handlers.run_stage", boom)
    result = execute(aws, "incoming/ok.csv", name="run-boom")

    assert result["status"] == "FAILED"
    [alert] = alerts(aws)
    # The function answers with a stand-in error: its message names the class, not the value.
    assert alert["Subject"] == "[P1] customer-etl run run-boom failed: UnexpectedStageError"
    assert "unexpected KeyError in stage extract" in alert["Message"]
    [(_, status, error)] = run_rows(aws)
    assert status == "failed"
    [notice] = messages(aws, "quarantine_url")
    assert "UnexpectedStageError" in notice
    history = aws["sfn"].get_execution_history(executionArn=result["executionArn"])
    assert secret not in json.dumps(alert) + (error or "") + notice + json.dumps(
        history, default=str
    )


def test_when_the_run_failed_function_fails_the_fixed_alert_still_goes_out(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    aws["s3"].put_object(Bucket=LANDING, Key="incoming/empty.csv", Body=b"")

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("the run-failed function is broken")

    monkeypatch.setattr("customer_etl.runtime.lambda_handlers.report_run_failure", broken)
    result = execute(aws, "incoming/empty.csv", name="run-fallback")

    assert result["status"] == "FAILED"
    assert entered_states(aws, result)[-3:] == ["NotifyRunFailed", "FallbackAlert", "Failed"]
    [alert] = alerts(aws)
    assert alert["Subject"] == "customer-etl run failed"
    assert "customer-etl run run-fallback failed with InputFileError" in alert["Message"]


def checkpoint_writes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The stages that write their checkpoint from now on: every stage that runs does, a
    stage the manifest shows as done does not."""
    writes: list[str] = []
    original = S3CheckpointStore.writer

    def recording(store: S3CheckpointStore, run_id: str, stage: str, schema: object) -> Any:
        writes.append(stage)
        return original(store, run_id, stage, schema)

    monkeypatch.setattr(S3CheckpointStore, "writer", recording)
    return writes


def run_failed_notices(aws: dict[str, Any]) -> list[dict[str, Any]]:
    """The quarantine queue's failed-run messages (it also has the stages' row notices)."""
    notices = [json.loads(m) for m in messages(aws, "quarantine_url")]
    return [n for n in notices if n["kind"] == "run_failed"]


def failed_state_input(aws: dict[str, Any], result: dict[str, Any], state: str) -> Any:
    history = aws["sfn"].get_execution_history(executionArn=result["executionArn"])["events"]
    [entered] = [
        e["stateEnteredEventDetails"]["input"]
        for e in history
        if e["type"].endswith("StateEntered") and e["stateEnteredEventDetails"]["name"] == state
    ]
    return json.loads(entered)


# The stages the resume passes through publish no figures again, and Powertools says so.
@pytest.mark.filterwarnings("ignore:No application metrics to publish")
def test_a_run_that_failed_in_load_resumes_in_a_new_execution_without_redoing_its_stages(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = generate_customers(rows=60, seed=7, defect_rate=0.1)
    aws["s3"].put_object(
        Bucket=LANDING, Key="incoming/load.csv", Body=sample.frame.to_csv(index=False)
    )
    writes = checkpoint_writes(monkeypatch)

    def not_upgraded(*_: Any, **__: Any) -> Any:
        raise WarehouseSchemaError("the warehouse schema is not current: run db upgrade")

    with pytest.MonkeyPatch.context() as broken:
        broken.setattr(SqlWarehouse, "loading", not_upgraded)
        failed = execute(aws, "incoming/load.csv", name="run-load")

    assert failed["status"] == "FAILED"
    assert entered_states(aws, failed)[-4:] == [
        "Load",
        "QuarantineFailure",
        "NotifyRunFailed",
        "Failed",
    ]
    assert run_rows(aws)[0][:2] == ("run-load", "failed")
    # The quarantine message carries what to resume with: the failed state's input, the
    # manifest the execution history shows Load was given, the caught error in place of the
    # manifest's own `error` (None while a run is running).
    [notice] = run_failed_notices(aws)
    assert (notice["run_id"], notice["execution"], notice["error"]) == (
        "run-load",
        "run-load",
        "WarehouseSchemaError",
    )
    resume_input = notice["resume_input"]
    assert resume_input["error"]["Error"] == "WarehouseSchemaError"
    load_input = failed_state_input(aws, failed, "Load")
    assert resume_input | {"error": None} == load_input
    assert set(load_input["stages"]) == {"extract", "transform", "enrich"}
    writes.clear()

    # Passed on as the message holds it, caught error included; a new execution name.
    resumed = execute_input(aws, resume_input, name="run-load-resume-1")

    assert resumed["status"] == "SUCCEEDED", resumed
    assert entered_states(aws, resumed)[:2] == ["StartOrResume", "Extract"]
    assert writes == ["load/chunk-00000"], "only the stage that had not finished ran"
    manifest = json.loads(resumed["output"])
    assert manifest["run_id"] == "run-load"
    assert (manifest["status"], manifest["error"]) == ("succeeded", None)
    for stage in ("extract", "transform", "enrich"):
        assert manifest["stages"][stage] == load_input["stages"][stage]
    loaded = manifest["stages"]["load"]["rows_out"]
    quarantined = sum(s["rows_quarantined"] for s in manifest["stages"].values())
    assert loaded + quarantined == 60 and quarantined == len(sample.defects)
    engine = create_engine(f"sqlite:///{aws['warehouse']}")
    with engine.connect() as connection:
        assert connection.execute(text("select count(*) from customers")).scalar_one() == loaded
    engine.dispose()
    # The resume's success replaced the failed run's row: one row, under the run's own id.
    assert run_rows(aws) == [("run-load", "succeeded", None)]


def test_a_run_that_failed_in_extract_resumes_under_its_own_run_id(
    aws: dict[str, Any],
) -> None:
    sample = generate_customers(rows=20, seed=3, defect_rate=0.0)
    without_email = sample.frame.drop(columns=["email"]).to_csv(index=False).encode()
    aws["s3"].put_object(Bucket=LANDING, Key="incoming/fixed.csv", Body=without_email)
    failed = execute(aws, "incoming/fixed.csv", name="run-extract")
    assert failed["status"] == "FAILED"
    [notice] = run_failed_notices(aws)
    # Extract's input is the first manifest's run id, bucket and key: no stage had finished.
    assert {k: v for k, v in notice["resume_input"].items() if k != "error"} == {
        "run_id": "run-extract",
        "bucket": LANDING,
        "key": "incoming/fixed.csv",
    }
    aws["s3"].put_object(
        Bucket=LANDING, Key="incoming/fixed.csv", Body=sample.frame.to_csv(index=False)
    )

    resumed = execute_input(aws, notice["resume_input"], name="run-extract-resume-1")

    assert resumed["status"] == "SUCCEEDED", resumed
    assert "BuildManifest" not in entered_states(aws, resumed)
    manifest = json.loads(resumed["output"])
    assert manifest["run_id"] == "run-extract"
    assert manifest["stages"]["load"]["rows_out"] == 20
    assert run_rows(aws) == [("run-extract", "succeeded", None)]
