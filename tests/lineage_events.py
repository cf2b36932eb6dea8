"""Reading a run's OpenLineage events and checking each against the spec's JSON schemas.

openlineage-python's wheel ships no JSON schema (only classes generated from them), and no
package on the registries does, so `tests/data/openlineage/schemas.json` holds the schemas
of core spec 2-0-2 and of the facet versions the client names, written from the published
specification with the spec's own `$id`s. Every event is validated as a RunEvent, and every
facet in it against the schema its `_schemaURL` names: a facet whose version is not there
fails, so a client upgrade that moves a facet to a new version is noticed.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource

SCHEMAS = Path(__file__).parent / "data" / "openlineage" / "schemas.json"
CORE = "https://openlineage.io/spec/2-0-2/OpenLineage.json"


def read_events(path: Path) -> list[dict[str, Any]]:
    """The events of a file transport's file, one JSON document per line."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@cache
def _registry() -> Registry:
    schemas = json.loads(SCHEMAS.read_text(encoding="utf-8"))["schemas"]
    return Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas
    )


def _validator(url: str) -> Draft202012Validator:
    """A validator of the definition a schema URL points to (`...json#/$defs/Name`)."""
    base, _, fragment = url.partition("#")
    if base not in _registry():
        raise AssertionError(f"no schema for {base}: add it to {SCHEMAS.name} from its spec")
    return Draft202012Validator(
        {"$ref": f"{base}#{fragment}"}, registry=_registry(), format_checker=FormatChecker()
    )


def facets(event: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every facet of an event, with where it sits."""
    yield from (("run." + k, v) for k, v in event["run"].get("facets", {}).items())
    yield from (("job." + k, v) for k, v in event["job"].get("facets", {}).items())
    for side in ("inputs", "outputs"):
        for dataset in event.get(side, []):
            for group in ("facets", "inputFacets", "outputFacets"):
                for name, facet in dataset.get(group, {}).items():
                    yield f"{side}.{dataset['name']}.{group}.{name}", facet


def validate(event: dict[str, Any]) -> None:
    """Raise when the event, or one of its facets, breaks its schema."""
    _validator(f"{CORE}#/$defs/RunEvent").validate(event)
    assert event["schemaURL"] == f"{CORE}#/$defs/RunEvent"
    uuid.UUID(event["run"]["runId"])
    assert datetime.fromisoformat(event["eventTime"]).tzinfo is not None
    for where, facet in facets(event):
        try:
            _validator(facet["_schemaURL"]).validate(facet)
        except Exception as error:
            raise AssertionError(f"{where}: {error}") from error


def by_job(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(job name, event type) of each event, in order."""
    return [(event["job"]["name"], event["eventType"]) for event in events]


def output(event: dict[str, Any], name_ends: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [d for d in event["outputs"] if d["name"].endswith(name_ends)]
    [dataset] = found
    return dataset
