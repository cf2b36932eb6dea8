"""The Step Functions state machine from statemachine/pipeline.asl.json, the start function's
trigger on each CSV landing in S3, and the rule that hands the state machine's execution
status events to the run-status function."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs import access
from infra.nag import acknowledge, acknowledge_wildcard_resource

REPO = Path(__file__).resolve().parents[2]
DEFINITION = REPO / "statemachine" / "pipeline.asl.json"

SUBSTITUTION_BY_STAGE = {
    "extract": "ExtractFunctionArn",
    "transform": "TransformFunctionArn",
    "enrich": "EnrichFunctionArn",
    "load": "LoadFunctionArn",
}
"""The `${...}` placeholder in the ASL of each stage function."""
CHECKPOINT_BUCKET_SUBSTITUTION = "CheckpointBucket"
"""The bucket the Distributed Maps read each run's chunk list from."""

CHUNK_LISTS = "runs/*/chunks.json"
"""Each run's list of chunks, which the Distributed Maps read (ItemReader)."""

CSV_SUFFIX = ".csv"
FAILED_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")
STATUS_EVENTS = (*FAILED_STATUSES, "SUCCEEDED")
"""The execution statuses the run-status function hears: every bad end, and a success (a
redriven execution's success is a recovery)."""
TARGET_RETRIES = 8
TARGET_MAX_EVENT_AGE = Duration.hours(24)


def task_timeout_seconds(lambda_timeout_seconds: int) -> int:
    """A stage task's TimeoutSeconds: below its function's own timeout, so a hung invocation
    is retried by Step Functions (States.Timeout) rather than left to the Lambda service."""
    return max(1, lambda_timeout_seconds - max(5, lambda_timeout_seconds // 30))


def definition(max_concurrency: int, lambda_timeout_seconds: int) -> str:
    """The ASL with each Distributed Map's MaxConcurrency and each task's TimeoutSeconds
    from the configuration (the file holds the defaults the tests run)."""
    document = json.loads(DEFINITION.read_text(encoding="utf-8"))
    _configure(document["States"], max_concurrency, task_timeout_seconds(lambda_timeout_seconds))
    return json.dumps(document, indent=2)


def _configure(states: dict[str, Any], concurrency: int, timeout: int) -> None:
    for state in states.values():
        if state["Type"] == "Task":
            state["TimeoutSeconds"] = timeout
        if state["Type"] == "Map":
            state["MaxConcurrency"] = concurrency
            _configure(state["ItemProcessor"]["States"], concurrency, timeout)


class Orchestration(Construct):
    """A Standard state machine that runs the stages chunk by chunk; one execution per
    landed object; the execution status events to the run-status function."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        key: kms.IKey,
        stages: Mapping[str, lambda_.IFunction],
        start: lambda_.Function,
        start_target: lambda_.IFunction,
        run_status: lambda_.IFunction,
        landing: s3.IBucket,
        checkpoints: s3.IBucket,
        max_concurrency: int,
        lambda_timeout_seconds: int,
        retain: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        name = f"customer-etl-{env_name}"

        log_group = logs.LogGroup(
            self,
            "Logs",
            # Step Functions needs a log-group resource policy; names under
            # /aws/vendedlogs/ keep that policy from growing past its size limit.
            log_group_name=f"/aws/vendedlogs/states/customer-etl-{env_name}",
            retention=logs.RetentionDays.ONE_YEAR if retain else logs.RetentionDays.ONE_MONTH,
            encryption_key=key,
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        )

        substitutions = {
            SUBSTITUTION_BY_STAGE[stage]: function.function_arn
            for stage, function in stages.items()
        }
        substitutions[CHECKPOINT_BUCKET_SUBSTITUTION] = checkpoints.bucket_name

        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            # A stable name: the start function names executions after runs, and the role's
            # policy names its own executions (the Distributed Maps' child executions).
            state_machine_name=name,
            state_machine_type=sfn.StateMachineType.STANDARD,
            # Inline, not from_file: from_file uploads the ASL as an asset, which the template
            # tests and cfn-lint cannot see.
            definition_body=sfn.DefinitionBody.from_string(
                definition(max_concurrency, lambda_timeout_seconds)
            ),
            definition_substitutions=substitutions,
            logs=sfn.LogOptions(
                destination=log_group,
                level=sfn.LogLevel.ALL,
                # Execution data is a run manifest (ids, URIs, counts), never rows, so it may
                # be logged; it makes a failed run diagnosable from the logs alone.
                include_execution_data=True,
            ),
            tracing_enabled=True,
        )

        # IAM is not inferred from an ASL string: grant what its states call.
        for function in stages.values():
            function.grant_invoke(self.state_machine)
        # The Distributed Maps read the run's chunk list (ItemReader), which S3 decrypts
        # with the storage key on the state machine's behalf ...
        access.grant_objects(self.state_machine, checkpoints, [CHUNK_LISTS], read=True)
        access.grant_storage_key(self.state_machine, key, ["s3"])
        # ... and run each chunk as a child execution of this state machine, which a redrive
        # of the parent redrives in turn. By constructed ARNs (the name is fixed): a Ref to
        # the state machine in its own role's policy would be a dependency cycle.
        stack = Stack.of(self)
        machine_arn = stack.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        executions = [
            stack.format_arn(
                service="states",
                resource="execution",
                resource_name=f"{name}{separator}*",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            for separator in (":", "/")
        ]
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(actions=["states:StartExecution"], resources=[machine_arn])
        )
        self.state_machine.add_to_role_policy(
            iam.PolicyStatement(
                actions=[
                    "states:DescribeExecution",
                    "states:StopExecution",
                    "states:RedriveExecution",
                ],
                resources=executions,
            )
        )

        # One execution per landed object: the start function derives the execution's name
        # from the object's identity, so a second delivery of the event starts nothing. A
        # failed start is retried, then kept in the dead-letter queue (never lost).
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            queue_name=f"customer-etl-{env_name}-events-dlq",
            # SQS-managed keys: EventBridge may send to them without a key policy of ours.
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            # An undelivered landing is a file whose run never started: keep it with the data.
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        )
        self.state_machine.grant_start_execution(start)
        start.add_environment("CUSTOMER_ETL__AWS__STATE_MACHINE_ARN", machine_arn)
        self.trigger = events.Rule(
            self,
            "CsvLanded",
            description=f"customer-etl {env_name}: start a run for each CSV in the landing bucket",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [landing.bucket_name]},
                    "object": {"key": [{"suffix": CSV_SUFFIX}]},
                },
            ),
            targets=[
                targets.LambdaFunction(
                    start_target,
                    retry_attempts=TARGET_RETRIES,
                    max_event_age=TARGET_MAX_EVENT_AGE,
                    dead_letter_queue=self.dead_letters,
                )
            ],
        )
        # Every bad end of an execution (a failed stage, a timeout, an abort) and every
        # success goes to the run-status function: no Catch path in the ASL.
        self.status_rule = events.Rule(
            self,
            "ExecutionStatus",
            description=f"customer-etl {env_name}: record and alert failed and recovered runs",
            event_pattern=events.EventPattern(
                source=["aws.states"],
                detail_type=["Step Functions Execution Status Change"],
                detail={"stateMachineArn": [machine_arn], "status": list(STATUS_EVENTS)},
            ),
            targets=[
                targets.LambdaFunction(
                    run_status,
                    retry_attempts=TARGET_RETRIES,
                    max_event_age=TARGET_MAX_EVENT_AGE,
                    dead_letter_queue=self.dead_letters,
                )
            ],
        )

        policy = access.default_policy(self.state_machine.role)
        for execution in executions:
            acknowledge_wildcard_resource(
                policy,
                execution,
                "The state machine's own executions: the Distributed Maps' child executions "
                "have names Step Functions makes, known only at run time.",
            )
        acknowledge_wildcard_resource(
            policy,
            checkpoints.arn_for_objects(CHUNK_LISTS),
            "Each run's chunk list, under the run's own prefix (run ids are made at run time).",
        )
        acknowledge_wildcard_resource(
            policy,
            "*",
            "CloudWatch Logs delivery (logs:*LogDelivery*, DescribeLogGroups...) and X-Ray "
            "tracing have no resource-level permissions.",
        )
        acknowledge(
            self.dead_letters,
            "AwsSolutions-SQS3",
            "This queue is the dead-letter queue of the two EventBridge targets.",
        )
        acknowledge(
            self.dead_letters,
            "Serverless-SQSRedrivePolicy",
            "This queue is the dead-letter queue of the two EventBridge targets: where "
            "events end, with its own depth and age alarms.",
        )
