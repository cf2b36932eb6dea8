"""The CDK app: `npx aws-cdk@2 synth --context env=staging` builds the stack of one environment.

cdk.json runs it as a module (`python3 -m infra.app`) from the repository root, so that
`infra/constructs/` is only ever `infra.constructs` and never shadows the `constructs` library.

The environment must be named on every invocation (no default in cdk.json), so that nobody
deploys staging by forgetting a flag.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks, ServerlessChecks
from constructs import Construct

from customer_etl.config import ConfigError, load_config
from infra.replica_stack import CustomerEtlReplicaStack
from infra.stack import CustomerEtlStack

REPO = Path(__file__).resolve().parents[1]

DEPLOYABLE_ENVIRONMENTS = ("dev", "staging", "prod")
"""Environments with an AWS account; `local` runs on one machine and has no stack."""

PROJECT = "customer-etl"

SKIP_BUNDLING_CONTEXT = "skip-bundling"
BUNDLING_STACKS_CONTEXT = "aws:cdk:bundling-stacks"


class DeploymentEnvironmentError(ValueError):
    """The app was not told which environment to build, or cannot build it."""


def stack_name(env_name: str) -> str:
    return f"{PROJECT}-{env_name}"


def build(app: cdk.App, environ: Mapping[str, str] | None = None) -> CustomerEtlStack:
    """Add the stack of the environment named by the `env` context value to `app`.

    `environ` holds the `CUSTOMER_ETL__...` overrides applied on top of the YAML file
    (default: this process's environment), as everywhere else the configuration is read.
    """
    env_name = app.node.try_get_context("env")
    valid = ", ".join(DEPLOYABLE_ENVIRONMENTS)
    if not env_name:
        raise DeploymentEnvironmentError(
            f"no environment selected: pass --context env=NAME, where NAME is one of {valid} "
            "(e.g. `make synth ENV=staging`)"
        )
    if env_name not in DEPLOYABLE_ENVIRONMENTS:
        raise DeploymentEnvironmentError(
            f"unknown environment {env_name!r}: --context env= must be one of {valid}"
        )

    stack = add_environment(app, env_name, os.environ if environ is None else environ)
    if _skip_bundling_asked(app):
        cdk.Annotations.of(stack).add_warning_v2(
            "customer-etl:unbundled",
            "asset bundling was skipped: the dependency layer holds its sources, not a build. "
            "Use this synth to read the template; never deploy it.",
        )

    # Every finding fails the synth unless acknowledged, with its reason, next to the
    # resource that causes it: the AWS Solutions and the Serverless packs.
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    return stack


def add_environment(
    scope: Construct, env_name: str, environ: Mapping[str, str]
) -> CustomerEtlStack:
    """The stacks of one environment (its replica stack too, with a secondary region) in
    `scope`: the app, or a stage of the deployment pipeline."""
    config_file = REPO / "config" / f"{env_name}.yaml"
    config = load_config(env_name, config_file=config_file, environ=environ)
    if config.aws.account is None:
        raise DeploymentEnvironmentError(
            f"{config_file}: aws.account is not set; the stack deploys to an explicit account "
            "so that synth needs no AWS credentials"
        )

    stack = CustomerEtlStack(
        scope,
        stack_name(env_name),
        config=config,
        env=cdk.Environment(account=config.aws.account, region=config.aws.region),
        description=f"customer-etl {env_name}: governed ETL pipeline for customer CSV records",
        # An environment whose data is kept is also protected from an accidental delete.
        termination_protection=config.aws.retain_data,
    )
    secondary = config.aws.secondary_region
    if secondary is not None:
        replica = CustomerEtlReplicaStack(
            scope,
            f"{stack_name(env_name)}-replica",
            config=config,
            env=cdk.Environment(account=config.aws.account, region=secondary),
            description=f"customer-etl {env_name}: replica buckets in the secondary region",
            termination_protection=config.aws.retain_data,
        )
        cdk.Tags.of(replica).add("project", PROJECT)
        cdk.Tags.of(replica).add("environment", env_name)
        # The replica buckets must exist before the primary's replication rules name them.
        stack.node.add_dependency(replica)
    cdk.Tags.of(stack).add("project", PROJECT)
    cdk.Tags.of(stack).add("environment", env_name)
    return stack


def skip_bundling_if_asked(app: cdk.App) -> None:
    """Honour `--context skip-bundling=true`: synthesise without building the layer.

    The CLI refuses `aws:` keys on its command line and bundles on every synth, which needs
    pip and the network; a template check needs neither. The assets of such a synth are the
    unbuilt sources, so it must never be deployed: the stack carries a warning saying so.
    """
    if not _skip_bundling_asked(app):
        return
    # Only possible before the first construct is added to the app.
    app.node.set_context(BUNDLING_STACKS_CONTEXT, [])


def _skip_bundling_asked(app: cdk.App) -> bool:
    # The CLI passes context values from the command line as strings.
    return str(app.node.try_get_context(SKIP_BUNDLING_CONTEXT)).lower() == "true"


PIPELINE_CONTEXT = "pipeline"


def build_pipeline(app: cdk.App, environ: Mapping[str, str] | None = None) -> cdk.Stack:
    """`--context pipeline=true`: the deployment pipeline stack, holding every environment."""
    from infra.pipeline_stack import DeploymentPipelineStack, load_pipeline_settings

    settings = load_pipeline_settings()
    stack = DeploymentPipelineStack(
        app,
        f"{PROJECT}-pipeline",
        settings=settings,
        environ=os.environ if environ is None else environ,
        env=cdk.Environment(account=settings.account, region=settings.region),
        description="customer-etl: deploys dev, then staging after the integration tests, "
        "then prod after a manual approval",
    )
    cdk.Tags.of(stack).add("project", PROJECT)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    return stack


def main() -> None:
    app = cdk.App()
    skip_bundling_if_asked(app)
    try:
        if str(app.node.try_get_context(PIPELINE_CONTEXT)).lower() == "true":
            build_pipeline(app)
        else:
            build(app)
    except (DeploymentEnvironmentError, ConfigError) as error:
        # A one-line message reads better in the CLI's output than a traceback.
        sys.exit(f"error: {error}")
    app.synth()


if __name__ == "__main__":
    main()
