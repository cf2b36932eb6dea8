"""The error classification: every error class has a row, every row a section of
docs/incident-response.md, and the configuration can override a row."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import customer_etl
from customer_etl.alerting.classification import BUILT_IN, UNEXPECTED, classify
from customer_etl.config import load_config
from customer_etl.config.error_classes import ErrorClassRule
from customer_etl.config.loader import ConfigError
from customer_etl.core.errors import CustomerEtlError
from tests.incident_guide import GUIDE, guide_anchors

REPO = Path(__file__).resolve().parents[2]
ENVIRONMENTS = ("local", "dev", "staging", "prod")


def _error_classes() -> set[str]:
    """Every CustomerEtlError subclass of the package, wherever it is defined. Alembic's
    migration environment runs a migration when imported, so it is left out."""
    for module in pkgutil.walk_packages(customer_etl.__path__, "customer_etl."):
        if not module.name.startswith("customer_etl.migrations"):
            importlib.import_module(module.name)

    def subclasses(cls: type[CustomerEtlError]) -> Iterator[type[CustomerEtlError]]:
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    found = {cls.__name__ for cls in subclasses(CustomerEtlError)}
    return found | {CustomerEtlError.__name__}


def test_every_error_class_of_the_package_is_classified() -> None:
    classes = _error_classes()
    assert {"EnrichmentDegradedError", "QualityThresholdError", "WarehouseSchemaError"} <= classes
    unclassified = sorted(classes - set(BUILT_IN))
    assert unclassified == [], f"add these to alerting/classification.py: {unclassified}"


def test_every_built_in_anchor_is_a_section_of_the_guide() -> None:
    anchors = guide_anchors()
    missing = {name: rule.anchor for name, rule in BUILT_IN.items() if rule.anchor not in anchors}
    assert missing == {}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_anchor_an_environment_configures_is_a_section_of_the_guide(env: str) -> None:
    config = load_config(env, REPO / "config" / f"{env}.yaml", environ={})
    anchors = guide_anchors()
    for name in set(BUILT_IN) | set(config.alerts.errors):
        assert classify(name, config.alerts.errors).anchor in anchors, name


def test_the_guide_s_matrix_is_the_built_in_classification() -> None:
    rows = re.findall(
        r"^\| `(\w+)` \| (\w+) \| (P\d) \| ([^|]+) \| \[\w+\]\(#([\w-]+)\) \|$",
        GUIDE.read_text(encoding="utf-8"),
        flags=re.MULTILINE,
    )
    in_guide = {name: (cat, sev, esc.strip(), anchor) for name, cat, sev, esc, anchor in rows}
    built_in = {
        name: (rule.category, rule.severity, rule.escalation, rule.anchor)
        for name, rule in BUILT_IN.items()
    }
    assert in_guide == built_in


def test_an_unknown_class_is_an_unexpected_error_that_pages() -> None:
    unknown = classify("KeyError")
    assert unknown.error_class == "KeyError"
    assert (unknown.severity, unknown.anchor) == ("P1", BUILT_IN[UNEXPECTED].anchor)


def test_a_subclass_keeps_its_own_row_not_its_parent_s() -> None:
    assert classify("WarehouseUnavailableError").severity == "P2"
    assert classify("WarehouseSchemaError").severity == "P1"
    assert classify("MappingError").anchor == "mappingerror"


def test_an_override_replaces_the_row_and_keeps_its_section() -> None:
    overrides = {
        "EnrichmentDegradedError": ErrorClassRule(
            category="dependency", severity="P3", escalation="data steward"
        )
    }
    result = classify("EnrichmentDegradedError", overrides)
    assert (result.severity, result.escalation) == ("P3", "data steward")
    assert result.anchor == "enrichmentdegradederror"
    assert classify("WarehouseSchemaError", overrides).severity == "P1"


def test_an_environment_variable_overrides_a_row_whatever_its_case(tmp_path: Path) -> None:
    # The loader lower-cases the keys of CUSTOMER_ETL__... variables.
    prefix = "CUSTOMER_ETL__ALERTS__ERRORS__WAREHOUSEUNAVAILABLEERROR__"
    environ = {
        f"{prefix}CATEGORY": "warehouse",
        f"{prefix}SEVERITY": "P1",
        f"{prefix}ESCALATION": "database administrators",
    }
    config = load_config("local", REPO / "config" / "local.yaml", environ=environ)
    result = classify("WarehouseUnavailableError", config.alerts.errors)
    assert (result.severity, result.escalation) == ("P1", "database administrators")


def test_a_severity_outside_p1_to_p3_is_refused_naming_the_key(tmp_path: Path) -> None:
    path = tmp_path / "local.yaml"
    path.write_text(
        "alerts:\n  errors:\n    InputFileError: {category: input, severity: P0, escalation: x}\n"
    )
    with pytest.raises(ConfigError, match=r"alerts\.errors\.InputFileError\.severity"):
        load_config("local", path, environ={})


def test_smtp_without_recipients_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "local.yaml"
    path.write_text("alerts:\n  smtp:\n    host: 127.0.0.1\n")
    with pytest.raises(ConfigError, match=r"alerts\.email\.to"):
        load_config("local", path, environ={})


def test_an_smtp_user_needs_a_password_reference(tmp_path: Path) -> None:
    path = tmp_path / "local.yaml"
    path.write_text("alerts:\n  smtp:\n    username: etl\n")
    with pytest.raises(ConfigError, match=r"alerts\.smtp\.password_ref"):
        load_config("local", path, environ={})
