"""The quarantine queue: notices of quarantined rows and failed runs, for operators."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.nag import acknowledge

MAX_RECEIVE_COUNT = 5
"""A notice that fails to be processed five times is poison; park it rather than loop."""

RETENTION = Duration.days(14)
"""SQS's maximum: a quarantine notice must outlive a long weekend and a slow fix."""


class Quarantine(Construct):
    """The quarantine queue and the dead-letter queue behind it, both encrypted."""

    def __init__(
        self, scope: Construct, construct_id: str, *, env_name: str, key: kms.IKey, retain: bool
    ) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY

        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            queue_name=f"customer-etl-{env_name}-quarantine-dlq",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=RETENTION,
            removal_policy=removal,
        )

        acknowledge(
            self.dead_letters,
            "Serverless-SQSRedrivePolicy",
            "This is the quarantine queue's dead-letter queue: where messages end, with its "
            "own depth and age alarms.",
        )

        self.queue = sqs.Queue(
            self,
            "Queue",
            # A stable name so the runbook can say which queue to read.
            queue_name=f"customer-etl-{env_name}-quarantine",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            # Reusing a data key for five minutes keeps KMS calls, and their cost, down.
            data_key_reuse=Duration.minutes(5),
            enforce_ssl=True,
            retention_period=RETENTION,
            dead_letter_queue=sqs.DeadLetterQueue(
                max_receive_count=MAX_RECEIVE_COUNT, queue=self.dead_letters
            ),
            removal_policy=removal,
        )
