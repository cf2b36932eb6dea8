"""Required means required by a rule: the business key and what the rules require; the
postcode only where the country needs one; consent absent is no consent."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from customer_etl.core.context import RunContext
from customer_etl.core.errors import InputFileError
from customer_etl.quality.rules import load_rules, required_fields
from customer_etl.reference.sample import ADDRESS_COLUMNS
from customer_etl.stages.extract import inspect_file
from customer_etl.stages.transform import transform
from tests.unit.test_transform import chunk

RULES = load_rules()


def run() -> RunContext:
    return RunContext("r", date(2026, 1, 1))


def test_the_shipped_rules_require_the_key_and_the_contact_fields_only() -> None:
    assert required_fields(RULES) == ("customer_id", "first_name", "last_name", "email")


def test_a_rules_file_decides_what_a_file_must_give(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "rules:\n"
        "  - {check: required, field: email}\n"
        "  - {check: required, field: signup_date}\n"
        "  - {check: required, field: phone, severity: warn}\n"
        "  - {check: required, field: postcode, when: {field: country, in: [GB]}}\n",
        encoding="utf-8",
    )
    needed = required_fields(load_rules(rules))
    assert needed == ("customer_id", "email", "signup_date")
    source = tmp_path / "in.csv"
    source.write_text("customer_id,email\nC1,a@x.org\n", encoding="utf-8")
    with pytest.raises(InputFileError, match=r"lacks required column\(s\) signup_date"):
        inspect_file(source, required=needed)


def test_the_old_required_set_still_reads(tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text(
        "customer_id,first_name,last_name,email,postcode,signup_date,country,marketing_consent\n",
        encoding="utf-8",
    )
    assert inspect_file(source, required=required_fields(RULES)).header.columns_missing == (
        "phone",
        "company_name",
        "company_number",
        "date_of_birth",
        *ADDRESS_COLUMNS,
    )


@pytest.mark.parametrize("country", ["IE", "CL", "NZ"])
def test_a_postcode_is_optional_where_the_country_needs_none(country: str) -> None:
    outcome = transform(chunk({"postcode": "", "country": country}), run(), RULES)
    assert len(outcome.passed) == 1
    assert outcome.passed["postcode"].isna().all()


@pytest.mark.parametrize("country", ["GB", "JE", "US", "CA", "DE", "IN"])
def test_a_postcode_is_required_where_the_country_needs_one(country: str) -> None:
    outcome = transform(chunk({"postcode": "", "country": country}), run(), RULES)
    assert outcome.passed.empty
    assert "missing_postcode" in str(outcome.quarantined.loc[0, "reason_codes"]).split(";")


def test_no_signup_date_and_no_country_lower_the_score_and_load() -> None:
    context = run()
    outcome = transform(chunk({"signup_date": "", "country": "", "postcode": ""}), context, RULES)
    assert len(outcome.passed) == 1
    assert context.counters["warning:no_signup_date"] == 1
    assert context.counters["warning:no_country"] == 1
    assert outcome.scores is not None
    assert (outcome.scores["quality_score"] < 100).all()
