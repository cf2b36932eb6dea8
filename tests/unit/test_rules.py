"""Each kind of rule of the engine, the shipped rules, and rules files."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from customer_etl.core.context import RunContext
from customer_etl.core.schema import CANONICAL_COLUMNS
from customer_etl.quality.engine import Evaluation, as_dates, evaluate
from customer_etl.quality.rules import RulesError, RuleSet, load_rules

TODAY = date(2026, 6, 15)


def frame(*rows: dict[str, Any]) -> pd.DataFrame:
    """Object columns, None where a row does not give a field."""
    return pd.DataFrame([{name: row.get(name) for name in CANONICAL_COLUMNS} for row in rows])


def run(rules: list[Any], *rows: dict[str, Any], context: RunContext | None = None) -> Evaluation:
    rule_set = RuleSet.model_validate({"rules": rules})
    return evaluate(frame(*rows), rule_set, context or RunContext("r", TODAY))


def failed(evaluation: Evaluation) -> list[bool]:
    return [bool(flag) for flag in evaluation.quarantined()]


def test_required_fails_an_empty_value() -> None:
    result = run([{"check": "required", "field": "email"}], {"email": "a@b.co"}, {})
    assert failed(result) == [False, True]
    assert result.outcomes[0].rule.code == "missing_email"


def test_other_rules_ignore_a_missing_value() -> None:
    result = run([{"check": "format", "field": "email", "format": "email"}], {})
    assert failed(result) == [False]
    assert result.outcomes[0].applied.tolist() == [False]


def test_max_length_uses_the_schema_length_unless_given() -> None:
    rules = [
        {"check": "max_length", "field": "first_name"},
        {"check": "max_length", "field": "last_name", "max": 3},
    ]
    result = run(rules, {"first_name": "A" * 100}, {"first_name": "A" * 101}, {"last_name": "Leee"})
    assert failed(result) == [False, True, True]


@pytest.mark.parametrize(
    ("value", "valid", "normalised"),
    [
        ("Ann.Lee@Example.COM", True, "ann.lee@example.com"),
        ("ann.example.com", False, None),
        ("ann@@example.com", False, None),
        ("ann@example", False, None),
        ("ann lee@example.com", False, None),
    ],
)
def test_email_format(value: str, valid: bool, normalised: str | None) -> None:
    result = run([{"check": "format", "field": "email", "format": "email"}], {"email": value})
    assert failed(result) == [not valid]
    if normalised:
        assert result.values.loc[0, "email"] == normalised


@pytest.mark.parametrize(
    ("value", "valid", "normalised"),
    [
        ("sw1a1aa", True, "SW1A 1AA"),
        (" ec1a  1bb ", True, "EC1A 1BB"),
        ("M1 1AE", True, "M1 1AE"),
        ("GIR 0AA", True, "GIR 0AA"),
        ("12345", False, None),
        ("SW1A-1AA", False, None),
        ("1AA 9ZZ", False, None),
        ("QA1 1AA", False, None),  # Q never starts a postcode
    ],
)
def test_uk_postcode_format(value: str, valid: bool, normalised: str | None) -> None:
    rule = {"check": "format", "field": "postcode", "format": "uk_postcode"}
    result = run([rule], {"postcode": value})
    assert failed(result) == [not valid]
    if normalised:
        assert result.values.loc[0, "postcode"] == normalised


def test_a_country_aware_rule_applies_to_the_countries_it_names_only() -> None:
    rules = [
        {"check": "format", "field": "country", "format": "country_code"},
        {
            "check": "format",
            "field": "postcode",
            "format": "uk_postcode",
            "when": {"field": "country", "in": ["GB"]},
        },
    ]
    rows = ({"country": "gb", "postcode": "75001"}, {"country": "fr", "postcode": "75001"})
    result = run(rules, *rows)
    assert failed(result) == [True, False]
    assert result.values.loc[1, "postcode"] == "75001"  # not reshaped as a UK postcode


@pytest.mark.parametrize(
    ("phone", "country", "e164"),
    [
        ("07700 900123", "GB", "+447700900123"),  # a mobile (Ofcom's drama range)
        ("+44 (0)20 7946 0000", "GB", "+442079460000"),
        ("020 7946 0000", "GB", "+442079460000"),
        ("01 23 45 67 89", "FR", "+33123456789"),  # read in the record's country
        ("+1 202-555-0100", "GB", "+12025550100"),  # international prefix wins
        ("12345", "GB", None),
        ("not a number", "GB", None),
    ],
)
def test_phones_are_normalised_to_e164(phone: str, country: str, e164: str | None) -> None:
    rule = {
        "check": "format",
        "field": "phone",
        "format": "phone",
        "default_region": "GB",
        "region_from": "country",
    }
    result = run([rule], {"phone": phone, "country": country})
    assert failed(result) == [e164 is None]
    if e164:
        assert result.values.loc[0, "phone"] == e164


def test_valid_strictness_rejects_numbers_in_reserved_ranges() -> None:
    rule = {"check": "format", "field": "phone", "format": "phone", "strictness": "valid"}
    result = run([rule], {"phone": "07700 900123"}, {"phone": "020 7946 0000"})
    assert failed(result) == [True, False]


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("2020-02-29", date(2020, 2, 29)),
        ("29/02/2020", date(2020, 2, 29)),  # UK day-first
        ("01/02/2020", date(2020, 2, 1)),  # 1 February, not 2 January
        ("1985-02-30", None),
        ("31/04/2020", None),
        ("2019-13-01", None),
        ("yesterday", None),
    ],
)
def test_dates_in_iso_and_uk_forms(value: str, parsed: date | None) -> None:
    rule = {
        "check": "format",
        "field": "signup_date",
        "format": "date",
        "date_formats": ["%Y-%m-%d", "%d/%m/%Y"],
    }
    result = run([rule], {"signup_date": value})
    assert failed(result) == [parsed is None]
    if parsed:
        assert as_dates(result.values["signup_date"]).dt.date.tolist() == [parsed]


def test_a_regex_format_matches_the_whole_value() -> None:
    rule = {"check": "format", "field": "company_number", "format": "regex", "pattern": "[0-9]{8}"}
    result = run([rule], {"company_number": "01234567"}, {"company_number": "012345678"})
    assert failed(result) == [False, True]


def test_allowed_values_from_a_list_and_from_a_mapping() -> None:
    rules = [
        {"check": "allowed_values", "field": "country", "values": ["GB", "IE"]},
        {
            "check": "allowed_values",
            "field": "marketing_consent",
            "values": {"yes": True, "no": False},
        },
    ]
    rows = (
        {"country": "gb", "marketing_consent": "YES"},
        {"country": "FR", "marketing_consent": "no"},
        {"country": "IE", "marketing_consent": "maybe"},
    )
    result = run(rules, *rows)
    assert failed(result) == [False, True, True]
    assert result.values.loc[0, "country"] == "GB"
    assert result.values.loc[0, "marketing_consent"] is True
    assert result.values.loc[1, "marketing_consent"] is False


def test_case_sensitive_allowed_values() -> None:
    rule = {"check": "allowed_values", "field": "country", "values": ["GB"], "case_sensitive": True}
    assert failed(run([rule], {"country": "gb"})) == [True]


def test_a_range_against_the_reference_date_and_fixed_dates() -> None:
    rules = [
        {"check": "range", "field": "signup_date", "max": "today", "code": "in_future"},
        {"check": "range", "field": "date_of_birth", "min": "1900-01-01"},
    ]
    rows = (
        {"signup_date": "2026-06-15", "date_of_birth": "1900-01-01"},
        {"signup_date": "2026-06-16"},
        {"date_of_birth": "1899-12-31"},
    )
    result = run(rules, *rows)
    assert failed(result) == [False, True, True]
    assert result.outcomes[1].rule.code == "date_of_birth_out_of_range"


def test_plausible_ages_count_whole_years_to_the_reference_date() -> None:
    rule = {"check": "age", "field": "date_of_birth", "min_years": 16, "max_years": 120}
    rows = (
        {"date_of_birth": "2010-06-15"},  # 16 today
        {"date_of_birth": "2010-06-16"},  # 16 tomorrow
        {"date_of_birth": "1906-06-16"},  # 119
        {"date_of_birth": "1905-06-15"},  # 121
    )
    assert failed(run([rule], *rows)) == [False, True, False, True]


def test_a_cross_field_rule_compares_parsed_dates() -> None:
    rules = [
        {
            "check": "format",
            "field": "date_of_birth",
            "format": "date",
            "date_formats": ["%d/%m/%Y"],
        },
        {"check": "format", "field": "signup_date", "format": "date"},
        {
            "check": "compare",
            "field": "signup_date",
            "operator": ">=",
            "other": "date_of_birth",
            "code": "signup_before_birth",
        },
    ]
    rows = (
        {"date_of_birth": "02/01/2020", "signup_date": "2020-01-02"},
        {"date_of_birth": "03/01/2020", "signup_date": "2020-01-02"},
        {"signup_date": "2020-01-02"},  # nothing to compare with
    )
    result = run(rules, *rows)
    assert failed(result) == [False, True, False]


def test_uniqueness_keeps_the_first_record_within_and_across_chunks() -> None:
    context = RunContext("r", TODAY)
    rule = [{"check": "unique", "field": "customer_id"}]
    first = run(
        rule,
        {"customer_id": "A"},
        {"customer_id": "B"},
        {"customer_id": "A"},
        {},
        {},
        context=context,
    )
    second = run(rule, {"customer_id": "B"}, {"customer_id": "C"}, context=context)
    assert failed(first) == [False, False, True, False, False]
    assert failed(second) == [True, False]
    assert second.outcomes[0].rule.code == "duplicate_customer_id"


def test_a_warn_rule_is_counted_but_does_not_quarantine() -> None:
    rules = [{"check": "required", "field": "phone", "code": "no_phone", "severity": "warn"}]
    result = run(rules, {}, {"phone": "1"})
    assert failed(result) == [False, False]
    assert result.failures(result.outcomes[0].rule.severity) == {"no_phone": 1}


def test_reason_codes_and_rule_names_are_joined_per_record_without_values() -> None:
    rules = [
        {"check": "required", "field": "customer_id"},
        {"check": "format", "field": "email", "format": "email"},
    ]
    result = run(rules, {"email": "secret-value"}, {"customer_id": "C", "email": "a@b.co"})
    rows = result.quarantined()
    assert result.joined(rows, "code").tolist() == ["missing_customer_id;invalid_email"]
    assert result.joined(rows, "name").tolist() == ["customer_id_required;email_format"]


def test_rules_run_vectorised_over_many_rows() -> None:
    rows = [{"email": f"user{i}@example.com" if i % 2 else "bad"} for i in range(10_000)]
    result = run([{"check": "format", "field": "email", "format": "email"}], *rows)
    assert sum(failed(result)) == 5_000


def test_the_shipped_rules_cover_every_kind_and_dimension() -> None:
    rules = load_rules()
    assert {rule.check for rule in rules.rules} == {
        "required",
        "max_length",
        "format",
        "allowed_values",
        "range",
        "age",
        "unique",
        "compare",
    }
    assert {rule.dimension.value for rule in rules.rules} == {
        "completeness",
        "validity",
        "uniqueness",
        "consistency",
        "timeliness",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: [", "not valid YAML"),
        ("rules: []", "rules"),
        ("rules:\n  - {check: required, field: nope}\n", "nope.*not a canonical field"),
        ("rules:\n  - {check: sometimes, field: email}\n", "check"),
        ("rules:\n  - {check: format, field: email, format: regex}\n", "needs a pattern"),
        (
            "rules:\n  - {check: required, field: email}\n  - {check: required, field: email}\n",
            "repeated: email_required",
        ),
        (
            "rules:\n  - check: allowed_values\n    field: marketing_consent\n"
            "    values: {yes: true}\n",
            "values",
        ),
    ],
)
def test_a_bad_rules_file_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(RulesError, match=message):
        load_rules(path)


def test_a_missing_rules_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RulesError, match="not found"):
        load_rules(tmp_path / "rules.yaml")
