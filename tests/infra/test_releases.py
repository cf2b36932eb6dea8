"""Releases roll back by moving an alias: every function has versions and a `live` alias,
and every caller invokes the alias, never the function's unqualified ARN."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from infra.constructs.functions import FUNCTION_NAMES, LIVE_ALIAS

if TYPE_CHECKING:
    from conftest import Synth


def _aliases(synth: Synth) -> dict[str, str]:
    """Function logical id -> its alias's logical id."""
    return {
        alias["Properties"]["FunctionName"]["Ref"]: logical_id
        for logical_id, alias in synth.of_type("AWS::Lambda::Alias").items()
    }


def test_every_function_has_a_live_alias_on_a_kept_version(synth: Synth) -> None:
    functions = synth.of_type("AWS::Lambda::Function")
    aliases = _aliases(synth)
    assert set(aliases) == set(functions)
    assert len(functions) == len(FUNCTION_NAMES)
    versions = synth.of_type("AWS::Lambda::Version")
    for function_id, alias_id in aliases.items():
        alias = synth.resources[alias_id]["Properties"]
        assert alias["Name"] == LIVE_ALIAS
        version_id = alias["FunctionVersion"]["Fn::GetAtt"][0]
        version = versions[version_id]
        assert version["Properties"]["FunctionName"] == {"Ref": function_id}
        # Kept when a new version replaces it: the one to roll back to.
        assert version["DeletionPolicy"] == "Retain"


def _alias_refs(synth: Synth) -> list[dict[str, Any]]:
    return [{"Ref": alias_id} for alias_id in _aliases(synth).values()]


def test_the_state_machine_invokes_the_aliases(synth: Synth) -> None:
    [machine] = synth.of_type("AWS::StepFunctions::StateMachine").values()
    substitutions = machine["Properties"]["DefinitionSubstitutions"]
    aliases = _alias_refs(synth)
    for name in ("Extract", "Transform", "Enrich", "Load"):
        assert substitutions[f"{name}FunctionArn"] in aliases, name


def test_rules_and_schedules_invoke_the_aliases(synth: Synth) -> None:
    aliases = _alias_refs(synth)
    targets = [
        target["Arn"]
        for rule in synth.of_type("AWS::Events::Rule").values()
        # Every rule of the stack targets a function: the landing, status and retention.
        for target in rule["Properties"].get("Targets", [])
    ]
    targets += [
        schedule["Properties"]["Target"]["Arn"]
        for schedule in synth.of_type("AWS::Scheduler::Schedule").values()
    ]
    assert targets
    assert all(target in aliases for target in targets), targets
    # Nothing grants invoking the unqualified function: a caller could bypass the alias.
    functions = {
        f'{{"Fn::GetAtt": ["{f}", "Arn"]}}' for f in synth.of_type("AWS::Lambda::Function")
    }
    for permission in synth.of_type("AWS::Lambda::Permission").values():
        assert json.dumps(permission["Properties"]["FunctionName"]) not in functions
