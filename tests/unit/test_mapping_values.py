"""Mappings that need no code: constants and defaults, value maps, combined columns, date
formats per column, and the privacy default for consent."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from customer_etl.core.context import RunContext
from customer_etl.core.errors import InputFileError
from customer_etl.core.mapping import MappingError, SourceMapping, load_mapping
from customer_etl.stages.extract import extract, inspect_file, read_chunks

CRM_HEADER = "first_name,last_name,email,postal,phone1,phone2,joined,opt_in,nation"


def load(
    tmp_path: Path, mapping: SourceMapping, *rows: str, header: str = CRM_HEADER
) -> pd.DataFrame:
    path = tmp_path / "in.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    facts = inspect_file(path, mapping)
    frame = pd.concat(list(read_chunks(path, 100, facts)), ignore_index=True)
    context = RunContext("r", date(2026, 1, 1))
    outcome = extract(frame, context, mapping)
    assert len(outcome.passed) + len(outcome.quarantined) == len(frame)
    return outcome.passed


def mapping_of(text: str, tmp_path: Path) -> SourceMapping:
    path = tmp_path / "mapping.yaml"
    path.write_text(text, encoding="utf-8")
    return load_mapping(path)


BASE = """\
columns: {postal: postcode, joined: signup_date, opt_in: marketing_consent, nation: country}
customer_id_from: [email]
"""


def test_a_constant_fills_an_absent_column_and_overrides_a_present_one(tmp_path: Path) -> None:
    mapping = mapping_of(
        "columns: {postal: postcode}\ncustomer_id_from: [email]\n"
        "constants: {country: GB, signup_date: 2020-01-01}\n",
        tmp_path,
    )
    header = "first_name,last_name,email,postal,country"
    passed = load(tmp_path, mapping, "Ann,Lee,a@x.org,SW1A 1AA,FR", header=header)
    assert passed.loc[0, "country"] == "GB"
    assert passed.loc[0, "signup_date"] == "2020-01-01"


def test_a_default_fills_only_empty_or_absent_values(tmp_path: Path) -> None:
    mapping = mapping_of(BASE + "defaults: {country: GB, company_name: Independent}\n", tmp_path)
    passed = load(
        tmp_path,
        mapping,
        "Ann,Lee,a@x.org,SW1A 1AA,,,2020-01-01,yes,IE",
        "Bob,Ray,b@x.org,SW1A 1AA,,,2020-01-01,yes,",
    )
    assert passed["country"].tolist() == ["IE", "GB"]
    assert passed["company_name"].tolist() == ["Independent", "Independent"]


def test_a_required_field_supplied_by_the_mapping_need_not_be_in_the_header(
    tmp_path: Path,
) -> None:
    header = "first_name,last_name,email,postal"
    path = tmp_path / "in.csv"
    path.write_text(header + "\n", encoding="utf-8")
    bare = SourceMapping(columns={"postal": "postcode"}, customer_id_from=["email"])
    with pytest.raises(InputFileError, match="lacks required column"):
        inspect_file(path, bare, required=("customer_id", "country"))
    supplied = bare.model_copy(update={"constants": {"country": "GB"}})
    assert inspect_file(path, supplied, required=("customer_id", "country"))


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Yes", "true"),
        ("no", "false"),
        ("Y", "true"),
        ("n", "false"),
        ("1", "true"),
        ("0", "false"),
        ("TRUE", "true"),
        ("false", "false"),
        ("maybe", "maybe"),  # kept for the rules to quarantine
    ],
)
def test_the_boolean_value_map(tmp_path: Path, written: str, expected: str) -> None:
    mapping = mapping_of(BASE + "values: {marketing_consent: boolean}\n", tmp_path)
    passed = load(tmp_path, mapping, f"Ann,Lee,a@x.org,SW1A 1AA,,,2020-01-01,{written},GB")
    assert passed.loc[0, "marketing_consent"] == expected


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Chile", "CL"),
        ("CHL", "CL"),
        ("germany", "DE"),
        ("United Kingdom", "GB"),
        ("UK", "GB"),
        ("be", "BE"),
        ("Russia", "RU"),
        ("Pitcairn Islands", "PN"),
        ("Narnia", "Narnia"),
        ("Kent", "Kent"),  # a county, not a country: no fuzzy match by subdivision
    ],
)
def test_the_country_value_map_reads_names_and_alpha_3_codes(
    tmp_path: Path, written: str, expected: str
) -> None:
    mapping = mapping_of(BASE + "values: {country: country}\n", tmp_path)
    passed = load(tmp_path, mapping, f"Ann,Lee,a@x.org,1000,,,2020-01-01,yes,{written}")
    assert passed.loc[0, "country"] == expected


def test_a_value_map_of_ones_own_is_case_and_space_insensitive(tmp_path: Path) -> None:
    mapping = mapping_of(
        BASE + 'values:\n  marketing_consent: {"Subscribed": true, "Opted out": false}\n',
        tmp_path,
    )
    passed = load(
        tmp_path,
        mapping,
        "Ann,Lee,a@x.org,SW1A 1AA,,,2020-01-01, subscribed ,GB",
        "Bob,Ray,b@x.org,SW1A 1AA,,,2020-01-01,OPTED OUT,GB",
    )
    assert passed["marketing_consent"].tolist() == ["true", "false"]


def test_combined_columns_take_the_first_valid_value(tmp_path: Path) -> None:
    mapping = mapping_of(BASE + "combine: {phone: [phone1, phone2]}\n", tmp_path)
    passed = load(
        tmp_path,
        mapping,
        "Ann,Lee,a@x.org,SW1A 1AA,020 7946 0000,07700 900123,2020-01-01,yes,GB",
        "Bob,Ray,b@x.org,SW1A 1AA,n/a,07700 900123,2020-01-01,yes,GB",
        "Cy,Day,c@x.org,SW1A 1AA,,07700 900124,2020-01-01,yes,GB",
        "Di,Eve,d@x.org,SW1A 1AA,nope,nah,2020-01-01,yes,GB",
    )
    assert passed["phone"].tolist() == ["020 7946 0000", "07700 900123", "07700 900124", "nope"]
    assert [c for c in passed.columns if "phone" in str(c)] == ["phone"]


def test_a_combined_phone_is_judged_in_the_records_country(tmp_path: Path) -> None:
    mapping = mapping_of(BASE + "combine: {phone: [phone1, phone2]}\n", tmp_path)
    # `12` is no number in Chile; the second is a Chilean mobile.
    passed = load(tmp_path, mapping, "Ann,Lee,a@x.org,,12,9 6123 4567,2020-01-01,yes,CL")
    assert passed.loc[0, "phone"] == "9 6123 4567"


def test_date_formats_per_column_become_iso(tmp_path: Path) -> None:
    mapping = mapping_of(BASE + 'date_formats: {signup_date: ["%m/%d/%Y", "%Y%m%d"]}\n', tmp_path)
    passed = load(
        tmp_path,
        mapping,
        "Ann,Lee,a@x.org,SW1A 1AA,,,12/31/2021,yes,GB",
        "Bob,Ray,b@x.org,SW1A 1AA,,,20200229,yes,GB",
        "Cy,Day,c@x.org,SW1A 1AA,,,31/12/2021,yes,GB",
    )
    # The third is not in the mapping's formats: kept as written, for the rules to judge.
    assert passed["signup_date"].tolist() == ["2021-12-31", "2020-02-29", "31/12/2021"]


def test_no_consent_given_is_recorded_as_no_consent(tmp_path: Path) -> None:
    header = "first_name,last_name,email,postal,joined,nation"
    passed = load(
        tmp_path, mapping_of(BASE, tmp_path), "A,B,a@x.org,SW1A 1AA,2020-01-01,GB", header=header
    )
    assert passed.loc[0, "marketing_consent"] == "false"
    passed = load(
        tmp_path,
        mapping_of(BASE, tmp_path),
        "Ann,Lee,a@x.org,SW1A 1AA,,,2020-01-01,,GB",
        "Bob,Ray,b@x.org,SW1A 1AA,,,2020-01-01,yes,GB",
    )
    assert passed["marketing_consent"].tolist() == ["false", "yes"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("constants: {country: GB}\ndefaults: {country: FR}\n", "a constant or a default"),
        ("date_formats: {email: ['%Y']}\n", "not a date field"),
        ("values: {country: iso}\n", "not a named map"),
        ("constants: {colour: red}\n", "not canonical fields: colour"),
        ("combine: {phone: []}\n", "at least one source"),
        ("columns: {Tel: phone}\ncombine: {phone: [a, b]}\n", "keep one"),
    ],
)
def test_a_contradictory_mapping_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(MappingError, match=message):
        mapping_of(text, tmp_path)
