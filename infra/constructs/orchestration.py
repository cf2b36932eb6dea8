"""The Step Functions state machine from statemachine/pipeline.asl.json and its S3 trigger."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from aws_cdk import RemovalPolicy
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.nag import acknowledge_wildcard_action, acknowledge_wildcard_resource

REPO = Path(__file__).resolve().parents[2]
DEFINITION = REPO / "statemachine" / "pipeline.asl.json"

SUBSTITUTION_BY_STAGE = {
    "extract": "ExtractFunctionArn",
    "transform": "TransformFunctionArn",
    "enrich": "EnrichFunctionArn",
    "load": "LoadFunctionArn",
}
"""The `${...}` placeholder in the ASL of each stage function."""
RUN_FAILED_SUBSTITUTION = "RunFailedFunctionArn"
"""The placeholder of the run-failed function, which the failure path ends in."""

CSV_SUFFIX = ".csv"


class Orchestration(Construct):
    """A Standard state machine that runs the stages, started by each CSV landing in S3."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        key: kms.IKey,
        stages: Mapping[str, lambda_.IFunction],
        run_failed: lambda_.IFunction,
        landing: s3.IBucket,
        quarantine: sqs.IQueue,
        alerts: sns.ITopic,
        retain: bool,
    ) -> None:
        super().__init__(scope, construct_id)

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
        substitutions[RUN_FAILED_SUBSTITUTION] = run_failed.function_arn
        substitutions["QuarantineQueueUrl"] = quarantine.queue_url
        substitutions["AlertTopicArn"] = alerts.topic_arn

        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            # A stable name: operators start resumes of this state machine's runs by name.
            state_machine_name=f"customer-etl-{env_name}",
            state_machine_type=sfn.StateMachineType.STANDARD,
            # Inline, not from_file: from_file uploads the ASL as an asset, which the template
            # tests and cfn-lint cannot see.
            definition_body=sfn.DefinitionBody.from_string(DEFINITION.read_text(encoding="utf-8")),
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

        # IAM is not inferred from an ASL string: grant what its states call. The topic is
        # for the fallback alert, sent when the run-failed function itself fails.
        invoked = [*stages.values(), run_failed]
        for function in invoked:
            function.grant_invoke(self.state_machine)
        quarantine.grant_send_messages(self.state_machine)
        alerts.grant_publish(self.state_machine)
        key.grant_encrypt_decrypt(self.state_machine)

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
            # The whole event is the input: BuildManifest reads detail.bucket and detail.object.
            targets=[
                targets.SfnStateMachine(
                    self.state_machine, input=events.RuleTargetInput.from_event_path("$")
                )
            ],
        )

        for function in invoked:
            acknowledge_wildcard_resource(
                self,
                f"{function.function_arn}:*",
                "CDK's invoke grant also covers the function's versions and aliases "
                "(`ARN:*`); the state machine calls only the four stage functions and the "
                "run-failed function.",
            )
        for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*"):
            acknowledge_wildcard_action(
                self,
                action,
                "Sending to the encrypted queue and topic needs the pipeline key; the grant "
                "is on that one key.",
            )
        acknowledge_wildcard_resource(
            self,
            "*",
            "CloudWatch Logs delivery (logs:*LogDelivery*, DescribeLogGroups...) and X-Ray "
            "tracing have no resource-level permissions.",
        )
