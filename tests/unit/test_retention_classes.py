"""Retention classes in the configuration: the defaults a DPO expects, the classes the
classification policies name, and the deprecated single period."""

from __future__ import annotations

from pathlib import Path

import pytest

from customer_etl.config import ConfigError, load_config
from customer_etl.config.retention import RetentionSettings


def load(tmp_path: Path, yaml_text: str) -> RetentionSettings:
    path = tmp_path / "local.yaml"
    path.write_text("environment: local\n" + yaml_text)
    return load_config("local", path, environ={}).retention


def test_the_default_classes_are_the_ones_a_dpo_expects(tmp_path: Path) -> None:
    classes = load(tmp_path, "").effective_classes()
    expected = {
        "customer": (2190, "last_seen", "delete"),
        "marketing": (0, "consent_withdrawn", "delete"),
        "quarantine": (30, "run_end", "delete"),
        "checkpoints": (7, "run_end", "delete"),
        "logs": (90, "run_end", "delete"),
        "reports": (365, "run_end", "delete"),
        "special": (30, "run_end", "delete"),
        "enrichment_cache": (30, "run_end", "delete"),
    }
    assert {n: (c.period_days, c.runs_from, c.action) for n, c in classes.items()} == expected
    assert classes["marketing"].lawful_basis == "consent"
    assert classes["customer"].stores == ("warehouse_customers",)


def test_a_class_the_policies_name_must_be_defined(tmp_path: Path) -> None:
    yaml_text = (
        "privacy:\n  classification:\n    policies:\n"
        "      email: {handling: encrypt, retention_class: contact_2y}\n"
    )
    with pytest.raises(ConfigError, match="retention class\\(es\\) contact_2y"):
        load(tmp_path, yaml_text)
    defined = yaml_text + (
        "retention:\n  classes:\n"
        "    customer: {period_days: 10, runs_from: last_seen, lawful_basis: contract,"
        " action: delete, purpose: p, stores: [warehouse_customers]}\n"
        "    special: {period_days: 1, runs_from: run_end, lawful_basis: contract,"
        " action: delete, purpose: p}\n"
        "    contact_2y: {period_days: 730, runs_from: signup, lawful_basis: contract,"
        " action: anonymise, purpose: p}\n"
    )
    assert set(load(tmp_path, defined).classes) == {"customer", "special", "contact_2y"}


def test_the_deprecated_single_period_maps_onto_the_customer_class(tmp_path: Path) -> None:
    settings = load(tmp_path, "retention:\n  customer_retention_days: 400\n")
    assert settings.effective_classes()["customer"].period_days == 400
    assert settings.customer_period_days() == 400
    assert settings.classes["customer"].period_days == 2190, "the class itself is unchanged"


@pytest.mark.parametrize(
    ("klass", "said"),
    [
        (
            "{period_days: 1, runs_from: run_end, lawful_basis: consent, action: delete,"
            " purpose: p, stores: [warehouse_customers]}",
            "warehouse_customers can run from",
        ),
        (
            "{period_days: 1, runs_from: last_seen, lawful_basis: consent, action: delete,"
            " purpose: p, stores: [logs]}",
            "logs runs from run_end",
        ),
        (
            "{period_days: 1, runs_from: run_end, lawful_basis: consent, action: anonymise,"
            " purpose: p, stores: [quarantine]}",
            "quarantine can be",
        ),
        (
            "{period_days: 1, runs_from: run_end, lawful_basis: consent, action: delete,"
            " purpose: p, stores: [checkpoints]}",
            "checkpoints is in two retention classes",
        ),
    ],
)
def test_a_class_that_cannot_be_applied_is_a_configuration_error(
    tmp_path: Path, klass: str, said: str
) -> None:
    defaults = RetentionSettings().classes
    lines = "".join(f"    {name}: {c.model_dump_json()}\n" for name, c in defaults.items())
    with pytest.raises(ConfigError, match=said):
        load(tmp_path, f"retention:\n  classes:\n{lines}    extra: {klass}\n")


def test_a_class_that_anonymises_customers_needs_the_pseudonyms_key(tmp_path: Path) -> None:
    defaults = RetentionSettings().classes
    lines = "".join(
        f"    {name}: {c.model_dump_json()}\n" for name, c in defaults.items() if name != "customer"
    )
    customer = defaults["customer"].model_copy(update={"action": "anonymise"})
    yaml_text = f"retention:\n  classes:\n{lines}    customer: {customer.model_dump_json()}\n"
    with pytest.raises(ConfigError, match=r"set retention\.anonymise_key_ref"):
        load(tmp_path, yaml_text)
    keyed = load(tmp_path, yaml_text + "  anonymise_key_ref: env:RETENTION_KEY\n")
    assert keyed.classes["customer"].action == "anonymise"
