from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from customer_etl.core.context import ChunkOutcome, RunContext
from customer_etl.core.schema import CANONICAL_COLUMNS
from customer_etl.quality.rules import load_rules
from customer_etl.stages.transform import transform as transform_stage

RULES = load_rules()


def transform(frame: pd.DataFrame, run: RunContext) -> ChunkOutcome:
    return transform_stage(frame, run, RULES)


VALID = {
    "customer_id": "C1",
    "first_name": " Ann ",
    "last_name": "Lee",
    "email": "Ann.Lee@Example.COM",
    "phone": "",
    "postcode": "sw1a1aa",
    "company_name": "",
    "company_number": "",
    "date_of_birth": "1980-01-02",
    "signup_date": "2020-01-01",
    "country": "gb",
    "marketing_consent": "Yes",
}


def chunk(*rows: dict[str, str], start: int = 1) -> pd.DataFrame:
    frame = pd.DataFrame([{**VALID, **row} for row in rows], columns=list(CANONICAL_COLUMNS))
    frame.insert(0, "source_row", range(start, start + len(frame)))
    return frame


def context() -> RunContext:
    return RunContext(run_id="r1", today=date(2026, 1, 1))


def reasons_of(frame: pd.DataFrame) -> list[set[str]]:
    return [set(codes.split(";")) for codes in frame["reason_codes"]]


def test_a_valid_record_is_normalised_and_typed() -> None:
    outcome = transform(chunk({}), context())
    assert outcome.quarantined.empty
    row = outcome.passed.iloc[0]
    assert row["first_name"] == "Ann"
    assert row["email"] == "ann.lee@example.com"
    assert row["postcode"] == "SW1A 1AA"
    assert row["country"] == "GB"
    assert row["date_of_birth"] == date(1980, 1, 2)
    assert bool(row["marketing_consent"]) is True
    assert pd.isna(row["phone"])


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"email": "ann.example.com"}, "invalid_email"),
        ({"email": "ann@@example.com"}, "invalid_email"),
        ({"email": "ann@example"}, "invalid_email"),
        ({"postcode": "12345"}, "invalid_postcode"),
        ({"postcode": "SW1A-1AA"}, "invalid_postcode"),
        ({"customer_id": ""}, "missing_customer_id"),
        ({"email": " "}, "missing_email"),
        ({"date_of_birth": "1985-02-30"}, "invalid_date_of_birth"),
        ({"signup_date": "2019-13-01"}, "invalid_signup_date"),
        ({"date_of_birth": "2030-01-01"}, "date_of_birth_in_future"),
        ({"date_of_birth": "2021-01-01"}, "signup_before_birth"),
        ({"marketing_consent": "maybe"}, "invalid_marketing_consent"),
        ({"country": "Narnia"}, "invalid_country"),
        ({"first_name": "A" * 101}, "too_long_first_name"),
    ],
)
def test_each_rule_quarantines_with_its_reason(change: dict[str, str], reason: str) -> None:
    outcome = transform(chunk(change), context())
    assert outcome.passed.empty
    assert reason in reasons_of(outcome.quarantined)[0]


@pytest.mark.parametrize(
    ("written", "code"), [("GBR", "GB"), ("United Kingdom", "GB"), ("gb", "GB"), ("uk", "GB")]
)
def test_country_names_and_alpha_3_codes_become_alpha_2(written: str, code: str) -> None:
    outcome = transform(chunk({"country": written}), context())
    assert outcome.passed.loc[0, "country"] == code


def test_a_record_failing_several_rules_gets_every_reason_and_keeps_its_values() -> None:
    outcome = transform(chunk({"email": "bad", "postcode": "bad", "customer_id": ""}), context())
    assert reasons_of(outcome.quarantined)[0] == {
        "invalid_email",
        "invalid_postcode",
        "missing_customer_id",
    }
    assert outcome.quarantined.loc[0, "email"] == "bad"
    assert outcome.quarantined.loc[0, "first_name"] == " Ann "
    assert outcome.quarantined.loc[0, "source_row"] == 1


def test_optional_empty_fields_pass() -> None:
    outcome = transform(chunk({"date_of_birth": "", "phone": "", "company_name": ""}), context())
    assert len(outcome.passed) == 1


def test_later_duplicates_are_quarantined_within_and_across_chunks() -> None:
    run = context()
    first = transform(chunk({"customer_id": "A"}, {"customer_id": "B"}, {"customer_id": "A"}), run)
    second = transform(chunk({"customer_id": "B"}, {"customer_id": "C"}, start=4), run)
    assert first.passed["customer_id"].tolist() == ["A", "B"]
    assert first.quarantined["source_row"].tolist() == [3]
    assert second.passed["customer_id"].tolist() == ["C"]
    assert reasons_of(second.quarantined) == [{"duplicate_customer_id"}]


def test_rows_in_equal_rows_passed_plus_quarantined() -> None:
    rows = [{"customer_id": f"C{i}", "email": "bad" if i % 3 == 0 else "a@b.co"} for i in range(30)]
    outcome = transform(chunk(*rows), context())
    assert len(outcome.passed) + len(outcome.quarantined) == 30
    assert len(outcome.quarantined) == 10
