"""Alerts for operators: an encrypted SNS topic with e-mail subscribers, and the alarms."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.nag import acknowledge


class Alerting(Construct):
    """The alert topic; `watch` adds the alarm on a state machine's failed executions."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        key: kms.IKey,
        email_to: Sequence[str],
    ) -> None:
        super().__init__(scope, construct_id)
        self._env_name = env_name

        self.topic = sns.Topic(
            self,
            "Topic",
            topic_name=f"customer-etl-{env_name}-alerts",
            display_name=f"customer-etl {env_name}",
            master_key=key,
            enforce_ssl=True,
        )
        # Each address must confirm its subscription from the e-mail SNS sends on deploy.
        for address in email_to:
            subscription = self.topic.add_subscription(subscriptions.EmailSubscription(address))
            acknowledge(
                subscription,
                "Serverless-SNSRedrivePolicy",
                "An e-mail subscription: SNS retries delivery to the mail server itself, and "
                "the alert's record stays in the run history and the alarm state.",
            )

    def watch(self, state_machine: sfn.IStateMachine) -> cloudwatch.Alarm:
        """Alarm as soon as one execution fails in a five-minute window.

        The run-status function, on the execution's status event, sends each failed run's
        templated alert; this alarm is the backstop should that function or its event fail
        (their dead-letter queue has its own alarm). So a failure notifies twice: its
        templated alert, and this alarm's notification when it goes into ALARM (once per
        burst of failures, not per run; nothing on OK). docs/incident-response.md tells
        operators to expect both.
        """
        alarm = cloudwatch.Alarm(
            self,
            "ExecutionsFailed",
            alarm_name=f"customer-etl-{self._env_name}-executions-failed",
            alarm_description=(
                "A customer-etl run failed. Read the quarantine queue and the execution "
                "history, fix the cause, then redrive the execution (docs/runbook.md)."
            ),
            metric=state_machine.metric_failed(period=Duration.minutes(5), statistic="Sum"),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            # No executions means nothing failed.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(self.topic))
        return alarm
