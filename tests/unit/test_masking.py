"""Masking for non-production environments: masked records still pass the real validation
rules, no masked value equals its original, and pseudonyms are stable per key."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import phonenumbers
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from customer_etl.config.privacy import MaskingSettings
from customer_etl.core.context import SOURCE_ROW, RunContext
from customer_etl.core.errors import MaskingKeyError
from customer_etl.core.formats import EMAIL_PATTERN, UK_POSTCODE_PATTERN
from customer_etl.core.schema import CANONICAL_COLUMNS
from customer_etl.privacy.masking import (
    REDACTED,
    MaskingPlan,
    mask_birth_date,
    mask_email,
    mask_frame,
    mask_phone,
    mask_postcode,
    plan_from_secret,
    pseudonymise,
)
from customer_etl.stages.settings import default_rules
from customer_etl.stages.transform import transform

KEY = b"a-masking-key-of-at-least-32-characters"
OTHER_KEY = b"another-masking-key-of-32-characters!!"
PLAN = MaskingPlan(key=KEY, fields=MaskingSettings().fields)
MASKED_FIELDS = tuple(PLAN.fields)
PROPERTY = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def records(rows: list[dict[str, str]]) -> pd.DataFrame:
    """String records as extract passes them on."""
    frame = pd.DataFrame([{name: row.get(name, "") for name in CANONICAL_COLUMNS} for row in rows])
    frame.insert(0, SOURCE_ROW, range(1, len(rows) + 1))
    return frame.astype({name: object for name in CANONICAL_COLUMNS})


def as_source_text(clean: pd.DataFrame) -> pd.DataFrame:
    """Transform's typed output written back as source text, to validate it again."""
    text = clean.copy()
    for name in CANONICAL_COLUMNS:
        text[name] = [
            "" if value is None or pd.isna(value) else _text(value) for value in clean[name]
        ]
    return text


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


# Valid records of every shape the masks treat differently.
_UK_OUTWARD = ["SW1A", "EC1A", "LS28", "M1", "B33", "DH12", "W1A", "CR2", "GIR"]
_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
uk_postcodes = st.builds(
    lambda outward, digit, a, b: "GIR 0AA" if outward == "GIR" else f"{outward} {digit}{a}{b}",
    st.sampled_from(_UK_OUTWARD),
    st.integers(0, 9),
    st.sampled_from(_INWARD_LETTERS),
    st.sampled_from(_INWARD_LETTERS),
)
uk_phones = st.one_of(
    st.just(""),
    st.integers(0, 999).map(lambda n: f"07700 900{n:03d}"),
    st.integers(0, 999).map(lambda n: f"+44 20 7946 0{n:03d}"),
    st.integers(0, 999).map(lambda n: f"0113 496 0{n:03d}"),
)
names = st.text(st.characters(categories=["Lu", "Ll"]), min_size=1, max_size=30).filter(
    lambda s: s.strip() == s
)
emails = st.builds(
    lambda local, domain: f"{local}@{domain}",
    st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,20}", fullmatch=True),
    st.sampled_from(["example.com", "mail.example.org", "b.co", "EXAMPLE.NET"]),
)


@st.composite
def record_and_day(draw: st.DrawFn) -> tuple[dict[str, str], date]:
    today = draw(st.dates(date(2025, 1, 1), date(2027, 12, 31)))
    oldest = date(today.year - 120, today.month, 1) + timedelta(days=31)
    youngest = date(today.year - 16, today.month, 1) - timedelta(days=1)
    born = draw(st.dates(oldest, youngest))
    signup = draw(st.dates(date(born.year + 1, 1, 1), today))
    uk = draw(st.booleans())
    record = {
        "customer_id": "C1",
        "first_name": draw(names),
        "last_name": draw(names),
        "email": draw(emails),
        "phone": draw(uk_phones) if uk else draw(st.sampled_from(["+33 1 23 45 67 89", ""])),
        "postcode": draw(uk_postcodes) if uk else draw(st.sampled_from(["75001", "20090"])),
        "date_of_birth": draw(st.sampled_from([born.isoformat(), born.strftime("%d/%m/%Y")])),
        "signup_date": signup.isoformat(),
        "country": "GB" if uk else "FR",
        "marketing_consent": "yes",
    }
    return record, today


def _age_bound_edge(born: date, today: date) -> bool:
    """The one case the birth-year mask cannot keep both the year and the age: a run on
    1 January for someone born on 1 January (or on 30 December for 31 December)."""
    return (today.month, today.day, born.month, born.day) in {(1, 1, 1, 1), (12, 30, 12, 31)}


@PROPERTY
@given(record_and_day())
def test_masked_records_pass_the_validation_rules_and_no_value_equals_its_original(
    case: tuple[dict[str, str], date],
) -> None:
    record, today = case
    context = RunContext("r", today)
    original = transform(records([record]), context, default_rules())
    assert len(original.passed) == 1, original.quarantined["reason_codes"].tolist()
    born = original.passed["date_of_birth"].iloc[0]
    assume(not _age_bound_edge(born, today))

    masked = mask_frame(original.passed, PLAN, today)
    again = transform(as_source_text(masked), RunContext("r2", today), default_rules())

    assert len(again.quarantined) == 0, again.quarantined["reason_codes"].tolist()
    for name in MASKED_FIELDS:
        before, after = original.passed[name].iloc[0], masked[name].iloc[0]
        if before is not None:
            assert after != before, name
    assert masked["date_of_birth"].iloc[0].year == born.year


@PROPERTY
@given(st.lists(names, min_size=1, max_size=20))
def test_pseudonyms_are_stable_for_a_key_and_differ_under_another(values: list[str]) -> None:
    series = pd.Series(values, dtype=object)

    first = pseudonymise(series, KEY, "first_name")
    assert first.tolist() == pseudonymise(series.copy(), KEY, "first_name").tolist()
    assert (first != pseudonymise(series, OTHER_KEY, "first_name")).all()
    assert (first != series).all()
    # Equal inputs, equal pseudonyms: joins on a masked column still work.
    assert first.groupby(series).nunique().max() == 1


def test_an_email_keeps_a_valid_form_and_its_domain() -> None:
    masked = mask_email(pd.Series(["ann.lee@mail.example.org"]), KEY)[0]
    assert masked.endswith("@mail.example.org")
    assert masked != "ann.lee@mail.example.org"
    assert pd.Series([masked]).str.match(EMAIL_PATTERN).all()


def test_a_postcode_keeps_its_outward_code_and_gets_a_valid_inward_code() -> None:
    masked = mask_postcode(pd.Series(["SW1A 1AA", "LS28 9ZX", "75001"]), KEY).tolist()
    assert masked[0].startswith("SW1A ") and masked[0] != "SW1A 1AA"
    assert masked[1].startswith("LS28 ") and masked[1] != "LS28 9ZX"
    for value in masked[:2]:
        assert pd.Series([value.replace(" ", "")]).str.match(UK_POSTCODE_PATTERN).all()
    assert masked[2].isdigit() and len(masked[2]) == 5 and masked[2] != "75001"


def test_a_uk_phone_becomes_a_drama_number_of_its_kind() -> None:
    mobile, landline, french = mask_phone(
        pd.Series(["+447911123456", "+441612345678", "+33123456789"]), KEY
    )
    assert mobile.startswith("+447700900") and len(mobile) == 13
    assert landline.startswith("+442079460") and len(landline) == 13
    assert french.startswith("+3312345") and len(french) == 12 and french != "+33123456789"
    for number in (mobile, landline, french):
        parsed = phonenumbers.parse(number)
        assert phonenumbers.is_possible_number(parsed)


def test_a_birth_date_keeps_its_year_and_the_age_at_the_reference_date() -> None:
    today = date(2026, 6, 15)
    born = pd.Series([date(1980, 3, 2), date(1980, 9, 20), date(1990, 1, 1), date(1990, 12, 31)])
    masked = mask_birth_date(born, today).tolist()
    assert masked == [date(1980, 1, 1), date(1980, 12, 31), date(1990, 1, 2), date(1990, 12, 30)]


def test_redaction_empties_optional_fields_and_marks_required_ones() -> None:
    plan = MaskingPlan(
        key=KEY, fields={"first_name": "redact", "phone": "redact", "date_of_birth": "redact"}
    )
    frame = pd.DataFrame(
        {
            "first_name": ["Ann", REDACTED],
            "phone": ["+447700900123", None],
            "date_of_birth": [date(1980, 1, 1), date(1981, 1, 1)],
        }
    )
    masked = mask_frame(frame, plan, date(2026, 6, 15))
    assert masked["first_name"].tolist() == [REDACTED, "[removed]"]
    assert masked["phone"].isna().all()
    assert masked["date_of_birth"].isna().all()


def test_missing_values_stay_missing_and_fields_not_planned_are_untouched() -> None:
    frame = pd.DataFrame({"email": [None, "a@b.co"], "company_number": ["01234567", "SC123456"]})
    masked = mask_frame(frame, PLAN, date(2026, 6, 15))
    assert masked["email"].iloc[0] is None
    assert masked["company_number"].tolist() == ["01234567", "SC123456"]


def test_transform_masks_passed_records_and_quarantines_originals() -> None:
    good = {
        "customer_id": "C1",
        "first_name": "Ann",
        "last_name": "Lee",
        "email": "ann@example.com",
        "phone": "07700 900123",
        "postcode": "SW1A 1AA",
        "date_of_birth": "1980-03-02",
        "signup_date": "2020-01-01",
        "country": "GB",
        "marketing_consent": "yes",
    }
    bad = good | {"customer_id": "C2", "email": "not-an-email"}

    outcome = transform(
        records([good, bad]), RunContext("r", date(2026, 6, 15)), default_rules(), PLAN
    )

    [passed] = outcome.passed.to_dict("records")
    assert passed["first_name"] != "Ann" and passed["email"].endswith("@example.com")
    assert passed["postcode"].startswith("SW1A ")
    assert outcome.quarantined["email"].tolist() == ["not-an-email"]


def test_a_plan_needs_a_long_enough_key() -> None:
    with pytest.raises(MaskingKeyError, match="no key"):
        plan_from_secret(None, {})
    with pytest.raises(MaskingKeyError, match="shorter"):
        plan_from_secret("x" * 31, {})
    assert plan_from_secret("x" * 32, {"email": "email"}).key == b"x" * 32
