"""The optional secondary region: replica buckets there, replication rules and a
least-privilege replication role here, both stacks clean under cdk-nag."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from customer_etl.config import ConfigError
from infra.app import build
from infra.constructs.replication import REPLICATED, replica_bucket_name, replica_key_alias

if TYPE_CHECKING:
    from conftest import AppFactory

SECONDARY = {
    "CUSTOMER_ETL__AWS__SECONDARY_REGION": "eu-west-1",
    "CUSTOMER_ETL__AWS__RESIDENCY__REGIONS__GB": "[eu-west-2, eu-west-1]",
}
ACCOUNT = "333333333333"


@pytest.fixture(scope="module")
def stacks(
    app_factory: AppFactory, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], dict[str, Any]]:
    """prod with a secondary region: (primary resources, replica resources); one synth."""
    app, primary = app_factory(
        "prod", outdir=tmp_path_factory.mktemp("cdk-replica"), environ=SECONDARY
    )
    replica = app.node.find_child("customer-etl-prod-replica")
    assert isinstance(replica, cdk.Stack)
    assert replica.region == "eu-west-1"
    # Both run the app's cdk-nag checks.
    resources = (
        Template.from_stack(primary).to_json()["Resources"],
        Template.from_stack(replica).to_json()["Resources"],
    )
    # The replica buckets are deployed first: the primary's replication names them.
    artifact = app.synth().get_stack_by_name("customer-etl-prod")
    assert "customer-etl-prod-replica" in [dependency.id for dependency in artifact.dependencies]
    return resources


def _of_type(resources: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {key: value for key, value in resources.items() if value["Type"] == kind}


def test_the_replica_buckets_are_named_encrypted_versioned_and_private(
    stacks: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    _primary, replica = stacks
    buckets = {
        bucket["Properties"].get("BucketName"): bucket
        for bucket in _of_type(replica, "AWS::S3::Bucket").values()
    }
    [key_id] = _of_type(replica, "AWS::KMS::Key")
    [alias] = _of_type(replica, "AWS::KMS::Alias").values()
    assert alias["Properties"]["AliasName"] == replica_key_alias("prod")
    for kind in REPLICATED:
        bucket = buckets[replica_bucket_name("prod", ACCOUNT, "eu-west-1", kind)]
        properties = bucket["Properties"]
        assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
        [rule] = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"] == {
            "Fn::GetAtt": [key_id, "Arn"]
        }
        assert properties["PublicAccessBlockConfiguration"]["BlockPublicAcls"] is True
        assert bucket["DeletionPolicy"] == "Retain"  # prod keeps its data


def test_landing_and_checkpoints_replicate_every_version_to_the_replicas(
    stacks: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    primary, _replica = stacks
    configured = {
        json.dumps(bucket["Properties"]["ReplicationConfiguration"]["Rules"][0]["Destination"])
        for bucket in _of_type(primary, "AWS::S3::Bucket").values()
        if "ReplicationConfiguration" in bucket["Properties"]
    }
    alias_arn = f"arn:aws:kms:eu-west-1:{ACCOUNT}:{replica_key_alias('prod')}"
    assert configured == {
        json.dumps(
            {
                "Bucket": f"arn:aws:s3:::{replica_bucket_name('prod', ACCOUNT, 'eu-west-1', k)}",
                "EncryptionConfiguration": {"ReplicaKmsKeyID": alias_arn},
            }
        )
        for k in REPLICATED
    }


def test_the_replication_role_may_only_replicate(
    stacks: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    primary, _replica = stacks
    [role_id] = [
        logical_id
        for logical_id, role in _of_type(primary, "AWS::IAM::Role").items()
        if "S3 replication" in role["Properties"].get("Description", "")
    ]
    actions = {
        action
        for policy in _of_type(primary, "AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    }
    assert actions == {
        "s3:GetReplicationConfiguration",
        "s3:ListBucket",
        "s3:GetObjectVersionForReplication",
        "s3:GetObjectVersionAcl",
        "s3:GetObjectVersionTagging",
        "s3:ReplicateObject",
        "s3:ReplicateDelete",
        "s3:ReplicateTags",
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey",
    }


def test_a_secondary_region_outside_the_residency_rule_is_refused(tmp_path: Path) -> None:
    app = cdk.App(context={"env": "prod", "aws:cdk:bundling-stacks": []}, outdir=str(tmp_path))
    with pytest.raises(ConfigError, match="secondary_region"):
        build(app, environ={"CUSTOMER_ETL__AWS__SECONDARY_REGION": "us-east-1"})
