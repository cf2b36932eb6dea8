"""The deployment pipeline: dev, then staging after the integration tests, then prod after a
manual approval; its synth step runs the checks (cdk-nag and cfn-lint among the infra tests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from infra.app import build_pipeline
from infra.pipeline_stack import SYNTH_COMMANDS, generated_reason, wildcard_findings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pipeline() -> dict[str, Any]:
    context = json.loads((REPO / "cdk.json").read_text(encoding="utf-8"))["context"]
    app = cdk.App(
        context={**context, "aws:cdk:bundling-stacks": []},
        builtin_cloud_formation_validation=False,
    )
    # Runs cdk-nag over the pipeline stack: an unacknowledged finding fails here.
    template = Template.from_stack(build_pipeline(app, environ={})).to_json()
    [machine] = [
        resource
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::CodePipeline::Pipeline"
    ]
    assert isinstance(machine, dict)
    return machine


def _actions(pipeline: dict[str, Any]) -> dict[str, list[tuple[str, str, int]]]:
    return {
        stage["Name"]: [
            (action["Name"], action["ActionTypeId"]["Category"], action["RunOrder"])
            for action in stage["Actions"]
        ]
        for stage in pipeline["Properties"]["Stages"]
    }


def test_the_environments_deploy_in_order_after_the_checks(pipeline: dict[str, Any]) -> None:
    stages = list(_actions(pipeline))
    assert stages[:2] == ["Source", "Build"]
    assert stages[-3:] == ["Dev", "Staging", "Prod"]


def test_staging_waits_for_the_integration_tests_and_prod_for_an_approval(
    pipeline: dict[str, Any],
) -> None:
    actions = _actions(pipeline)
    dev = actions["Dev"]
    # After dev's deploy, inside dev's stage: staging starts only when it passed.
    tests = [action for action in dev if action[0] == "IntegrationTests"]
    assert tests and tests[0][2] == max(order for _name, _kind, order in dev)
    first = min(actions["Prod"], key=lambda action: action[2])
    assert first[:2] == ("ApproveProd", "Approval")


def test_the_synth_step_runs_lint_types_and_the_infra_tests() -> None:
    assert "make lint typecheck" in SYNTH_COMMANDS
    assert any("tests/infra" in command for command in SYNTH_COMMANDS)


def test_only_the_kinds_of_wildcard_cdk_pipelines_writes_are_acknowledged() -> None:
    document = {
        "Statement": [
            {"Action": ["s3:GetObject*"], "Resource": "arn:aws:s3:::other-bucket/*"},
        ]
    }
    findings = wildcard_findings(document)
    assert findings == {"Action::s3:GetObject*", "Resource::arn:aws:s3:::other-bucket/*"}
    # The action is CDK Pipelines' kind; a bucket not its own is not.
    assert generated_reason("Action::s3:GetObject*") is not None
    assert generated_reason("Resource::arn:aws:s3:::other-bucket/*") is None
    assert generated_reason("Resource::*") is not None
