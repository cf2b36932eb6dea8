"""The synthesised CloudFormation of every environment: what each construct must produce.

Most tests take the session fixture `synth`, parametrised over dev, staging and prod, so each
assertion holds for every environment. Nothing here runs pip, Docker or a network call.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_sqs as sqs
from aws_cdk.assertions import Annotations, Match, Template

from customer_etl.config import ConfigError
from customer_etl.config.encryption import KMS_KEY_VARIABLE
from infra import app as app_module
from infra.app import DeploymentEnvironmentError, build, skip_bundling_if_asked
from infra.constructs.functions import (
    FUNCTION_NAMES,
    PIPELINE_FUNCTIONS,
    RUN_STATUS,
    SMALL_FUNCTIONS,
    STAGES,
    START,
    SUBJECT_REQUEST,
    PipLayerBundling,
    aws_sdk_pandas_layer_arn,
)
from tests.cloudformation import flatten

if TYPE_CHECKING:
    # tests/infra is not a package, so its conftest is the top-level module `conftest`.
    from conftest import AppFactory, Synth

REPO = Path(__file__).resolve().parents[2]

ENVIRONMENT_VARIABLES = {
    "CUSTOMER_ETL_ENV",
    "CUSTOMER_ETL_CONFIG_DIR",
    "CUSTOMER_ETL__AWS__LANDING_BUCKET",
    "CUSTOMER_ETL__AWS__CHECKPOINT_BUCKET",
    "CUSTOMER_ETL__AWS__QUARANTINE_QUEUE_URL",
    "CUSTOMER_ETL__AWS__ALERT_TOPIC_ARN",
    "CUSTOMER_ETL__AWS__ENRICHMENT_CACHE_TABLE",
    "CUSTOMER_ETL__AWS__CIRCUIT_BREAKER_TABLE",
    "CUSTOMER_ETL__AWS__REPORTS_BUCKET",
    KMS_KEY_VARIABLE,
    "POWERTOOLS_SERVICE_NAME",
    "POWERTOOLS_METRICS_NAMESPACE",
}

PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_]+)\}")


# Helpers: find resources by what they are, not by logical id (ids are hashes).


def _only(resources: dict[str, dict[str, Any]]) -> tuple[str, dict[str, Any]]:
    assert len(resources) == 1, sorted(resources)
    return next(iter(resources.items()))


def _ref(logical_id: str) -> dict[str, Any]:
    return {"Ref": logical_id}


def _arn(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def _key_ids(synth: Synth) -> dict[str, str]:
    """Alias name -> logical id of the key it names."""
    return {
        alias["Properties"]["AliasName"]: alias["Properties"]["TargetKeyId"]["Fn::GetAtt"][0]
        for alias in synth.of_type("AWS::KMS::Alias").values()
    }


def _key_id(synth: Synth) -> str:
    """The storage key: buckets, queues, topic, tables and logs."""
    return _key_ids(synth)[f"alias/customer-etl-{synth.env}"]


def _field_key_id(synth: Synth) -> str:
    """The key-encryption key of field-level encryption."""
    return _key_ids(synth)[f"alias/customer-etl-{synth.env}-fields"]


def _function_ids(synth: Synth) -> dict[str, str]:
    """Function name (extract, ..., retention) -> logical id."""
    by_name = {}
    for logical_id, function in synth.of_type("AWS::Lambda::Function").items():
        full_name = function["Properties"]["FunctionName"]
        by_name[full_name.removeprefix(f"customer-etl-{synth.env}-")] = logical_id
    return by_name


def _logged_bucket_ids(synth: Synth) -> dict[str, str]:
    """Log prefix -> logical id of the KMS-encrypted buckets (landing/, checkpoints/,
    reports/)."""
    return {
        bucket["Properties"]["LoggingConfiguration"]["LogFilePrefix"]: logical_id
        for logical_id, bucket in synth.of_type("AWS::S3::Bucket").items()
        if "LoggingConfiguration" in bucket["Properties"]
    }


def _data_bucket_ids(synth: Synth) -> tuple[str, str]:
    """(landing, checkpoints): the two buckets that hold customer rows."""
    by_prefix = _logged_bucket_ids(synth)
    return by_prefix["landing/"], by_prefix["checkpoints/"]


def _queue_ids(synth: Synth) -> tuple[str, str]:
    """(quarantine queue, its dead-letter queue)."""
    queues = synth.of_type("AWS::SQS::Queue")
    main = [qid for qid, queue in queues.items() if "RedrivePolicy" in queue["Properties"]]
    assert len(main) == 1
    target = queues[main[0]]["Properties"]["RedrivePolicy"]["deadLetterTargetArn"]
    dead = [qid for qid in queues if _arn(qid) == target]
    assert len(dead) == 1
    return main[0], dead[0]


def _events_dead_letters(synth: Synth) -> str:
    """The dead-letter queue of the two EventBridge targets (the start and run-status)."""
    queue, dead = _queue_ids(synth)
    [others] = [str(qid) for qid in synth.of_type("AWS::SQS::Queue") if qid not in {queue, dead}]
    return others


def _table_ids(synth: Synth) -> dict[str, str]:
    """Partition key name -> logical id: `key` is the answer cache, `name` the breakers."""
    return {
        table["Properties"]["KeySchema"][0]["AttributeName"]: logical_id
        for logical_id, table in synth.of_type("AWS::DynamoDB::Table").items()
    }


def _statements(synth: Synth, role_logical_id: str) -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = []
    for policy in synth.of_type("AWS::IAM::Policy").values():
        if _ref(role_logical_id) in policy["Properties"]["Roles"]:
            statements.extend(policy["Properties"]["PolicyDocument"]["Statement"])
    return statements


def _allows(statements: list[dict[str, Any]], action: str, resource: Any) -> bool:
    for statement in statements:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        resources = (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
        if statement["Effect"] == "Allow" and action in actions and resource in resources:
            return True
    return False


def _role_of(synth: Synth, function_logical_id: str) -> str:
    role = synth.resources[function_logical_id]["Properties"]["Role"]
    assert isinstance(role, dict)
    logical_id = role["Fn::GetAtt"][0]
    assert isinstance(logical_id, str)
    return logical_id


def _cdk_json_context() -> dict[str, Any]:
    context = json.loads((REPO / "cdk.json").read_text(encoding="utf-8"))["context"]
    assert isinstance(context, dict)
    return context


def _definition(synth: Synth) -> dict[str, Any]:
    """The state machine's ASL as CloudFormation will deploy it, references flattened.

    The definition is either inline with tokens (an Fn::Join) or a string whose `${Name}`
    placeholders CloudFormation fills from DefinitionSubstitutions; both are resolved here,
    and a placeholder without a substitution fails the test.
    """
    _, machine = _only(synth.of_type("AWS::StepFunctions::StateMachine"))
    properties = machine["Properties"]
    text = flatten(properties["DefinitionString"])
    substitutions = {
        name: flatten(value)
        for name, value in properties.get("DefinitionSubstitutions", {}).items()
    }
    missing = set(PLACEHOLDER.findall(text)) - set(substitutions)
    assert not missing, f"placeholders without a substitution: {sorted(missing)}"
    resolved = PLACEHOLDER.sub(lambda match: substitutions[match.group(1)], text)
    assert "${" not in resolved
    definition = json.loads(resolved)
    assert isinstance(definition, dict)
    return definition


def _all_states(states: dict[str, Any]) -> dict[str, Any]:
    """Every state, those of the Distributed Maps' item processors included."""
    found = dict(states)
    for state in states.values():
        if state["Type"] == "Map":
            found |= _all_states(state["ItemProcessor"]["States"])
    return found


def _next_targets(state: dict[str, Any]) -> list[str]:
    targets = [state["Next"]] if "Next" in state else []
    targets += [catch["Next"] for catch in state.get("Catch", [])]
    targets += [choice["Next"] for choice in state.get("Choices", [])]
    if "Default" in state:
        targets.append(state["Default"])
    return targets


# Encryption


def test_storage_key_and_field_key_both_rotate(synth: Synth) -> None:
    keys = synth.of_type("AWS::KMS::Key")
    assert set(keys) == {_key_id(synth), _field_key_id(synth)}
    for key in keys.values():
        assert key["Properties"]["EnableKeyRotation"] is True


def test_key_lets_logs_and_alarms_use_it(synth: Synth) -> None:
    key = synth.resources[_key_id(synth)]
    principals = [
        statement["Principal"].get("Service")
        for statement in key["Properties"]["KeyPolicy"]["Statement"]
    ]
    assert f"logs.{synth.config.aws.region}.amazonaws.com" in principals
    assert "cloudwatch.amazonaws.com" in principals


# Storage


def test_data_buckets_are_kms_encrypted_private_versioned_and_logged(synth: Synth) -> None:
    key_arn = _arn(_key_id(synth))
    buckets = synth.resources
    assert set(_logged_bucket_ids(synth)) == {"landing/", "checkpoints/", "reports/"}
    for bucket_id in _logged_bucket_ids(synth).values():
        properties = buckets[bucket_id]["Properties"]
        encryption = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert encryption["ServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": key_arn,
        }
        assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
        assert "DestinationBucketName" in properties["LoggingConfiguration"]


def test_every_bucket_blocks_public_access_and_refuses_plain_http(synth: Synth) -> None:
    buckets = synth.of_type("AWS::S3::Bucket")
    assert len(buckets) == 4  # landing, checkpoints, reports, access logs
    for bucket in buckets.values():
        assert bucket["Properties"]["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
    policies = synth.of_type("AWS::S3::BucketPolicy")
    protected = {policy["Properties"]["Bucket"]["Ref"] for policy in policies.values()}
    assert protected == set(buckets)
    for policy in policies.values():
        assert any(
            statement["Effect"] == "Deny"
            and statement.get("Condition", {}).get("Bool") == {"aws:SecureTransport": "false"}
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        )


def test_landing_bucket_sends_events_to_eventbridge_without_a_custom_resource(
    synth: Synth,
) -> None:
    landing, checkpoints = _data_bucket_ids(synth)
    assert synth.resources[landing]["Properties"]["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }
    assert "NotificationConfiguration" not in synth.resources[checkpoints]["Properties"]
    custom = [r for r in synth.resources.values() if r["Type"].startswith("Custom::")]
    assert custom == []


# Orchestration


def test_a_csv_landing_starts_one_run_through_the_start_function_never_losing_it(
    synth: Synth,
) -> None:
    landing, _ = _data_bucket_ids(synth)
    functions = _function_ids(synth)
    synth.template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": {
                    "bucket": {"name": [_ref(landing)]},
                    "object": {"key": [{"suffix": ".csv"}]},
                },
            },
            "Targets": [
                Match.object_like(
                    {
                        "Arn": synth.live_ref(functions[START]),
                        "RetryPolicy": {
                            "MaximumRetryAttempts": 8,
                            "MaximumEventAgeInSeconds": 86400,
                        },
                        "DeadLetterConfig": {"Arn": _arn(_events_dead_letters(synth))},
                    }
                )
            ],
        },
    )
    machine_id, _ = _only(synth.of_type("AWS::StepFunctions::StateMachine"))
    statements = _statements(synth, _role_of(synth, functions[START]))
    assert _allows(statements, "states:StartExecution", _ref(machine_id))
    environment = synth.resources[functions[START]]["Properties"]["Environment"]["Variables"]
    assert "CUSTOMER_ETL__AWS__STATE_MACHINE_ARN" in environment


def test_every_bad_end_and_every_success_of_an_execution_reaches_the_run_status_function(
    synth: Synth,
) -> None:
    functions = _function_ids(synth)
    synth.template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.states"],
                "detail-type": ["Step Functions Execution Status Change"],
                "detail": {
                    "stateMachineArn": Match.any_value(),
                    "status": ["FAILED", "TIMED_OUT", "ABORTED", "SUCCEEDED"],
                },
            },
            "Targets": [
                Match.object_like(
                    {
                        "Arn": synth.live_ref(functions[RUN_STATUS]),
                        "DeadLetterConfig": {"Arn": _arn(_events_dead_letters(synth))},
                    }
                )
            ],
        },
    )


def test_state_machine_is_standard_logged_and_traced(synth: Synth) -> None:
    synth.template.has_resource_properties(
        "AWS::StepFunctions::StateMachine",
        {
            "StateMachineType": "STANDARD",
            "StateMachineName": f"customer-etl-{synth.env}",
            "TracingConfiguration": {"Enabled": True},
            "LoggingConfiguration": Match.object_like({"Level": "ALL"}),
        },
    )


def test_each_stage_runs_its_chunks_in_a_distributed_map_then_completes(synth: Synth) -> None:
    definition = _definition(synth)
    functions = _function_ids(synth)
    _, checkpoints = _data_bucket_ids(synth)
    states = definition["States"]
    assert definition["StartAt"] == "Extract"
    # Each task invokes its function's `live` alias (docs/deployment.md, Rolling back).
    live = {stage: f"<{synth.live_ref(functions[stage])['Ref']}>" for stage in STAGES}
    assert states["Extract"]["Parameters"]["FunctionName"] == live["extract"]
    done = {"transform": "Transformed", "enrich": "Enriched", "load": "Loaded"}
    for stage, completion in done.items():
        chunks = states[f"{stage.capitalize()}Chunks"]
        assert chunks["Type"] == "Map"
        assert chunks["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
        assert chunks["ItemReader"]["Parameters"]["Bucket"] == f"<{checkpoints}>"
        assert chunks["MaxConcurrency"] == synth.config.aws.max_concurrency
        assert "ToleratedFailurePercentage" not in chunks
        assert chunks["Next"] == completion
        [chunk_task] = chunks["ItemProcessor"]["States"].values()
        arn = live[stage]
        assert chunk_task["Parameters"]["FunctionName"] == arn
        assert states[completion]["Parameters"]["FunctionName"] == arn


def test_no_stage_can_end_the_execution_in_a_fail_state_so_a_redrive_finds_it(
    synth: Synth,
) -> None:
    states = _all_states(_definition(synth)["States"])
    assert not [name for name, state in states.items() if state["Type"] == "Fail"]
    assert not [name for name, state in states.items() if "Catch" in state]


def test_every_task_times_out_before_its_function_and_retries_timeouts(synth: Synth) -> None:
    functions = synth.of_type("AWS::Lambda::Function")
    timeouts = {
        f"<{synth.live_ref(fid)['Ref']}>": f["Properties"]["Timeout"]
        for fid, f in functions.items()
    }
    tasks = [s for s in _all_states(_definition(synth)["States"]).values() if s["Type"] == "Task"]
    assert len(tasks) == 7
    for task in tasks:
        function_timeout = timeouts[task["Parameters"]["FunctionName"]]
        assert 0 < task["TimeoutSeconds"] < function_timeout
        [retry] = task["Retry"]
        assert {
            "States.Timeout",
            "Sandbox.Timedout",
            "Lambda.ClientExecutionTimeoutException",
            "TransientError",
        } <= set(retry["ErrorEquals"])
        assert (retry["JitterStrategy"], retry["MaxDelaySeconds"]) == ("FULL", 60)


def test_every_transition_of_the_state_machine_leads_to_a_state(synth: Synth) -> None:
    definition = _definition(synth)
    for states in (
        definition["States"],
        *(
            s["ItemProcessor"]["States"]
            for s in definition["States"].values()
            if s["Type"] == "Map"
        ),
    ):
        for name, state in states.items():
            for target in _next_targets(state):
                assert target in states, f"{name} goes to missing state {target}"
            if state["Type"] not in {"Succeed", "Fail", "Choice"}:
                assert "Next" in state or state.get("End") is True, f"{name} has no way out"


def test_state_machine_may_do_what_its_states_do_and_redrive(synth: Synth) -> None:
    _, machine = _only(synth.of_type("AWS::StepFunctions::StateMachine"))
    role = machine["Properties"]["RoleArn"]["Fn::GetAtt"][0]
    statements = _statements(synth, role)
    for name in STAGES:
        live = synth.live_ref(_function_ids(synth)[name])
        assert _allows(statements, "lambda:InvokeFunction", live)
    for name in ("retention", RUN_STATUS, START):
        live = synth.live_ref(_function_ids(synth)[name])
        assert not _allows(statements, "lambda:InvokeFunction", live)
    text = json.dumps(statements)
    assert "states:StartExecution" in text  # its Distributed Maps' child executions
    assert "states:RedriveExecution" in text
    assert f"stateMachine:customer-etl-{synth.env}" in text
    assert "runs/*/chunks.json" in text
    assert "sqs:SendMessage" not in text and "sns:Publish" not in text


# Functions and layers


def test_eight_functions_on_python_312_with_their_settings(synth: Synth) -> None:
    functions = synth.of_type("AWS::Lambda::Function")
    assert set(_function_ids(synth)) == set(FUNCTION_NAMES)
    assert len(functions) == len(FUNCTION_NAMES)  # no helper Lambdas (log retention etc.)
    sizes = {
        name: (synth.config.aws.lambda_memory_mb, synth.config.aws.lambda_timeout_seconds)
        for name in PIPELINE_FUNCTIONS
    }
    sizes.update(SMALL_FUNCTIONS)
    for name, function_id in _function_ids(synth).items():
        properties = functions[function_id]["Properties"]
        assert properties["Runtime"] == "python3.12"
        assert properties["Architectures"] == ["x86_64"]
        assert properties["Handler"] == "handler.handler"
        assert (properties["MemorySize"], properties["Timeout"]) == sizes[name], name
        assert properties["TracingConfig"] == {"Mode": "Active"}
        assert "LogGroup" in properties["LoggingConfig"]


def test_the_run_status_function_is_named_and_sized_as_a_small_function(synth: Synth) -> None:
    # Its code and handler: tests/infra/test_monitoring.py, test_function_runs_the_handler_...
    for name in (RUN_STATUS, START):
        properties = synth.resources[_function_ids(synth)[name]]["Properties"]
        assert properties["FunctionName"] == f"customer-etl-{synth.env}-{name}"
        assert (properties["MemorySize"], properties["Timeout"]) == SMALL_FUNCTIONS[name]


def test_the_run_status_function_may_alert_record_and_read_manifests_but_not_rows(
    synth: Synth,
) -> None:
    landing, _ = _data_bucket_ids(synth)
    queue, _ = _queue_ids(synth)
    topic, _ = _only(synth.of_type("AWS::SNS::Topic"))
    statements = _statements(synth, _role_of(synth, _function_ids(synth)[RUN_STATUS]))
    assert _allows(statements, "sns:Publish", _ref(topic))
    assert _allows(statements, "sqs:SendMessage", _arn(queue))
    # Publishing to the encrypted topic: SNS makes the message's data key as the publisher.
    assert _allows(statements, "kms:GenerateDataKey", _arn(_key_id(synth)))
    assert _allows(statements, "kms:Decrypt", _arn(_key_id(synth)))
    assert not _allows(statements, "kms:Decrypt", _arn(_field_key_id(synth)))
    text = json.dumps(statements)
    assert landing not in text
    assert "runs/*/manifest.json" in text
    assert "s3:PutObject" not in text and "s3:DeleteObject" not in text
    assert "dynamodb:" not in text


def test_functions_know_where_everything_is(synth: Synth) -> None:
    landing, checkpoints = _data_bucket_ids(synth)
    queue, _ = _queue_ids(synth)
    topic, _ = _only(synth.of_type("AWS::SNS::Topic"))
    expected = {
        "CUSTOMER_ETL_ENV": synth.env,
        "CUSTOMER_ETL_CONFIG_DIR": "/opt/config",
        "CUSTOMER_ETL__AWS__LANDING_BUCKET": _ref(landing),
        "CUSTOMER_ETL__AWS__CHECKPOINT_BUCKET": _ref(checkpoints),
        "CUSTOMER_ETL__AWS__QUARANTINE_QUEUE_URL": _ref(queue),
        "CUSTOMER_ETL__AWS__ALERT_TOPIC_ARN": _ref(topic),
        "CUSTOMER_ETL__AWS__ENRICHMENT_CACHE_TABLE": _ref(_table_ids(synth)["key"]),
        "CUSTOMER_ETL__AWS__CIRCUIT_BREAKER_TABLE": _ref(_table_ids(synth)["name"]),
        "CUSTOMER_ETL__AWS__REPORTS_BUCKET": _ref(_logged_bucket_ids(synth)["reports/"]),
        KMS_KEY_VARIABLE: _arn(_field_key_id(synth)),
        "POWERTOOLS_SERVICE_NAME": "customer-etl",
        "POWERTOOLS_METRICS_NAMESPACE": "CustomerEtl",
    }
    assert set(expected) == ENVIRONMENT_VARIABLES
    start = _function_ids(synth)[START]
    for function_id, function in synth.of_type("AWS::Lambda::Function").items():
        variables = function["Properties"]["Environment"]["Variables"]
        if function_id == start:  # the one function that starts executions
            machine = variables.pop("CUSTOMER_ETL__AWS__STATE_MACHINE_ARN")
            assert machine.endswith(f":stateMachine:customer-etl-{synth.env}")
        assert variables == expected


def test_functions_use_the_dependency_layer_and_the_pandas_layer(synth: Synth) -> None:
    layer_id, layer = _only(synth.of_type("AWS::Lambda::LayerVersion"))
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["x86_64"]
    pandas = aws_sdk_pandas_layer_arn(synth.config.aws.region)
    assert re.fullmatch(
        rf"arn:aws:lambda:{synth.config.aws.region}:336392948345:layer:"
        r"AWSSDKPandas-Python312:\d+",
        pandas,
    )
    for function in synth.of_type("AWS::Lambda::Function").values():
        assert sorted(map(json.dumps, function["Properties"]["Layers"])) == sorted(
            map(json.dumps, [_ref(layer_id), pandas])
        )


def test_each_function_gets_only_the_access_it_needs(synth: Synth) -> None:
    landing, checkpoints = _data_bucket_ids(synth)
    queue, _ = _queue_ids(synth)
    topic, _ = _only(synth.of_type("AWS::SNS::Topic"))
    key = _arn(_key_id(synth))
    # The stack creates the secret the configuration names and grants it by reference.
    secret = synth.secret_ref(synth.config.warehouse.password_ref)
    for name, function_id in _function_ids(synth).items():
        statements = _statements(synth, _role_of(synth, function_id))
        writes_checkpoints = _allows(
            statements, "s3:PutObject", {"Fn::Join": ["", [_arn(checkpoints), "/runs/*"]]}
        )
        # Health and report handle no customer rows: no checkpoints for them.
        assert writes_checkpoints == (name in PIPELINE_FUNCTIONS), name
        # Health only reports what it finds (a metric and its answer), subject requests
        # answer their operator; the others may alert.
        silent = {"health", START, SUBJECT_REQUEST}
        assert _allows(statements, "sns:Publish", _ref(topic)) == (name not in silent), name
        # Every function but start, which handles no data, and subject requests, which use
        # the warehouse alone (no bucket, queue or topic), uses the pipeline key.
        assert _allows(statements, "kms:Decrypt", key) == (name not in {START, SUBJECT_REQUEST})
        landed = {"Fn::Join": ["", [_arn(landing), "/*"]]}
        assert _allows(statements, "s3:GetObject", landed) == (name == "extract"), name
        assert _allows(statements, "sqs:SendMessage", _arn(queue)) == (
            name in {"transform", "load", RUN_STATUS}
        )
        reads_secret = _allows(statements, "secretsmanager:GetSecretValue", secret)
        warehouse_users = {"load", "retention", RUN_STATUS, "health", "report", SUBJECT_REQUEST}
        assert reads_secret == (name in warehouse_users), name
        # No AWSLambdaBasicExecutionRole: each function writes only its own log group.
        role = synth.resources[_role_of(synth, function_id)]
        assert "ManagedPolicyArns" not in role["Properties"]


def test_enrichment_state_tables_are_encrypted_on_demand_and_the_cache_expires(
    synth: Synth,
) -> None:
    tables = synth.of_type("AWS::DynamoDB::Table")
    assert len(tables) == 2
    ids = _table_ids(synth)
    assert set(ids) == {"key", "name"}
    for table in tables.values():
        properties = table["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["SSESpecification"]["SSEEnabled"] is True
        assert properties["SSESpecification"]["KMSMasterKeyId"] == _arn(_key_id(synth))
    cache = tables[ids["key"]]["Properties"]
    assert cache["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert "TimeToLiveSpecification" not in tables[ids["name"]]["Properties"]


def test_only_enrich_writes_the_enrichment_state_and_reads_the_api_key(
    synth: Synth,
) -> None:
    ids = _table_ids(synth)
    secret = synth.secret_ref(synth.config.enrichment.companies_house.api_key_ref)
    for name, function_id in _function_ids(synth).items():
        statements = _statements(synth, _role_of(synth, function_id))
        # The cache is read and written in batches, a breaker read and updated per item
        # (adapters/dynamodb_state.py): exactly those actions, by enrich alone.
        for table, actions in (
            (ids["key"], ("dynamodb:BatchGetItem", "dynamodb:BatchWriteItem")),
            (ids["name"], ("dynamodb:UpdateItem",)),
        ):
            for action in actions:
                assert _allows(statements, action, _arn(table)) == (name == "enrich"), (
                    name,
                    action,
                )
        # The health check reads the breaker states (never the cached answers).
        assert _allows(statements, "dynamodb:GetItem", _arn(ids["name"])) == (
            name in {"enrich", "health"}
        ), name
        assert not _allows(statements, "dynamodb:GetItem", _arn(ids["key"]))
        reads_key = _allows(statements, "secretsmanager:GetSecretValue", secret)
        # Health asks Companies House once with the key to check it answers.
        assert reads_key == (name in {"enrich", "health"}), name


def test_dependency_layer_comes_last_so_its_packages_win(synth: Synth) -> None:
    layer_id, _ = _only(synth.of_type("AWS::Lambda::LayerVersion"))
    for function in synth.of_type("AWS::Lambda::Function").values():
        assert function["Properties"]["Layers"][-1] == _ref(layer_id)


def test_a_warehouse_password_in_ssm_is_granted_instead(tmp_path: Path) -> None:
    # Built through an environment override, the way an operator would switch stores.
    app = cdk.App(
        context={**_cdk_json_context(), "env": "dev", "aws:cdk:bundling-stacks": []},
        builtin_cloud_formation_validation=False,
        outdir=str(tmp_path),
    )
    stack = build(app, environ={"CUSTOMER_ETL__WAREHOUSE__PASSWORD_REF": "ssm:/etl/dev/db"})
    template = Template.from_stack(stack)
    policies = json.dumps(template.find_resources("AWS::IAM::Policy"))
    assert ":secret:customer-etl/dev/warehouse" not in policies
    # An SSM parameter is the operator's: the stack creates no warehouse secret then.
    names = [
        secret["Properties"]["Name"]
        for secret in template.find_resources("AWS::SecretsManager::Secret").values()
    ]
    assert "customer-etl/dev/warehouse" not in names
    assert "ssm:GetParameter" in policies
    assert ":parameter/etl/dev/db" in policies


def test_retention_runs_daily_from_eventbridge_scheduler(synth: Synth) -> None:
    retention = _function_ids(synth)["retention"]
    [schedule] = [
        resource["Properties"]
        for resource in synth.of_type("AWS::Scheduler::Schedule").values()
        if resource["Properties"]["Name"] == f"customer-etl-{synth.env}-retention"
    ]
    assert schedule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert schedule["ScheduleExpressionTimezone"] == "Europe/London"
    assert schedule["Target"]["Arn"] == synth.live_ref(retention)
    assert schedule["Target"]["RetryPolicy"]["MaximumRetryAttempts"] == 2
    # No EventBridge rule targets it any more: one schedule, one run a day.
    for rule in synth.of_type("AWS::Events::Rule").values():
        for target in rule["Properties"].get("Targets", []):
            assert target.get("Arn") != synth.live_ref(retention)


# Quarantine and alerting


def test_quarantine_queue_redrives_to_an_encrypted_dead_letter_queue(synth: Synth) -> None:
    queue, dead = _queue_ids(synth)
    queues = synth.resources
    assert queues[queue]["Properties"]["RedrivePolicy"] == {
        "deadLetterTargetArn": _arn(dead),
        "maxReceiveCount": 5,
    }
    for queue_id in (queue, dead):
        assert queues[queue_id]["Properties"]["KmsMasterKeyId"] == _arn(_key_id(synth))
    policies = synth.of_type("AWS::SQS::QueuePolicy")
    assert len(policies) == 3  # enforce SSL on both, and on the events' dead-letter queue


def test_alert_topic_is_encrypted_and_mails_each_configured_address(synth: Synth) -> None:
    topic, properties = _only(synth.of_type("AWS::SNS::Topic"))
    assert properties["Properties"]["KmsMasterKeyId"] == _arn(_key_id(synth))
    subscriptions = synth.of_type("AWS::SNS::Subscription").values()
    mailed = sorted(
        subscription["Properties"]["Endpoint"]
        for subscription in subscriptions
        if subscription["Properties"]["Protocol"] == "email"
        and subscription["Properties"]["TopicArn"] == _ref(topic)
    )
    assert mailed == sorted(synth.config.alerts.email.to)
    assert mailed, "every AWS environment must have someone to alert"
    synth.template.resource_count_is("AWS::SNS::TopicPolicy", 1)


def test_a_failed_execution_raises_the_alarm(synth: Synth) -> None:
    machine_id, _ = _only(synth.of_type("AWS::StepFunctions::StateMachine"))
    topic, _ = _only(synth.of_type("AWS::SNS::Topic"))
    synth.template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "Namespace": "AWS/States",
            "MetricName": "ExecutionsFailed",
            "Dimensions": [{"Name": "StateMachineArn", "Value": _ref(machine_id)}],
            "Statistic": "Sum",
            "Period": 300,
            "Threshold": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "AlarmActions": [_ref(topic)],
        },
    )


# Environments


EXPECTED_RETENTION = {"dev": False, "staging": False, "prod": True}


def test_prod_keeps_its_data_and_the_others_do_not(synth: Synth) -> None:
    retain = EXPECTED_RETENTION[synth.env]
    assert synth.config.aws.retain_data is retain
    policy = "Retain" if retain else "Delete"
    kept = [
        *synth.of_type("AWS::KMS::Key").values(),
        *synth.of_type("AWS::S3::Bucket").values(),
        *synth.of_type("AWS::SQS::Queue").values(),
        *synth.of_type("AWS::Logs::LogGroup").values(),
    ]
    for resource in kept:
        assert resource["DeletionPolicy"] == policy
        assert resource["UpdateReplacePolicy"] == policy
    assert synth.stack.termination_protection is retain


def test_stack_is_named_placed_and_tagged_from_config(synth: Synth) -> None:
    stack = synth.stack
    assert stack.stack_name == f"customer-etl-{synth.env}"
    assert stack.account == synth.config.aws.account
    assert stack.region == synth.config.aws.region
    key = synth.resources[_key_id(synth)]
    tags = {tag["Key"]: tag["Value"] for tag in key["Properties"]["Tags"]}
    assert tags == {"project": "customer-etl", "environment": synth.env}


def test_full_synth_passes_cloudformation_validation_and_cdk_nag(
    app_factory: AppFactory, tmp_path: Path
) -> None:
    # The one synth with CDK's built-in CloudFormation validation on (it costs seconds), of
    # staging as deployed: with the ODBC licence accepted (without it the stack warns that
    # the warehouse functions cannot connect: tests/infra/test_odbc_layer.py).
    app, _ = app_factory(
        "staging",
        validation=True,
        outdir=tmp_path,
        environ={"CUSTOMER_ETL__AWS__ACCEPT_MICROSOFT_ODBC_LICENCE": "true"},
    )
    assembly = app.synth()
    report = json.loads((Path(assembly.directory) / "validation-report.json").read_text())
    # The report lists only plugins that found something: cdk-nag and CloudFormation alike.
    assert report["pluginReports"] == []
    assert (Path(assembly.directory) / "customer-etl-staging.template.json").exists()


def test_cdk_nag_rejects_an_unacknowledged_finding(app_factory: AppFactory, tmp_path: Path) -> None:
    # The control for the tests above: a queue without SSL enforcement or a dead-letter
    # queue must stop the synth, or a clean report would prove nothing.
    app, stack = app_factory("dev", outdir=tmp_path)
    sqs.Queue(stack, "Unchecked")
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    rules = {
        violation["ruleName"]
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
    }
    assert {"AwsSolutions-SQS3", "AwsSolutions-SQS4"} <= rules


# The app's entry point


def test_app_refuses_to_guess_the_environment() -> None:
    with pytest.raises(DeploymentEnvironmentError, match=r"--context env=NAME.*dev, staging, prod"):
        build(cdk.App(), environ={})


def test_app_refuses_an_unknown_environment() -> None:
    app = cdk.App(context={"env": "local"})
    with pytest.raises(DeploymentEnvironmentError, match=r"unknown environment 'local'"):
        build(app, environ={})


def test_app_script_explains_a_missing_environment() -> None:
    # Run as the CLI runs it (cdk.json's app command, from the repository root), no context.
    environment = {**os.environ, "CDK_CONTEXT_JSON": "{}"}
    app_command = json.loads((REPO / "cdk.json").read_text())["app"].split()
    assert app_command[1:] == ["-m", "infra.app"]
    result = subprocess.run(
        [sys.executable, *app_command[1:]],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1
    assert "error: no environment selected: pass --context env=NAME" in result.stderr
    assert "Traceback" not in result.stderr


def test_skip_bundling_context_turns_bundling_off_and_warns() -> None:
    app = cdk.App(
        context={**_cdk_json_context(), "skip-bundling": "true", "env": "dev"},
        builtin_cloud_formation_validation=False,
    )
    skip_bundling_if_asked(app)
    assert app.node.try_get_context("aws:cdk:bundling-stacks") == []
    stack = build(app, environ={})
    warnings = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("never"))
    assert len(warnings) == 1
    untouched = cdk.App()
    skip_bundling_if_asked(untouched)
    assert untouched.node.try_get_context("aws:cdk:bundling-stacks") is None


def test_pandas_layer_for_an_unknown_region_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="AWS_SDK_PANDAS_LAYER_VERSIONS"):
        aws_sdk_pandas_layer_arn("xx-nowhere-1")


# The dependency layer build, without pip


def test_layer_bundling_installs_for_lambda_and_adds_package_and_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    commands: list[list[str]] = []

    def fake_pip(command: list[str], **_kwargs: Any) -> subprocess.CompletedProcess[str]:
        commands.append(command)
        target = Path(command[command.index("--target") + 1])
        (target / "botocore").mkdir(parents=True)  # as aws-xray-sdk would pull in
        (target / "pydantic").mkdir()
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(subprocess, "run", fake_pip)
    bundled = PipLayerBundling().try_bundle(
        str(tmp_path), image=cdk.DockerImage.from_registry("unused")
    )

    assert bundled is True
    [command] = commands
    assert command[1:4] == ["-m", "pip", "install"]
    for argument in ("manylinux2014_x86_64", "manylinux_2_28_x86_64", "--only-binary=:all:"):
        assert argument in command
    assert command[command.index("--python-version") + 1] == "3.12"
    assert command[-1] == str(REPO / "layers" / "dependencies" / "requirements.txt")
    site = tmp_path / "python"
    assert (site / "customer_etl" / "__init__.py").exists()
    assert not list(site.rglob("__pycache__"))
    assert not (site / "botocore").exists()  # the runtime supplies it
    assert (site / "pydantic").exists()
    for env in EXPECTED_RETENTION:
        assert (tmp_path / "config" / f"{env}.yaml").exists()


def test_layer_bundling_reports_a_pip_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_pip(command: list[str], **_kwargs: Any) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 1, "", "No matching distribution")

    monkeypatch.setattr(subprocess, "run", failing_pip)
    with pytest.raises(RuntimeError, match="No matching distribution"):
        PipLayerBundling().try_bundle(str(tmp_path), image=cdk.DockerImage.from_registry("x"))


def test_layer_requirements_keep_pyproject_lower_bounds() -> None:
    requirements = [
        line.strip()
        for line in (REPO / "layers" / "dependencies" / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    declared = {_name(spec): spec for spec in pyproject["project"]["dependencies"]}
    for requirement in requirements:
        assert declared.get(_name(requirement)) == requirement, requirement
    # What the layer leaves out comes from the runtime or the pandas layer, or is local only.
    left_out = set(declared) - {_name(r) for r in requirements}
    assert left_out == {"pandas", "pyarrow", "boto3", "faker"}, left_out


def _name(spec: str) -> str:
    match = re.match(r"[A-Za-z0-9_.-]+", spec)
    assert match
    return match.group(0).lower()


def test_app_deploys_exactly_the_environments_tested_here() -> None:
    assert tuple(EXPECTED_RETENTION) == app_module.DEPLOYABLE_ENVIRONMENTS


def test_the_app_refuses_a_region_outside_the_data_residency_rule() -> None:
    app = cdk.App(
        context={**_cdk_json_context(), "env": "prod", "aws:cdk:bundling-stacks": []},
        builtin_cloud_formation_validation=False,
    )
    with pytest.raises(ConfigError, match="residency"):
        build(app, environ={"CUSTOMER_ETL__AWS__REGION": "us-east-1"})
