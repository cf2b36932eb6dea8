"""The operator documents that cannot drift: each fails here when it names something that does
not exist, or quotes a figure other than the one its benchmark or drill last wrote.

What a document names is read from its markup, so the check is exact rather than a guess:

- an inline `code` span of a recognisable shape: `customer-etl CMD ...` (a CLI command and its
  options), `make TARGET`, `customer-etl-<env>-NAME` (an alarm of the synthesised stack), a
  path (has a `/` or a file extension: it must exist in the repository), a dotted lower-case
  key (a setting of the configuration model), a CamelCase name (an error class of the
  classification, or a metric the code emits or the dashboard shows); other spans are prose;
- a Markdown link or image to a relative path (it must exist beside the document);
- a figure, written `<!-- figure FILE:KEY.PATH -->TEXT<!-- /figure -->`: TEXT must be the
  value at KEY.PATH of docs/figures/FILE, rounded to as many decimals as TEXT shows.

The alarm and dashboard names come from docs/figures/dashboard.json, which
`scripts/dashboard_figures.py` writes from the synthesised stack and
tests/infra/test_dashboard_figures.py keeps equal to it.
"""

from __future__ import annotations

import argparse
import json
import re
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from customer_etl.alerting.classification import BUILT_IN
from customer_etl.config import Config
from customer_etl.observability import metric_names
from customer_etl.reporting.downtime_cost import CostInputs, downtime_costs
from customer_etl.reporting.energy import energy_figures
from customer_etl.runtime.cli_parser import parser as cli_parser
from customer_etl.runtime.cli_parser import with_every_command

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
FIGURES = DOCS / "figures"
PACKAGE = REPO / "layers" / "customer_etl" / "customer_etl"

DRIFTLESS = (
    "disaster-recovery.md",
    "failure-impact.md",
    "production-readiness.md",
    "monitoring-strategy.md",
    "observability-gaps.md",
    "resilience-testing.md",
    "manual-test-checklist.md",
    "change-management.md",
    "on-call.md",
    "dashboard-design.md",
    "environmental-impact.md",
)

FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
SPAN = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
LINK = re.compile(r"\]\(([^)\s]+)\)")
FIGURE = re.compile(
    r"<!-- figure (?P<file>[\w.-]+):(?P<key>[\w./-]+) -->(?P<text>.*?)<!-- /figure -->"
)
ALARM = re.compile(r"^customer-etl-<env>-[a-z0-9-]+$")
EXTENSIONS = (".py", ".md", ".json", ".yaml", ".yml", ".toml", ".png", ".csv", ".sh", ".cfg")
CONFIG_KEY = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+$")
CAMEL = re.compile(r"^[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)+$")
# How the code emits a metric: `add_metric(name="X"`, the API figures' `_emit("X"` and their
# table of names (`"ApiCalls": "calls"`).
EMITTED = re.compile(
    r'add_metric\(\s*name="(\w+)"|_emit\(\s*"(\w+)"|^\s+"(Api\w+)": "', re.MULTILINE
)
FILE_NAME_LITERAL = re.compile(r'"([\w.-]+\.(?:json|jsonl|parquet|html|pdf|csv))"')
NUMBER = re.compile(r"^-?[0-9][0-9,]*(?:\.[0-9]+)?$")


@dataclass(frozen=True)
class Known:
    """What exists: the names a document may use."""

    make_targets: frozenset[str]
    alarms: frozenset[str]
    written_files: frozenset[str]  # file names the code writes: a run's `summary.json`
    names: frozenset[str]  # error classes and metric names


def known() -> Known:
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    targets = frozenset(re.findall(r"^([A-Za-z0-9_.-]+):", makefile, re.MULTILINE))
    dashboard = json.loads((FIGURES / "dashboard.json").read_text(encoding="utf-8"))
    metrics = {
        value
        for name, value in vars(metric_names).items()
        if name.isupper() and isinstance(value, str)
    }
    emitted = {
        name
        for source in PACKAGE.rglob("*.py")
        for match in EMITTED.finditer(source.read_text(encoding="utf-8"))
        for name in match.groups()
        if name
    }
    shown = {
        metric
        for section in dashboard["sections"]
        for widget in section["widgets"]
        for metric in widget["metrics"]
    }
    literals = {
        name
        for source in PACKAGE.rglob("*.py")
        for name in FILE_NAME_LITERAL.findall(source.read_text(encoding="utf-8"))
    }
    return Known(
        make_targets=targets,
        written_files=frozenset(literals),
        alarms=frozenset(dashboard["alarms"]),
        names=frozenset({*BUILT_IN, *metrics, *emitted, *shown}),
    )


def spans(text: str) -> Iterator[str]:
    """The inline code spans of `text`, and each command line of its fenced blocks."""
    for block in FENCE.findall(text):
        for line in block.splitlines()[1:-1]:
            stripped = line.strip()
            if stripped.startswith(("customer-etl ", "make ")):
                yield stripped.split(" #", 1)[0].strip()
    yield from SPAN.findall(FENCE.sub("", text))


def config_key_exists(key: str) -> bool:
    model: Any = Config
    for part in key.split("."):
        if model is None:
            return True  # below a mapping or a free-form value
        fields = getattr(model, "model_fields", None)
        if fields is None or part not in fields:
            return False
        model = _model_of(fields[part].annotation)
    return True


def _model_of(annotation: Any) -> Any:
    """The pydantic model an annotation holds (through Optional), or None for a leaf."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        for argument in typing.get_args(annotation):
            found = _model_of(argument)
            if found is not None:
                return found
    return None


def cli_problem(command: str) -> str | None:
    current: argparse.ArgumentParser = with_every_command(cli_parser())
    for token in command.split()[1:]:
        if token.startswith("<") or token.startswith("$") or token.isupper():
            continue  # a placeholder: RUN_ID, <file>
        if token.startswith("-"):
            option = token.split("=", 1)[0]
            if option not in current._option_string_actions:
                return f"`{command}`: no option {option}"
            continue
        subcommands = [
            action for action in current._actions if isinstance(action, argparse._SubParsersAction)
        ]
        if subcommands:
            choices: Mapping[str, argparse.ArgumentParser] = subcommands[0].choices
            if token not in choices:
                return f"`{command}`: no command {token}"
            current = choices[token]
    return None


def path_exists(span: str, base: Path) -> bool:
    path = span.split("::", 1)[0].rstrip(",.")
    return (REPO / path).exists() or (base / path).exists()


def problems_in(text: str, names: Known, base: Path = DOCS) -> list[str]:
    """Everything `text` names that does not exist, and every figure that is not current."""
    found: list[str] = []
    for span in spans(text):
        span = span.strip()
        if span.startswith("customer-etl "):
            problem = cli_problem(span)
            if problem:
                found.append(problem)
        elif span.startswith("make "):
            target = next((word for word in span.split()[1:] if "=" not in word), "")
            if target not in names.make_targets:
                found.append(f"`{span}`: no make target {target!r}")
        elif ALARM.match(span):
            if span not in names.alarms:
                found.append(f"`{span}`: no such alarm in the synthesised stack")
        elif _looks_like_path(span):
            if not path_exists(span, base) and span not in names.written_files:
                found.append(f"`{span}`: no such file")
        elif CONFIG_KEY.match(span):
            if not config_key_exists(span):
                found.append(f"`{span}`: no such setting")
        elif CAMEL.match(span) and span not in names.names:
            found.append(f"`{span}`: no such error class or metric")
    for target in LINK.findall(text):
        if "://" in target or target.startswith(("#", "mailto:")):
            continue
        if not (base / target.split("#", 1)[0]).exists():
            found.append(f"link {target}: no such file")
    found.extend(figure_problems(text))
    return found


def _looks_like_path(span: str) -> bool:
    if " " in span or "<" in span or "*" in span or "{" in span or "://" in span:
        return False
    if span.startswith(("-", "/", "$", "AWS/")):  # AWS/States: a metric namespace
        return False
    return "/" in span or span.split("::", 1)[0].endswith(EXTENSIONS)


def figure_value(file: str, key: str) -> Any:
    """The value at `key` (parts separated by `/`) of docs/figures/`file`, or None."""
    source = FIGURES / file
    if not source.exists():
        return None
    value: Any = json.loads(source.read_text(encoding="utf-8"))
    for part in key.split("/"):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def figure_problems(text: str) -> list[str]:
    found = []
    for match in FIGURE.finditer(text):
        value = figure_value(match["file"], match["key"])
        shown = match["text"].strip()
        if value is None:
            found.append(f"figure {match['file']}:{match['key']}: no such file or value")
        elif not _same(shown, value):
            found.append(f"figure {match['file']}:{match['key']}: doc says {shown}, file {value}")
    return found


def _same(shown: str, value: Any) -> bool:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and NUMBER.match(shown):
        decimals = len(shown.split(".", 1)[1]) if "." in shown else 0
        return float(shown.replace(",", "")) == round(float(value), decimals)
    return shown == str(value)


@pytest.fixture(scope="module")
def names() -> Known:
    return known()


@pytest.mark.parametrize("document", DRIFTLESS)
def test_a_document_names_only_what_exists_and_quotes_current_figures(
    document: str, names: Known
) -> None:
    text = (DOCS / document).read_text(encoding="utf-8")
    problems = problems_in(text, names)
    assert not problems, f"{document}:\n" + "\n".join(problems)


@pytest.mark.parametrize("document", DRIFTLESS)
def test_a_document_quotes_at_least_one_checked_name(document: str, names: Known) -> None:
    """A document whose markup the checker cannot see would pass while drifting."""
    text = (DOCS / document).read_text(encoding="utf-8")
    checked = [span for span in spans(text) if _looks_like_path(span) or CONFIG_KEY.match(span)]
    assert checked, f"{document} names no file or setting in `code` markup"


def test_the_checker_finds_each_kind_of_drift(names: Known) -> None:
    """Each shape, wrong on purpose, is reported; the right ones are not."""
    text = "\n".join(
        [
            "`customer-etl resume RUN_ID` `customer-etl report --period daily`",
            "`customer-etl rewind RUN_ID` `customer-etl run FILE --no-such-option`",
            "`make drills` `make no-such-target`",
            "`customer-etl-<env>-unhealthy` `customer-etl-<env>-no-such-alarm`",
            "`docs/runbook.md` `docs/no-such-file.md` [ok](runbook.md) [bad](gone.md)",
            "`summary.json` `no-such-document.json` `AWS/States`",
            "`quality.max_bad_ratio` `quality.no_such_setting` `warehouse.tls`",
            "`WarehouseUnavailableError` `RunDurationSeconds` `NoSuchError` `NoSuchMetric`",
            "<!-- figure impact.json:expected_annual_cost -->999999<!-- /figure -->",
            "<!-- figure impact.json:no_such_value -->1<!-- /figure -->",
            "```bash\ncustomer-etl undo\n```",
        ]
    )
    problems = "\n".join(problems_in(text, names))
    for wrong in (
        "rewind",
        "--no-such-option",
        "no-such-target",
        "no-such-alarm",
        "docs/no-such-file.md",
        "gone.md",
        "quality.no_such_setting",
        "NoSuchError",
        "NoSuchMetric",
        "999999",
        "no_such_value",
        "undo",
        "no-such-document.json",
    ):
        assert wrong in problems
    for right in (
        "resume",
        "drills`",
        "unhealthy",
        "runbook.md",
        "max_bad_ratio",
        "Unavailable",
        "summary.json",
        "AWS/States",
    ):
        assert right not in problems, problems


def test_a_figure_matches_at_the_precision_the_document_shows() -> None:
    assert _same("4.3", 4.2871)
    assert _same("1,234", 1234.4)
    assert not _same("4.2", 4.2871)
    assert not _same("4", 5.0)


def test_the_failure_impact_assessment_covers_every_error_class() -> None:
    text = (DOCS / "failure-impact.md").read_text(encoding="utf-8")
    named = set(SPAN.findall(text))
    assert set(BUILT_IN) - named == set()


def test_the_downtime_cost_figures_are_the_model_of_the_current_inputs() -> None:
    """Changing an input or the classification without `make doc-figures` fails here."""
    inputs = CostInputs.model_validate(
        yaml.safe_load((REPO / "config" / "downtime-cost.yaml").read_text(encoding="utf-8"))
    )
    written = json.loads((FIGURES / "impact.json").read_text(encoding="utf-8"))
    assert written == json.loads(json.dumps(downtime_costs(inputs)))
    assert set(written["classes"]) == set(BUILT_IN)


def test_the_energy_figures_are_the_model_of_the_last_benchmark() -> None:
    bench = json.loads((FIGURES / "bench-pipeline.json").read_text(encoding="utf-8"))
    written = json.loads((FIGURES / "energy.json").read_text(encoding="utf-8"))
    assert written == json.loads(json.dumps(energy_figures(bench)))


def test_the_dashboard_design_shows_every_section() -> None:
    dashboard = json.loads((FIGURES / "dashboard.json").read_text(encoding="utf-8"))
    text = (DOCS / "dashboard-design.md").read_text(encoding="utf-8")
    for section in dashboard["sections"]:
        assert f"(figures/{section['png']})" in text
        assert (FIGURES / section["png"]).stat().st_size > 0
