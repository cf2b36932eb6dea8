"""Acknowledging cdk-nag findings that are intended, each with its reason."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from constructs import IConstruct


def cfn_resource(construct: IConstruct) -> CfnResource:
    """The CloudFormation resource of an L2 construct (or the resource itself)."""
    if isinstance(construct, CfnResource):
        return construct
    child = construct.node.default_child
    if not isinstance(child, CfnResource):
        raise TypeError(
            f"{construct.node.path} is not one resource: acknowledge a finding on the "
            "resource that causes it, never on a construct of several"
        )
    return child


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge `rule_id` on the one CloudFormation resource `scope` is (an L2 construct
    stands for its default child), never on a construct of several resources.

    cdk-nag 3 matches the id exactly: a rule that reports findings (IAM4, IAM5) needs one
    acknowledgment per finding, as `AwsSolutions-IAM5[Resource::*]`; the bare rule id does
    not cover them. That keeps every wildcard visible and explained.
    """
    Validations.of(cfn_resource(scope)).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def acknowledge_wildcard_action(scope: IConstruct, action: str, reason: str) -> None:
    acknowledge(scope, f"AwsSolutions-IAM5[Action::{action}]", reason)


def acknowledge_wildcard_resource(scope: IConstruct, resource: str, reason: str) -> None:
    """Acknowledge the IAM5 finding for `resource`, a value that may hold CDK tokens.

    The finding names the resource the way cdk-nag flattens CloudFormation references
    (`<LogicalId.Arn>/*`); computing it from the construct keeps the acknowledgment right
    when logical ids change.
    """
    flat = flatten(Stack.of(scope).resolve(resource))
    acknowledge(scope, f"AwsSolutions-IAM5[Resource::{flat}]", reason)


def flatten(node: Any) -> str:
    """cdk-nag's flattening of a resolved CloudFormation value into one string."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node.replace("${", "<").replace("}", ">")
    if isinstance(node, dict):
        if "Fn::Join" in node:
            delimiter, items = node["Fn::Join"]
            return str(delimiter).join(flatten(item) for item in items)
        if "Fn::Sub" in node:
            return flatten(node["Fn::Sub"])
        if "Fn::GetAtt" in node:
            resource, attribute = node["Fn::GetAtt"]
            return f"<{flatten(resource)}.{flatten(attribute)}>"
        if "Fn::ImportValue" in node:
            return flatten(node["Fn::ImportValue"])
        if "Ref" in node:
            return f"<{flatten(node['Ref'])}>"
    return json.dumps(node, separators=(",", ":"))
