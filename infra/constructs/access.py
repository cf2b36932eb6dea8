"""Least-privilege grants: the exact actions each function calls, on the resources it calls
them on.

CDK's convenience grants (`grant_read_write`, `grant_send_messages`, `grant_publish`,
`grant_read_write_data`) give more than the code uses: every object action of a bucket
(`s3:DeleteObject*` included), and on the KMS key `kms:ReEncrypt*` and `kms:GenerateDataKey*`.
These helpers write the statements instead, from what the adapters call
(`customer_etl.adapters`): boto3 operation by operation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from aws_cdk import CfnResource, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs

from infra.nag import cfn_resource

STORAGE_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")
"""What a caller of an S3 bucket, SQS queue, SNS topic or DynamoDB table encrypted with the
storage key needs of it: the service makes a data key to write and decrypts one to read, as
the caller."""

OBJECT_READ_ACTIONS = ("s3:GetObject", "s3:GetObjectVersion")
"""download_file and get_object (with a VersionId for a pinned landed object)."""

OBJECT_WRITE_ACTIONS = ("s3:PutObject", "s3:AbortMultipartUpload")
"""put_object and upload_file (multipart above 8 MB, aborted by boto3 when a part fails).
No delete: a checkpoint is replaced by writing it again, never removed by a stage."""

LIST_ACTIONS = ("s3:ListBucket",)
"""So that a missing object is a 404 (NoSuchKey, which the adapters handle) rather than
a 403 AccessDenied."""

PUBLISH_ACTIONS = ("sns:Publish",)
SEND_ACTIONS = ("sqs:SendMessage",)


def grant_storage_key(grantee: iam.IGrantable, key: kms.IKey, services: Iterable[str]) -> None:
    """The storage key, only as used by `services` (s3, sqs, sns, dynamodb) on the grantee's
    behalf: never to call KMS directly."""
    stack = Stack.of(key)
    via = sorted(f"{service}.{stack.region}.amazonaws.com" for service in set(services))
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=list(STORAGE_KEY_ACTIONS),
            resources=[key.key_arn],
            conditions={"StringEquals": {"kms:ViaService": via}},
        )
    )


def grant_field_key(
    grantee: iam.IGrantable,
    key: kms.IKey,
    actions: Sequence[str],
    context: Mapping[str, str],
    context_keys: Sequence[str] | None = None,
) -> None:
    """The field key, only under an encryption context whose pairs include `context` and,
    given `context_keys`, whose keys are among them: a data key made under another context
    (another application's, the health probe's) cannot be unwrapped with this grant."""
    conditions: dict[str, dict[str, object]] = {
        "StringEquals": {f"kms:EncryptionContext:{name}": value for name, value in context.items()}
    }
    if context_keys is not None:
        conditions["ForAllValues:StringEquals"] = {
            "kms:EncryptionContextKeys": sorted(context_keys)
        }
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=list(actions), resources=[key.key_arn], conditions=conditions)
    )


def grant_objects(
    grantee: iam.IGrantable,
    bucket: s3.IBucket,
    patterns: Sequence[str],
    *,
    read: bool = False,
    write: bool = False,
    delete: bool = False,
) -> None:
    """Object actions under `patterns` (key patterns such as `runs/*`) of one bucket."""
    actions = [
        *(OBJECT_READ_ACTIONS if read else ()),
        *(OBJECT_WRITE_ACTIONS if write else ()),
        *(("s3:DeleteObject",) if delete else ()),
    ]
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(
            actions=actions, resources=[bucket.arn_for_objects(pattern) for pattern in patterns]
        )
    )


def grant_list(grantee: iam.IGrantable, bucket: s3.IBucket) -> None:
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=list(LIST_ACTIONS), resources=[bucket.bucket_arn])
    )


def grant_publish(grantee: iam.IGrantable, topic: sns.ITopic) -> None:
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=list(PUBLISH_ACTIONS), resources=[topic.topic_arn])
    )


def grant_send(grantee: iam.IGrantable, queue: sqs.IQueue) -> None:
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=list(SEND_ACTIONS), resources=[queue.queue_arn])
    )


def grant_table(grantee: iam.IGrantable, table: dynamodb.ITable, actions: Sequence[str]) -> None:
    grantee.grant_principal.add_to_principal_policy(
        iam.PolicyStatement(actions=list(actions), resources=[table.table_arn])
    )


def default_policy(role: iam.IRole) -> CfnResource:
    """The CloudFormation policy holding a role's grants: the one resource an acknowledgment
    of a finding in those grants belongs on."""
    policy = role.node.try_find_child("DefaultPolicy")
    assert policy is not None, f"{role.node.path} has no grants"
    return cfn_resource(policy)
