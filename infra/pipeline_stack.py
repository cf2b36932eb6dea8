"""The change-approval path: a CDK Pipelines stack that deploys dev, then staging once the
integration tests pass against dev, then prod after a manual approval.

    npx aws-cdk@2 deploy --context pipeline=true     # once, into the tooling account

Its synth step is the repository's own checks (lint, types, the infra tests, which run
cdk-nag and cfn-lint over every template) followed by the synth of the three environments;
a finding in any of them stops the pipeline before anything is deployed. Settings are in
`config/pipeline.yaml` (docs/deployment.md, "The deployment pipeline").
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import yaml
from aws_cdk import aws_iam as iam
from aws_cdk import pipelines
from constructs import Construct
from pydantic import BaseModel, ConfigDict, Field

from infra.nag import acknowledge, flatten

REPO = Path(__file__).resolve().parents[1]
PIPELINE_CONFIG = REPO / "config" / "pipeline.yaml"

SYNTH_COMMANDS = (
    "make dev",
    "make lint typecheck",
    ".venv/bin/pytest -q -p no:cacheprovider tests/infra",
    "make synth-pipeline",
)
"""The synth step: the checks, then the pipeline's own synth (which holds every stage)."""

INTEGRATION_COMMANDS = (
    "make dev",
    ".venv/bin/pytest -q -p no:cacheprovider tests/integration",
)


class PipelineSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    account: str = Field(pattern=r"^\d{12}$", description="The tooling account.")
    region: str = Field(description="Region of the pipeline.")
    repository: str = Field(pattern=r"^[\w.-]+/[\w.-]+$", description="owner/name.")
    branch: str = Field("main", description="The branch whose commits are released.")
    connection_arn: str = Field(
        pattern=r"^arn:aws:(codestar-connections|codeconnections):",
        description="The CodeConnections connection to the repository's host.",
    )


def load_pipeline_settings(path: Path = PIPELINE_CONFIG) -> PipelineSettings:
    return PipelineSettings.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


class EnvironmentStage(cdk.Stage):
    """One environment's stacks, as a stage of the pipeline."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        env_name: str,
        environ: Mapping[str, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        # Imported here: infra.app imports this module for `--context pipeline=true`.
        from infra.app import add_environment

        self.stack = add_environment(self, env_name, environ)


class DeploymentPipelineStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: PipelineSettings,
        environ: Mapping[str, str],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        source = pipelines.CodePipelineSource.connection(
            settings.repository, settings.branch, connection_arn=settings.connection_arn
        )
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name="customer-etl",
            # The environments live in their own accounts.
            cross_account_keys=True,
            enable_key_rotation=True,
            synth=pipelines.ShellStep(
                "Synth",
                input=source,
                commands=list(SYNTH_COMMANDS),
                primary_output_directory="cdk.out",
            ),
        )
        self.stages: dict[str, EnvironmentStage] = {}
        for env_name in ("dev", "staging", "prod"):
            stage = EnvironmentStage(
                self, env_name.capitalize(), env_name=env_name, environ=environ
            )
            self.stages[env_name] = stage
            if env_name == "dev":
                # staging waits for the integration tests, run after dev is deployed.
                integration = pipelines.ShellStep(
                    "IntegrationTests", commands=list(INTEGRATION_COMMANDS)
                )
                self.pipeline.add_stage(stage, post=[integration])
            elif env_name == "prod":
                approval = pipelines.ManualApprovalStep(
                    "ApproveProd", comment="Release to prod: staging is deployed and validated."
                )
                self.pipeline.add_stage(stage, pre=[approval])
            else:
                self.pipeline.add_stage(stage)
        self.pipeline.build_pipeline()
        self._acknowledge_generated_findings()

    def _acknowledge_generated_findings(self) -> None:
        """CDK Pipelines writes the pipeline's roles itself: each of their wildcards is
        acknowledged on the policy that holds it, with the reason for its kind. A wildcard
        of a kind not listed here stays a finding and fails the synth."""
        acknowledge(
            self.pipeline.pipeline.artifact_bucket,
            "AwsSolutions-S1",
            "The pipeline's artifact bucket holds build outputs (templates and assets, no "
            "customer data); CloudTrail records who reads it.",
        )
        for node in self.node.find_all():
            if not isinstance(node, iam.CfnPolicy) or _in_stage(node):
                continue
            document = self.resolve(node.policy_document)
            for finding in wildcard_findings(document):
                reason = generated_reason(finding)
                if reason is not None:
                    acknowledge(node, f"AwsSolutions-IAM5[{finding}]", reason)


GENERATED_REASONS = (
    # (start of the finding, reason): CDK Pipelines' own grants.
    ("Action::kms:", "CDK Pipelines' grant on the pipeline's artifact key only."),
    ("Action::s3:", "CDK Pipelines' grant on the pipeline's artifact bucket only."),
    ("Resource::<PipelineArtifactsBucket", "Objects of the pipeline's artifact bucket."),
    (
        "Resource::arn:*:iam::",
        "Self-mutation and asset publishing assume the CDK bootstrap roles (deploy, "
        "file-publishing), limited by CDK to roles tagged by the bootstrap.",
    ),
    (
        "Resource::arn:aws:codebuild:",
        "Test reports of this pipeline's own CodeBuild projects, named by CodeBuild.",
    ),
    (
        "Resource::arn:aws:logs:",
        "Log streams of this pipeline's own CodeBuild projects, named by CodeBuild.",
    ),
    (
        "Resource::*",
        "CloudFormation DescribeStacks and the like, called by self-mutation: no "
        "resource-level permissions for the stacks CDK looks up.",
    ),
)


def generated_reason(finding: str) -> str | None:
    for start, reason in GENERATED_REASONS:
        if finding == start or (start != "Resource::*" and finding.startswith(start)):
            return reason
    return None


def wildcard_findings(document: Mapping[str, Any]) -> set[str]:
    """The IAM5 findings cdk-nag reports for a policy document: each wildcard action, and
    each resource with a wildcard, flattened as cdk-nag names them."""
    findings: set[str] = set()
    for statement in document.get("Statement", []):
        actions = statement.get("Action", [])
        for action in actions if isinstance(actions, list) else [actions]:
            if "*" in str(action):
                findings.add(f"Action::{action}")
        resources = statement.get("Resource", [])
        for resource in resources if isinstance(resources, list) else [resources]:
            flat = flatten(resource)
            if "*" in flat:
                findings.add(f"Resource::{flat}")
    return findings


def _in_stage(node: Construct) -> bool:
    """True for a construct of one of the environment stages (checked on their own)."""
    scope = node.node.scope
    while scope is not None:
        if isinstance(scope, cdk.Stage) and not isinstance(scope, cdk.App):
            return True
        scope = scope.node.scope
    return False
