"""The customer-managed KMS keys: one protects every store of the pipeline, the other wraps
the data keys of field-level encryption."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct


class Encryption(Construct):
    """`key`: one key for buckets, queues, the topic and the log groups of one environment.
    `field_key`: the key-encryption key of field-level encryption in the warehouse.

    One storage key rather than one per store: the stores hold the same customer data at
    different stages, so separate keys would not separate who may read it, and each key costs
    money and key-policy upkeep. The field key is separate because it does separate readers:
    every function and AWS service that touches a bucket, queue or log group uses the storage
    key, while only the functions that seal or check personal values in the warehouse may
    use the field key, so decrypting a stored column needs a grant that nothing else holds.
    """

    def __init__(self, scope: Construct, construct_id: str, *, env_name: str, retain: bool) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)

        self.key = kms.Key(
            self,
            "Key",
            alias=f"alias/customer-etl-{env_name}",
            description=f"customer-etl {env_name}: buckets, queues, alert topic and logs",
            enable_key_rotation=True,
            # Losing the key loses every object encrypted with it, so a kept environment
            # keeps the key even when the stack goes.
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
            pending_window=Duration.days(30 if retain else 7),
        )

        self.field_key = kms.Key(
            self,
            "FieldKey",
            alias=f"alias/customer-etl-{env_name}-fields",
            description=(
                f"customer-etl {env_name}: wraps the per-run data keys of the encrypted "
                "personal-data columns in the warehouse"
            ),
            enable_key_rotation=True,
            # Without this key the encrypted columns cannot be read again: same keeping
            # rules as the storage key. Its policy is CDK's default (the account delegates
            # to IAM); the grants to the functions that use it are in functions.py.
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
            pending_window=Duration.days(30 if retain else 7),
        )

        # CloudWatch Logs encrypts log groups with this key only if the key policy lets the
        # regional Logs service use it, and only for log groups of this account and region.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogs",
                principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
                actions=[
                    "kms:Encrypt*",
                    "kms:Decrypt*",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:Describe*",
                ],
                resources=["*"],
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:*"
                        )
                    }
                },
            )
        )
        # A CloudWatch alarm publishes to the encrypted alert topic as the CloudWatch
        # service, not as a role of ours: without this the alarm fires and nobody hears.
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
