"""Least privilege across the stack: one role per function, no deletes of checkpoints, no
re-encryption, the storage key only through AWS services, and every cdk-nag acknowledgment on
the one resource whose finding it justifies."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import aws_cdk as cdk
import pytest
from aws_cdk import Validations
from constructs import Construct

from infra.constructs.functions import FUNCTION_NAMES, HEALTH_PROBE_PREFIX
from infra.nag import acknowledge

if TYPE_CHECKING:
    from conftest import Synth

ACKNOWLEDGED = Validations.ACKNOWLEDGED_RULES_METADATA_KEY


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _role_policies(synth: Synth) -> dict[str, list[dict[str, Any]]]:
    """Role logical id -> every statement of the inline policies attached to it."""
    statements: dict[str, list[dict[str, Any]]] = {}
    for policy in synth.of_type("AWS::IAM::Policy").values():
        for role in policy["Properties"]["Roles"]:
            statements.setdefault(role["Ref"], []).extend(
                policy["Properties"]["PolicyDocument"]["Statement"]
            )
    return statements


def _function_roles(synth: Synth) -> dict[str, str]:
    """Function name -> role logical id."""
    roles = {}
    for function in synth.of_type("AWS::Lambda::Function").values():
        name = function["Properties"]["FunctionName"].removeprefix(f"customer-etl-{synth.env}-")
        roles[name] = function["Properties"]["Role"]["Fn::GetAtt"][0]
    return roles


def _checkpoints_arn(synth: Synth) -> dict[str, Any]:
    [logical_id] = [
        logical_id
        for logical_id, bucket in synth.of_type("AWS::S3::Bucket").items()
        if bucket["Properties"].get("LoggingConfiguration", {}).get("LogFilePrefix")
        == "checkpoints/"
    ]
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def test_each_function_has_a_role_of_its_own(synth: Synth) -> None:
    roles = _function_roles(synth)
    assert set(roles) == set(FUNCTION_NAMES)
    assert len(set(roles.values())) == len(FUNCTION_NAMES)
    for name, role in roles.items():
        assumed = synth.resources[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        assert [statement["Principal"] for statement in assumed] == [
            {"Service": "lambda.amazonaws.com"}
        ], name


def test_no_role_may_re_encrypt_or_use_a_wildcard_kms_or_s3_action(synth: Synth) -> None:
    for role, statements in _role_policies(synth).items():
        for statement in statements:
            for action in _listed(statement["Action"]):
                assert not action.startswith("kms:ReEncrypt"), role
                if action.startswith(("kms:", "s3:", "sqs:", "sns:", "dynamodb:")):
                    assert "*" not in action, (role, action)


def test_no_stage_function_may_delete_a_checkpoint(synth: Synth) -> None:
    bucket = _checkpoints_arn(synth)
    probe = {"Fn::Join": ["", [bucket, f"/{HEALTH_PROBE_PREFIX}*"]]}
    roles = _function_roles(synth)
    statements_by_role = _role_policies(synth)
    for name, role in roles.items():
        for statement in statements_by_role.get(role, []):
            deletes = [a for a in _listed(statement["Action"]) if a.startswith("s3:Delete")]
            if not deletes:
                continue
            # Only the health check deletes, and only its own probe object under health/.
            assert name == "health", name
            assert _listed(statement["Resource"]) == [probe]


def test_the_storage_key_is_usable_only_through_the_services_that_store_data(
    synth: Synth,
) -> None:
    [storage_key] = [
        logical_id
        for logical_id, key in synth.of_type("AWS::KMS::Key").items()
        if "buckets" in key["Properties"]["Description"]
    ]
    arn = {"Fn::GetAtt": [storage_key, "Arn"]}
    region = synth.config.aws.region
    allowed = {f"{service}.{region}.amazonaws.com" for service in ("s3", "sqs", "sns", "dynamodb")}
    seen = 0
    for role, statements in _role_policies(synth).items():
        for statement in statements:
            if arn not in _listed(statement["Resource"]):
                continue
            seen += 1
            via = statement["Condition"]["StringEquals"]["kms:ViaService"]
            assert set(_listed(via)) <= allowed, role
            assert set(_listed(statement["Action"])) == {"kms:Decrypt", "kms:GenerateDataKey"}
    # Every function but start and subject_request (the warehouse alone), and the state machine.
    assert seen >= len(FUNCTION_NAMES) - 2


def test_every_acknowledgment_sits_on_one_resource(synth: Synth) -> None:
    acknowledged = [
        node
        for node in synth.stack.node.find_all()
        if any(entry.type == ACKNOWLEDGED for entry in node.node.metadata)
    ]
    assert acknowledged  # the stack has intended findings; they must be found here
    for node in acknowledged:
        assert isinstance(node, cdk.CfnResource), node.node.path


def test_an_acknowledgment_on_a_construct_of_several_resources_is_refused() -> None:
    stack = cdk.Stack(cdk.App())
    group = Construct(stack, "Group")
    cdk.CfnResource(group, "One", type="AWS::SNS::Topic")
    cdk.CfnResource(group, "Two", type="AWS::SNS::Topic")
    with pytest.raises(TypeError, match="not one resource"):
        acknowledge(group, "AwsSolutions-SNS2", "never")


def test_acknowledgment_reasons_are_specific(synth: Synth) -> None:
    reasons = [
        reason
        for node in synth.stack.node.find_all()
        for entry in node.node.metadata
        if entry.type == ACKNOWLEDGED
        for reason in dict(entry.data).values()
    ]
    assert all(len(reason) >= 40 for reason in reasons), json.dumps(reasons)
