"""The subject-request function in the stack: no URL and no trigger (operators invoke it with
IAM), inside the warehouse's reach, and a role that can read the warehouse secret and the
blind-index secret and unwrap the pipeline's data keys, and nothing else of the data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from infra.constructs.functions import SUBJECT_REQUEST, WAREHOUSE_FUNCTIONS

if TYPE_CHECKING:
    from conftest import Synth


def _function(synth: Synth) -> tuple[str, dict[str, Any]]:
    [(logical_id, function)] = [
        (logical_id, function)
        for logical_id, function in synth.of_type("AWS::Lambda::Function").items()
        if function["Properties"]["FunctionName"] == f"customer-etl-{synth.env}-{SUBJECT_REQUEST}"
    ]
    return logical_id, function


def _statements(synth: Synth, role: str) -> list[dict[str, Any]]:
    return [
        statement
        for policy in synth.of_type("AWS::IAM::Policy").values()
        if {"Ref": role} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return action if isinstance(action, list) else [action]


def test_the_function_has_no_url_and_nothing_may_invoke_it_but_iam(synth: Synth) -> None:
    logical_id, function = _function(synth)
    assert function["Properties"]["Handler"] == "handler.handler"
    assert not synth.of_type("AWS::Lambda::Url"), "no function is public"
    alias = synth.live_ref(logical_id)
    for permission in synth.of_type("AWS::Lambda::Permission").values():
        target = permission["Properties"]["FunctionName"]
        assert target not in ({"Ref": logical_id}, alias), "no service or rule invokes it"
    assert SUBJECT_REQUEST in WAREHOUSE_FUNCTIONS


def test_its_role_reaches_the_warehouse_and_the_keys_only(synth: Synth) -> None:
    _, function = _function(synth)
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    statements = _statements(synth, role)
    actions = {action for statement in statements for action in _actions(statement)}
    assert not {a for a in actions if a.startswith(("s3:", "sqs:", "sns:", "dynamodb:"))}
    kms = [s for s in statements if any(a.startswith("kms:") for a in _actions(s))]
    [field_key] = [s for s in kms if "kms:Decrypt" in _actions(s) and "Condition" in s]
    assert _actions(field_key) == ["kms:Decrypt"], "unwraps data keys, never makes them"
    context = field_key["Condition"]["StringEquals"]
    assert context == {"kms:EncryptionContext:application": "customer-etl"}
    assert "kms:GenerateDataKey" not in actions
    secrets = [
        resource
        for s in statements
        if "secretsmanager:GetSecretValue" in _actions(s)
        for resource in (s["Resource"] if isinstance(s["Resource"], list) else [s["Resource"]])
    ]
    wanted = (synth.config.encryption.blind_index_key_ref, synth.config.warehouse.password_ref)
    refs = [synth.secret_ref(reference) for reference in wanted if reference]
    assert sorted(map(str, secrets)) == sorted(map(str, refs)), "those secrets, no other"
