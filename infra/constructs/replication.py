"""Active-passive copies of the landed files and the checkpoints in a secondary region.

`ReplicaStorage` (in the secondary region's stack): a KMS key and the two replica buckets,
named from the environment, account and region so that the primary can name them without a
cross-region reference. `Replication` (in the primary stack): the S3 replication role and
rules that copy every new object version, delete markers included, to them.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.storage import access_log_bucket, data_bucket
from infra.nag import acknowledge_wildcard_resource

REPLICATED = ("landing", "checkpoints")


def replica_bucket_name(env_name: str, account: str, region: str, kind: str) -> str:
    return f"customer-etl-{env_name}-{account}-{region}-{kind}"


def replica_key_alias(env_name: str) -> str:
    return f"alias/customer-etl-{env_name}-replica"


class ReplicaStorage(Construct):
    """The replica buckets (versioned, KMS-encrypted, private, TLS-only, logged) and their
    key, in the secondary region."""

    def __init__(self, scope: Construct, construct_id: str, *, env_name: str, retain: bool) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        removal = RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY
        self.key = kms.Key(
            self,
            "Key",
            alias=replica_key_alias(env_name),
            description=f"customer-etl {env_name}: the replica buckets of the secondary region",
            enable_key_rotation=True,
            removal_policy=removal,
            pending_window=Duration.days(30 if retain else 7),
        )
        access_logs = access_log_bucket(self, "AccessLogs", removal)
        self.buckets = {
            kind: data_bucket(
                self,
                kind.capitalize(),
                bucket_name=replica_bucket_name(env_name, stack.account, stack.region, kind),
                key=self.key,
                removal=removal,
                access_logs=access_logs,
                log_prefix=f"{kind}/",
                lifecycle_rules=[
                    s3.LifecycleRule(
                        id="expire-old-versions",
                        noncurrent_version_expiration=Duration.days(30),
                        # Replicated checkpoints go when the originals do.
                        expiration=Duration.days(30) if kind == "checkpoints" else None,
                    )
                ],
            )
            for kind in REPLICATED
        }


class Replication(Construct):
    """Replicates `sources` (kind -> bucket) to the replica buckets of `region`."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        region: str,
        key: kms.IKey,
        sources: dict[str, s3.Bucket],
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("s3.amazonaws.com"),
            description=f"customer-etl {env_name}: S3 replication to {region}",
        )
        alias_arn = stack.format_arn(
            service="kms", region=region, resource=replica_key_alias(env_name)
        )
        for kind, bucket in sources.items():
            destination = (
                f"arn:{stack.partition}:s3:::"
                f"{replica_bucket_name(env_name, stack.account, region, kind)}"
            )
            self.role.add_to_policy(
                iam.PolicyStatement(
                    actions=["s3:GetReplicationConfiguration", "s3:ListBucket"],
                    resources=[bucket.bucket_arn],
                )
            )
            self.role.add_to_policy(
                iam.PolicyStatement(
                    actions=[
                        "s3:GetObjectVersionForReplication",
                        "s3:GetObjectVersionAcl",
                        "s3:GetObjectVersionTagging",
                    ],
                    resources=[bucket.arn_for_objects("*")],
                )
            )
            self.role.add_to_policy(
                iam.PolicyStatement(
                    actions=["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                    resources=[f"{destination}/*"],
                )
            )
            cfn = bucket.node.default_child
            assert isinstance(cfn, s3.CfnBucket)
            cfn.add_property_override(
                "ReplicationConfiguration",
                {
                    "Role": self.role.role_arn,
                    "Rules": [
                        {
                            "Id": f"replicate-{kind}",
                            "Status": "Enabled",
                            "Priority": 1,
                            "Filter": {"Prefix": ""},
                            "DeleteMarkerReplication": {"Status": "Enabled"},
                            "SourceSelectionCriteria": {
                                "SseKmsEncryptedObjects": {"Status": "Enabled"}
                            },
                            "Destination": {
                                "Bucket": destination,
                                # S3 takes the alias ARN: the key is named, not referenced
                                # across regions.
                                "EncryptionConfiguration": {"ReplicaKmsKeyID": alias_arn},
                            },
                        }
                    ],
                },
            )
        # Reading the source objects (storage key, through S3 here) and writing the replicas
        # (the replica key, through S3 there, found by its alias).
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:Decrypt"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": f"s3.{stack.region}.amazonaws.com"}},
            )
        )
        replica_keys = stack.format_arn(
            service="kms", region=region, resource="key", resource_name="*"
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["kms:Encrypt", "kms:GenerateDataKey"],
                resources=[replica_keys],
                conditions={
                    "StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"},
                    "ForAnyValue:StringEquals": {
                        "kms:ResourceAliases": [replica_key_alias(env_name)]
                    },
                },
            )
        )
        policy = self.role.node.find_child("DefaultPolicy")
        for bucket in sources.values():
            acknowledge_wildcard_resource(
                policy,
                bucket.arn_for_objects("*"),
                "S3 replication reads every new version of every object of this one bucket.",
            )
        for kind in sources:
            acknowledge_wildcard_resource(
                policy,
                f"arn:{stack.partition}:s3:::"
                f"{replica_bucket_name(env_name, stack.account, region, kind)}/*",
                "S3 replication writes every object into this one replica bucket.",
            )
        acknowledge_wildcard_resource(
            policy,
            replica_keys,
            "The replica key lives in the other region and is found by its alias: the "
            "kms:ResourceAliases condition narrows the grant to that one key.",
        )
