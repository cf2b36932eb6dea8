"""The real ASL under moto's Step Functions interpreter, with the real handlers in-process:
the `aws` fixture (buckets, queues, topic, tables, secrets, a KMS key, the state machine, a
SQLite warehouse and the fake APIs) and what the cloud tests read back.

moto has no redrive. A redrive restarts a failed execution at its failed state with that
state's recorded input; it is modelled faithfully here: a state machine of the same
definition whose StartAt is the failed state, started with the input the failed execution's
history recorded for that state. (moto turns a failed Distributed Map item into `null` and
lets the Map succeed, so the failure surfaces at the completion after the Map, which finds
the chunk's report missing; the service fails at the Map itself, and the model starts there.)
"""

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

from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.reference.sample import Sample
from tests.fakes.lambda_invoke import (
    ACCOUNT,
    REGION,
    FakeLambdaContext,
    function_arn,
    handlers_in_process,
    load_handler,
)
from tests.fakes.postcodes_api import FakePostcodesApi, serve
from tests.integration.test_dynamodb_state import BREAKERS, CACHE, create_tables

REPO = Path(__file__).resolve().parents[1]
STAGES = ["extract", "transform", "enrich", "load"]
FUNCTIONS = STAGES
"""The functions the state machine invokes."""
LANDING, CHECKPOINTS = "landing-bucket", "checkpoint-bucket"
API_KEY = "integration-key"
CHUNK_ROWS = 25


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
        substitutions["CheckpointBucket"] = CHECKPOINTS
        for name, value in substitutions.items():
            definition = definition.replace("${" + name + "}", value)
        sfn = boto3.client("stepfunctions", region_name=REGION)
        machine = sfn.create_state_machine(
            name="customer-etl",
            definition=definition,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/customer-etl-states",
        )["stateMachineArn"]
        monkeypatch.setenv("CUSTOMER_ETL__AWS__STATE_MACHINE_ARN", machine)

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
                # Several chunks per file: the Distributed Maps fan them out.
                "CUSTOMER_ETL__PIPELINE__CHUNK_ROWS": str(CHUNK_ROWS),
            }.items():
                monkeypatch.setenv(name, value)
            yield {
                "s3": s3,
                "sqs": sqs,
                "sfn": sfn,
                "machine": machine,
                "definition": definition,
                "quarantine_url": quarantine_url,
                "alerts_url": alerts_url,
                "warehouse": warehouse,
                "api": api,
            }


def landed(aws: dict[str, Any], key: str, body: bytes) -> dict[str, Any]:
    """Put an object in the landing bucket; the start function's input for it."""
    aws["s3"].put_object(Bucket=LANDING, Key=key, Body=body)
    return {"bucket": LANDING, "key": key}


def execute_input(
    aws: dict[str, Any], state_input: dict[str, Any], name: str, machine: str | None = None
) -> dict[str, Any]:
    """Start the state machine on `state_input` and wait for its end."""
    with handlers_in_process(FUNCTIONS):
        arn = aws["sfn"].start_execution(
            stateMachineArn=machine or aws["machine"], name=name, input=json.dumps(state_input)
        )["executionArn"]
        deadline = time.monotonic() + 120
        while True:
            described: dict[str, Any] = aws["sfn"].describe_execution(executionArn=arn)
            if described["status"] != "RUNNING" or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    if described["status"] == "RUNNING":
        aws["sfn"].stop_execution(executionArn=arn)
    return described


def redrive(aws: dict[str, Any], failed: dict[str, Any], state: str, name: str) -> dict[str, Any]:
    """The model of a redrive: the same definition from `state`, with the input the failed
    execution's history recorded for it."""
    definition = json.loads(aws["definition"])
    definition["StartAt"] = state
    machine = aws["sfn"].create_state_machine(
        name=f"customer-etl-redrive-{name}",
        definition=json.dumps(definition),
        roleArn=f"arn:aws:iam::{ACCOUNT}:role/customer-etl-states",
    )["stateMachineArn"]
    return execute_input(aws, recorded_input(aws, failed, state), name, machine)


def status_event(result: dict[str, Any], redrive_count: int = 0) -> dict[str, Any]:
    """The "Step Functions Execution Status Change" event EventBridge delivers for `result`
    (moto's EventBridge never sees Step Functions), in the shape of the service's."""
    return {
        "source": "aws.states",
        "detail-type": "Step Functions Execution Status Change",
        "detail": {
            "executionArn": result["executionArn"],
            "stateMachineArn": result["stateMachineArn"],
            "name": result["name"],
            "status": result["status"],
            "input": result.get("input", "{}"),
            "error": result.get("error"),
            "cause": result.get("cause"),
            "redriveCount": redrive_count,
        },
    }


def run_status(event: dict[str, Any]) -> dict[str, Any]:
    handler = load_handler("run_status")
    return handler(event, FakeLambdaContext("customer-etl-run_status"))


def messages(aws: dict[str, Any], queue: str) -> list[str]:
    found: list[str] = []
    while (
        batch := aws["sqs"]
        .receive_message(QueueUrl=aws[queue], MaxNumberOfMessages=10)
        .get("Messages", [])
    ):
        found += [m["Body"] for m in batch]
        for m in batch:
            aws["sqs"].delete_message(QueueUrl=aws[queue], ReceiptHandle=m["ReceiptHandle"])
    return found


def personal_values(frame: Any) -> set[str]:
    return {
        value
        for column in ("email", "phone", "postcode", "last_name")
        for value in frame[column]
        if len(value) > 3
    }


def alerts(aws: dict[str, Any]) -> list[dict[str, Any]]:
    """The SNS notifications the alert topic delivered to its test queue."""
    return [json.loads(m) for m in messages(aws, "alerts_url")]


def run_rows(aws: dict[str, Any]) -> list[tuple[str, str, str | None, int]]:
    engine = create_engine(f"sqlite:///{aws['warehouse']}")
    with engine.connect() as connection:
        rows = connection.execute(
            text("select run_id, status, error, attempts from etl_runs")
        ).all()
    engine.dispose()
    return [(row.run_id, row.status, row.error, row.attempts) for row in rows]


def warehouse(aws: dict[str, Any], sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(f"sqlite:///{aws['warehouse']}")
    with engine.connect() as connection:
        rows = [tuple(row) for row in connection.execute(text(sql))]
    engine.dispose()
    return rows


def assert_clean_warehouse(aws: dict[str, Any], sample: Sample) -> None:
    """Row for row what a clean run of `sample` loads: every valid record once, one audit
    row each."""
    valid = sorted(sample.frame.drop(index=sample.defects.index)["customer_id"])
    loaded = warehouse(aws, "select customer_id from customers order by 1")
    assert [row[0] for row in loaded] == valid
    assert warehouse(aws, "select count(*), count(distinct customer_id) from customer_changes") == [
        (len(valid), len(valid))
    ]


def history(aws: dict[str, Any], result: dict[str, Any]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = aws["sfn"].get_execution_history(
        executionArn=result["executionArn"]
    )["events"]
    return events


def entered_states(aws: dict[str, Any], result: dict[str, Any]) -> list[str]:
    return [
        e["stateEnteredEventDetails"]["name"]
        for e in history(aws, result)
        if e["type"].endswith("StateEntered")
    ]


def recorded_input(aws: dict[str, Any], result: dict[str, Any], state: str) -> Any:
    [entered] = [
        e["stateEnteredEventDetails"]["input"]
        for e in history(aws, result)
        if e["type"].endswith("StateEntered") and e["stateEnteredEventDetails"]["name"] == state
    ]
    return json.loads(entered)


def chunk_reports(run_id: str) -> dict[str, Any]:
    """Every chunk report of the run in the checkpoint bucket, by key, with its ETag."""
    s3 = boto3.client("s3", region_name=REGION)
    listed = s3.list_objects_v2(Bucket=CHECKPOINTS, Prefix=f"runs/{run_id}/chunks/")
    return {item["Key"]: item["ETag"] for item in listed.get("Contents", [])}
