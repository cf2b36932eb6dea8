"""Secrets come by reference only: `config show` and the configuration's error messages name
the reference and never print a secret's value."""

from __future__ import annotations

from pathlib import Path

import pytest

from customer_etl.runtime.cli import EXIT_OK, EXIT_USAGE, main

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery-staple"
API_KEY = "ch-live-0123456789abcdef"


def test_config_show_prints_references_not_the_secrets_they_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WAREHOUSE_PASSWORD", PASSWORD)
    monkeypatch.setenv("COMPANIES_HOUSE_API_KEY", API_KEY)
    monkeypatch.setenv("CUSTOMER_ETL__WAREHOUSE__PASSWORD_REF", "env:WAREHOUSE_PASSWORD")
    monkeypatch.setenv("CUSTOMER_ETL__ALERTS__SMTP__PASSWORD_REF", "env:WAREHOUSE_PASSWORD")

    code = main(["config", "show", "--config", str(REPO / "config" / "local.yaml")])

    shown = capsys.readouterr()
    assert code == EXIT_OK
    assert "password_ref: env:WAREHOUSE_PASSWORD" in shown.out
    assert "api_key_ref: env:COMPANIES_HOUSE_API_KEY" in shown.out
    assert PASSWORD not in shown.out + shown.err
    assert API_KEY not in shown.out + shown.err


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("CUSTOMER_ETL__WAREHOUSE__PASSWORD_REF", PASSWORD),
        ("CUSTOMER_ETL__ALERTS__SMTP__PASSWORD_REF", PASSWORD),
        ("CUSTOMER_ETL__ENRICHMENT__COMPANIES_HOUSE__API_KEY_REF", API_KEY),
        ("CUSTOMER_ETL__WAREHOUSE__URL", f"postgresql://etl:{PASSWORD}@db/warehouse"),
    ],
)
def test_a_secret_given_in_place_of_a_reference_is_refused_without_echoing_it(
    variable: str,
    value: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(variable, value)

    code = main(["config", "show", "--config", str(REPO / "config" / "local.yaml")])

    shown = capsys.readouterr()
    assert code == EXIT_USAGE
    assert "configuration error" in shown.err
    assert PASSWORD not in shown.out + shown.err
    assert API_KEY not in shown.out + shown.err
