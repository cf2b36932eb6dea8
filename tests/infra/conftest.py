"""Fixtures of the CDK tests: one synthesised template per environment, built once per session.

A synth costs a second or two (plus a few seconds to start the jsii runtime), so every test of
an environment shares the same `Template`. The apps get the context of cdk.json, as the CLI
would, because pytest does not read cdk.json and feature flags change the template.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# Before the first jsii import starts Node: Node 20 works, the banner is noise in test output.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
from aws_cdk.assertions import Template

from customer_etl.config import Config, load_config
from infra.app import build
from infra.stack import CustomerEtlStack

REPO = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ("dev", "staging", "prod")


def cdk_json_context() -> dict[str, Any]:
    context = json.loads((REPO / "cdk.json").read_text(encoding="utf-8"))["context"]
    assert isinstance(context, dict)
    return context


@dataclass(frozen=True)
class Synth:
    """The synthesised stack of one environment and the configuration it came from."""

    env: str
    config: Config
    stack: CustomerEtlStack
    template: Template

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        resources = self.template.to_json()["Resources"]
        assert isinstance(resources, dict)
        return resources

    def of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.resources.items()
            if resource["Type"] == resource_type
        }

    def live_ref(self, function_logical_id: str) -> dict[str, str]:
        """`{"Ref": id}` of the `live` alias of a function: what its callers invoke."""
        [logical_id] = [
            logical_id
            for logical_id, alias in self.of_type("AWS::Lambda::Alias").items()
            if alias["Properties"]["FunctionName"] == {"Ref": function_logical_id}
        ]
        return {"Ref": logical_id}

    def secret_ref(self, reference: str | None) -> dict[str, str]:
        """`{"Ref": id}` of the secret the stack created for `secretsmanager:NAME`."""
        assert reference is not None and reference.startswith("secretsmanager:")
        name = reference.removeprefix("secretsmanager:")
        [logical_id] = [
            logical_id
            for logical_id, secret in self.of_type("AWS::SecretsManager::Secret").items()
            if secret["Properties"]["Name"] == name
        ]
        return {"Ref": logical_id}


AppFactory = Callable[..., tuple[cdk.App, CustomerEtlStack]]


def make_app(
    env: str,
    *,
    validation: bool = False,
    outdir: Path | None = None,
    environ: dict[str, str] | None = None,
) -> tuple[cdk.App, CustomerEtlStack]:
    """An app holding the stack of `env`, with bundling skipped so that pip never runs;
    `environ` holds `CUSTOMER_ETL__...` overrides of the environment's file."""
    app = cdk.App(
        context={**cdk_json_context(), "env": env, "aws:cdk:bundling-stacks": []},
        builtin_cloud_formation_validation=validation,
        outdir=str(outdir) if outdir is not None else None,
    )
    return app, build(app, environ=environ or {})


@pytest.fixture(scope="session")
def app_factory() -> AppFactory:
    return make_app


@pytest.fixture(scope="session", params=ENVIRONMENTS)
def synth(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Synth:
    env = request.param
    assert isinstance(env, str)
    _app, stack = make_app(env, outdir=tmp_path_factory.mktemp(f"cdk-{env}"))
    # Template.from_stack runs the app's validation plugins: an unacknowledged cdk-nag
    # finding fails here, for every environment.
    template = Template.from_stack(stack)
    config = load_config(env, config_file=REPO / "config" / f"{env}.yaml", environ={})
    return Synth(env=env, config=config, stack=stack, template=template)
