"""Personal-data classification: each class is recognised by content and header, with a
confidence, evidence counts and never a value; extra personal columns fail a run unless the
configuration handles them."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError

from customer_etl.config.privacy import (
    ClassificationSettings,
    ClassPolicy,
    ExtraColumnPolicy,
    MaskingSettings,
)
from customer_etl.core.classification import ColumnRole, PersonalDataClass
from customer_etl.core.errors import MaskingKeyError, UnexpectedPersonalDataError
from customer_etl.core.formats import luhn_valid
from customer_etl.privacy.classification import (
    classify,
    classify_column,
    refuse_unexpected,
    unexpected_columns,
)
from customer_etl.stages.extract import RawSample, inspect_file, read_chunks

TODAY = date(2026, 6, 15)
C = PersonalDataClass


def column(values: list[str], repeat: int = 5) -> pd.Series:
    return pd.Series(values * repeat, dtype=object)


@pytest.mark.parametrize(
    ("header", "values", "expected"),
    [
        ("email", ["ann@example.com", "BOB.SMITH@Example.org"], C.EMAIL),
        ("phone", ["07700 900123", "+44 20 7946 0123", "(0113) 496 0999"], C.PHONE),
        ("postcode", ["SW1A 1AA", "ls28 9zx", "EC1A1BB"], C.POSTCODE),
        ("ni_number", ["AB123456C", "ce 65 43 21 d"], C.NATIONAL_INSURANCE_NUMBER),
        ("card_number", ["4111 1111 1111 1111", "5500-0055-5555-5559"], C.PAYMENT_CARD),
        ("ip_address", ["192.0.2.1", "2001:db8::1"], C.IP_ADDRESS),
        ("date_of_birth", ["1980-02-29", "13/05/1990"], C.DATE_OF_BIRTH),
        ("first_name", ["Oliver", "Amelia", "Anne-Marie"], C.PERSON_NAME),
    ],
)
def test_each_class_is_recognised_confidently_by_content_and_header(
    header: str, values: list[str], expected: PersonalDataClass
) -> None:
    data_class, confidence, evidence = classify_column(column(values), header, TODAY)

    assert data_class is expected
    assert confidence >= 0.8
    assert evidence.header_hint is True
    assert evidence.matched == evidence.non_empty == len(values) * 5


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["ann@example.com"], C.EMAIL),
        (["+44 7700 900123", "020 7946 0123"], C.PHONE),
        (["SW1A 1AA"], C.POSTCODE),
        (["AB123456C"], C.NATIONAL_INSURANCE_NUMBER),
        (["4111111111111111"], C.PAYMENT_CARD),
        (["10.1.2.3"], C.IP_ADDRESS),
    ],
)
def test_strict_formats_are_found_by_content_alone_under_a_header_that_says_nothing(
    values: list[str], expected: PersonalDataClass
) -> None:
    data_class, confidence, evidence = classify_column(column(values, 10), "field_7", TODAY)

    assert data_class is expected
    assert confidence == pytest.approx(0.85)
    assert evidence.header_hint is False


def test_the_luhn_check_separates_card_numbers_from_other_long_numbers() -> None:
    assert luhn_valid("4111111111111111")
    assert luhn_valid("79927398713")
    assert not luhn_valid("4111111111111112")
    data_class, _, evidence = classify_column(column(["4111111111111112"]), "ref", TODAY)
    assert data_class is None and evidence.matched == 0


def test_national_insurance_numbers_with_unallocated_prefixes_are_not_recognised() -> None:
    values = column(["GB123456A", "QQ123456C", "AB123456E", "DA123456A"])
    data_class, _, evidence = classify_column(values, "reference", TODAY)
    assert data_class is None
    assert evidence.matched == 0


def test_business_columns_of_the_record_hold_no_personal_data() -> None:
    settings = ClassificationSettings()
    towns = ["London", "Leeds", "Manchester", "Bristol", "Glasgow", "Cardiff", "York", "Bath"]
    for header, values in {
        "customer_id": [f"CUST-{n:08d}" for n in range(20)],
        "company_number": ["15643351", "SC123456", "01234567", "NI654321"] * 5,
        "signup_date": ["2020-09-03", "2023-04-26", "2019-01-31", "2024-12-01"] * 5,
        "country": ["GB", "FR", "IE", "DE", "US"] * 4,
        "post_town": towns * 3,
        "marketing_consent": ["true", "no", "yes", "false", "Y", "N", "1", "0"] * 3,
    }.items():
        assert len(values) >= 10, header  # full support: only the classifier keeps it low
        _, confidence, _ = classify_column(pd.Series(values, dtype=object), header, TODAY)
        assert confidence < settings.min_confidence, header


def test_post_towns_that_are_also_surnames_are_not_taken_for_names() -> None:
    towns = pd.Series(["Wells", "Stone", "Barnes", "Ross", "Hart", "Lewis"] * 4, dtype=object)
    _, as_town, _ = classify_column(towns, "post_town", TODAY)
    _, as_surname, _ = classify_column(towns, "surname", TODAY)
    assert as_town < ClassificationSettings().min_confidence
    assert as_surname >= ClassificationSettings().confidence_threshold


def test_country_codes_and_yes_no_answers_are_not_name_shaped() -> None:
    for values in (["GB", "FR", "IE", "DE"], ["true", "false", "Yes", "no", "Y", "n"]):
        _, _, evidence = classify_column(column(values), "field", TODAY)
        assert evidence.matched == 0, values


def test_a_header_alone_is_not_enough_for_a_confident_finding() -> None:
    _, confidence, evidence = classify_column(column(["", " "]), "email", TODAY)
    assert evidence.non_empty == 0
    assert confidence < 0.3


def test_a_few_values_cannot_make_a_column_certain() -> None:
    _, few, _ = classify_column(pd.Series(["ann@example.com", ""]), "notes", TODAY)
    _, many, _ = classify_column(column(["ann@example.com"], 10), "notes", TODAY)
    assert few < many


SAMPLE = pd.DataFrame(
    {
        "customer_id": ["C1", "C2", "C3", "C4"] * 5,
        "email": ["ann@example.com", "bob@example.org", "cy@example.net", "di@example.com"] * 5,
        "ni_number": ["AB123456C", "CE654321D", "AB123457C", "JK000001A"] * 5,
        "contact": ["ann@example.com", "n/a", "later", "bob@example.org"] * 5,
        "old_phone": ["07700 900001", "07700 900002", "07700 900003", "07700 900004"] * 5,
    }
)
ROLES: dict[str, ColumnRole] = {
    "ni_number": "extra",
    "contact": "extra",
    "old_phone": "dropped",
    "customer_id": "canonical",
    "email": "canonical",
}


def test_a_report_gives_class_confidence_policy_and_a_review_list_without_values() -> None:
    report = classify(SAMPLE, ROLES, ClassificationSettings(), TODAY)
    by_column = {finding.column: finding for finding in report.columns}

    assert report.sampled_rows == 20
    assert by_column["email"].data_class is C.EMAIL
    assert by_column["email"].handling == "encrypt"
    assert by_column["email"].retention_class == "customer"
    assert by_column["customer_id"].data_class is None
    assert by_column["old_phone"].handling == "drop"
    # Half emails: a finding below the threshold, for a person to look at.
    assert by_column["contact"].data_class is C.EMAIL
    assert [finding.column for finding in report.review] == ["contact"]
    text = report.model_dump_json()
    for value in SAMPLE.to_numpy().ravel():
        assert str(value) not in text


def test_an_unexpected_personal_column_fails_naming_the_column_and_class_only() -> None:
    report = classify(SAMPLE, ROLES, ClassificationSettings(), TODAY)

    assert [f.column for f in unexpected_columns(report)] == ["ni_number"]
    with pytest.raises(UnexpectedPersonalDataError) as raised:
        refuse_unexpected(report, "customers.csv")
    message = str(raised.value)
    assert "'ni_number'" in message and "national_insurance_number" in message
    assert "\n" not in message
    assert not any(value in message for value in SAMPLE["ni_number"])


def test_a_column_override_or_a_class_policy_of_drop_handles_an_extra_column() -> None:
    by_column = ClassificationSettings(extra_columns={"ni_number": ExtraColumnPolicy()})
    by_class = ClassificationSettings(
        policies={C.NATIONAL_INSURANCE_NUMBER: ClassPolicy(handling="drop", retention_class="x")}
    )
    for settings in (by_column, by_class):
        report = classify(SAMPLE, ROLES, settings, TODAY)
        refuse_unexpected(report, "customers.csv")
        [finding] = [f for f in report.columns if f.column == "ni_number"]
        assert finding.handling == "drop"


def test_class_policies_given_in_part_keep_the_defaults_of_the_others() -> None:
    settings = ClassificationSettings.model_validate(
        {"policies": {"email": {"handling": "mask", "retention_class": "short"}}}
    )
    assert settings.policies[C.EMAIL].handling == "mask"
    assert settings.policies[C.PAYMENT_CARD].handling == "encrypt"
    assert set(settings.policies) == set(PersonalDataClass)


def test_extra_columns_can_only_be_dropped_because_the_warehouse_has_fixed_columns() -> None:
    with pytest.raises(ValidationError):
        ClassificationSettings.model_validate({"extra_columns": {"x": {"handling": "keep"}}})


def test_masking_settings_refuse_methods_that_break_validation_and_a_missing_key() -> None:
    with pytest.raises(ValidationError, match="email"):
        MaskingSettings(fields={"email": "pseudonymise"})
    with pytest.raises(ValidationError, match="not a maskable field"):
        MaskingSettings(fields={"customer_id": "redact"})
    with pytest.raises(ValidationError, match="key_ref is required"):
        MaskingSettings(enabled=True)


def test_the_runtime_refuses_masking_without_a_readable_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from customer_etl.config.model import Config
    from customer_etl.run.settings import masking_plan

    config = Config.model_validate(
        {
            "environment": "dev",
            "privacy": {"masking": {"enabled": True, "key_ref": "env:TEST_MASKING_KEY"}},
        }
    )
    monkeypatch.delenv("TEST_MASKING_KEY", raising=False)
    with pytest.raises(MaskingKeyError, match="TEST_MASKING_KEY"):
        masking_plan(config)
    monkeypatch.setenv("TEST_MASKING_KEY", "short")
    with pytest.raises(MaskingKeyError, match="shorter than 32"):
        masking_plan(config)
    monkeypatch.setenv("TEST_MASKING_KEY", "k" * 32)
    plan = masking_plan(config)
    assert plan is not None and plan.key == b"k" * 32
    assert "k" * 32 not in repr(plan)
    assert masking_plan(Config(environment="local")) is None


def test_reading_a_file_fills_the_raw_sample_from_the_first_chunk_with_every_column(
    tmp_path: Path,
) -> None:
    path = tmp_path / "in.csv"
    header = (
        "customer_id,first_name,last_name,email,postcode,signup_date,country,"
        "marketing_consent,ni_number\n"
    )
    rows = "".join(
        f"C{i},Ann,Lee,a{i}@example.com,SW1A 1AA,2020-01-01,GB,yes,AB12345{i % 10}C\n"
        for i in range(25)
    )
    path.write_text(header + rows, encoding="utf-8")
    sample = RawSample(rows=7)

    chunks = list(read_chunks(path, 10, inspect_file(path), sample))

    assert [len(chunk) for chunk in chunks] == [10, 10, 5]
    assert "ni_number" not in chunks[0]
    assert sample.frame is not None
    assert len(sample.frame) == 7
    assert list(sample.frame.columns)[-1] == "ni_number"
    assert sample.frame["ni_number"].iloc[0] == "AB123450C"
