"""The landing bucket (CSV files arrive here), the checkpoint bucket (Parquet between stages)
and the reports bucket (the scheduled period reports)."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from customer_etl.config.retention import RetentionSettings

RUNS_PREFIX = "runs/"
"""The checkpoints of every run in the checkpoint bucket (adapters/aws.py)."""
QUARANTINE_PREFIX = "quarantine/"
"""The quarantined records in the checkpoint bucket (adapters/aws.py)."""

NONCURRENT_VERSION_EXPIRY_DAYS = 30
"""Versioning guards against an accidental overwrite; old versions must still expire, or a
deletion made for retention would leave the personal data behind in a previous version."""

ACCESS_LOG_EXPIRY_DAYS = 365


def object_days(retention: RetentionSettings, store: str) -> int:
    """The days the objects of `store` are kept: the period of its retention class (S3
    expires at the earliest one day after creation). The same classes drive the local
    retention job, so the two cannot disagree; a test checks the synthesised rules."""
    found = retention.class_of_store(store)
    if found is None:
        raise ValueError(
            f"no retention class holds the store {store}: add one to retention.classes"
        )
    return max(1, found[1].period_days)


def expiry_rule(
    rule_id: str, retention: RetentionSettings, store: str, prefix: str | None = None
) -> s3.LifecycleRule:
    """Expire the store's objects after its class's period, or move them to Glacier Deep
    Archive when the class archives (then nothing expires them)."""
    found = retention.class_of_store(store)
    assert found is not None
    days = Duration.days(object_days(retention, store))
    archive = found[1].action == "archive"
    return s3.LifecycleRule(
        id=rule_id,
        prefix=prefix,
        expiration=None if archive else days,
        transitions=[
            s3.Transition(storage_class=s3.StorageClass.DEEP_ARCHIVE, transition_after=days)
        ]
        if archive
        else None,
        noncurrent_version_expiration=Duration.days(1),
        abort_incomplete_multipart_upload_after=Duration.days(1),
    )


class Storage(Construct):
    """The data buckets and the reports bucket, encrypted with the pipeline key, plus their
    access-log bucket."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        retain: bool,
        retention: RetentionSettings,
    ) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY

        self.access_logs = access_log_bucket(self, "AccessLogs", removal)

        self.landing = data_bucket(
            self,
            "Landing",
            key=key,
            removal=removal,
            access_logs=self.access_logs,
            log_prefix="landing/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-old-versions",
                    noncurrent_version_expiration=Duration.days(NONCURRENT_VERSION_EXPIRY_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
        )
        # Turn on S3 -> EventBridge delivery through the bucket's own property:
        # `event_bridge_enabled=True` would do it with a custom-resource Lambda instead.
        cfn_landing = self.landing.node.default_child
        assert isinstance(cfn_landing, s3.CfnBucket)
        cfn_landing.add_property_override(
            "NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled", True
        )

        self.checkpoints = data_bucket(
            self,
            "Checkpoints",
            key=key,
            removal=removal,
            access_logs=self.access_logs,
            log_prefix="checkpoints/",
            # Old versions go after a day: a deletion made for retention must not leave the
            # personal data behind in a previous version.
            lifecycle_rules=[
                expiry_rule("expire-run-checkpoints", retention, "checkpoints", RUNS_PREFIX),
                expiry_rule("expire-quarantine", retention, "quarantine", QUARANTINE_PREFIX),
            ],
        )

        # Reports in a bucket of their own rather than under a prefix of the checkpoint
        # bucket: they hold counts and scores, never personal data, so an operator who reads
        # them needs no access to the checkpoints (which hold personal data), and they are
        # kept for their own retention class's period (a year by default).
        self.reports = data_bucket(
            self,
            "Reports",
            key=key,
            removal=removal,
            access_logs=self.access_logs,
            log_prefix="reports/",
            lifecycle_rules=[expiry_rule("expire-old-reports", retention, "reports")],
        )


def access_log_bucket(scope: Construct, construct_id: str, removal: RemovalPolicy) -> s3.Bucket:
    """The bucket S3 server access logs go to.

    S3 server access logs can only be delivered to a bucket encrypted with S3-managed keys
    (the logging service cannot use a customer key), hence a separate bucket.
    """
    return s3.Bucket(
        scope,
        construct_id,
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        versioned=True,
        # Object ownership left to CDK: it grants the logging service by bucket policy
        # (with cdk.json's feature flag) or by ACL, and each needs its own setting.
        removal_policy=removal,
        lifecycle_rules=[
            s3.LifecycleRule(
                id="expire-access-logs",
                expiration=Duration.days(ACCESS_LOG_EXPIRY_DAYS),
                noncurrent_version_expiration=Duration.days(NONCURRENT_VERSION_EXPIRY_DAYS),
            )
        ],
    )


def data_bucket(
    scope: Construct,
    construct_id: str,
    *,
    key: kms.IKey,
    removal: RemovalPolicy,
    access_logs: s3.IBucket,
    log_prefix: str,
    lifecycle_rules: list[s3.LifecycleRule],
    bucket_name: str | None = None,
) -> s3.Bucket:
    """A bucket of customer data: KMS-encrypted, versioned, private, TLS-only, logged."""
    return s3.Bucket(
        scope,
        construct_id,
        bucket_name=bucket_name,
        encryption=s3.BucketEncryption.KMS,
        encryption_key=key,
        # An S3 bucket key cuts the KMS requests (and their cost and throttling) from one
        # per object to one per bucket and time window.
        bucket_key_enabled=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        versioned=True,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        server_access_logs_bucket=access_logs,
        server_access_logs_prefix=log_prefix,
        lifecycle_rules=lifecycle_rules,
        # No auto_delete_objects: it adds a custom-resource Lambda, and emptying a bucket
        # of customer data should be a deliberate act (docs/deployment.md).
        removal_policy=removal,
    )
