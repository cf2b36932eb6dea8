"""Mapping files: other headers to canonical fields, dropped columns, derived ids."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from customer_etl.core.context import RunContext
from customer_etl.core.errors import InputFileError
from customer_etl.core.mapping import MappingError, SourceMapping, load_mapping
from customer_etl.reference.sample import ADDRESS_COLUMNS
from customer_etl.stages.extract import extract, inspect_file, read_chunks

MAPPING_YAML = """\
columns:            # source header -> canonical field
  Postal: postcode
  Phone 1: phone
  Given Name: first_name
  Surname: last_name
  E-mail: email
  Joined: signup_date
  Opt In: marketing_consent
drop: [Address, Website]
customer_id_from: [email]
"""
HEADER = "Given Name,SURNAME,e-mail,phone 1,postal,Address,Website,Joined,Country,Opt In,Fax"
ROW = "Ann,Lee,{email},0207 946 0000,SW1A 1AA,1 High St,https://x,2020-01-01,GB,yes,0123"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def read(path: Path, mapping: SourceMapping) -> tuple[pd.DataFrame, pd.DataFrame]:
    facts = inspect_file(path, mapping)
    frame = pd.concat(list(read_chunks(path, 100, facts)), ignore_index=True)
    outcome = extract(frame, RunContext("r", date(2026, 1, 1)), mapping)
    return outcome.passed, outcome.quarantined


@pytest.fixture
def mapping(tmp_path: Path) -> SourceMapping:
    return load_mapping(write(tmp_path, "mapping.yaml", MAPPING_YAML))


def test_headers_map_case_and_space_insensitively_and_the_file_facts_say_what_happened(
    tmp_path: Path, mapping: SourceMapping
) -> None:
    path = write(tmp_path, "in.csv", f"{HEADER}\n{ROW.format(email='Ann@Example.com')}\n")
    facts = inspect_file(path, mapping)
    assert facts.header.columns_dropped == ("Address", "Website")
    assert facts.header.columns_ignored == ("Fax",)
    assert set(facts.header.columns_missing) == {
        "company_name",
        "company_number",
        "date_of_birth",
        *ADDRESS_COLUMNS,
    }
    passed, _ = read(path, mapping)
    row = passed.iloc[0]
    assert (row["first_name"], row["last_name"], row["postcode"]) == ("Ann", "Lee", "SW1A 1AA")
    assert (row["phone"], row["marketing_consent"]) == ("0207 946 0000", "yes")
    assert "fax" not in passed.columns and "address" not in passed.columns


def test_a_derived_customer_id_is_stable_across_files_and_spellings(
    tmp_path: Path, mapping: SourceMapping
) -> None:
    first = write(tmp_path, "a.csv", f"{HEADER}\n{ROW.format(email='ann@example.com')}\n")
    second = write(
        tmp_path,
        "b.csv",
        f"{HEADER}\n{ROW.format(email='bob@example.com')}\n"
        f"{ROW.format(email=' ANN@example.com ')}\n",
    )
    [first_id] = read(first, mapping)[0]["customer_id"]
    second_ids = read(second, mapping)[0]["customer_id"].tolist()
    assert second_ids[1] == first_id
    assert second_ids[0] != first_id
    assert first_id.startswith("id-") and len(first_id) <= 64
    assert "ann" not in first_id


def test_a_record_without_the_fields_of_its_id_gets_an_empty_id(
    tmp_path: Path, mapping: SourceMapping
) -> None:
    path = write(tmp_path, "in.csv", f"{HEADER}\n{ROW.format(email='')}\n")
    assert read(path, mapping)[0]["customer_id"].tolist() == [""]


def test_a_required_field_neither_present_nor_mapped_fails_the_file(
    tmp_path: Path, mapping: SourceMapping
) -> None:
    path = write(tmp_path, "in.csv", f"{HEADER.replace('SURNAME', 'Family')}\n")
    with pytest.raises(InputFileError, match=r"lacks required column\(s\) last_name"):
        inspect_file(path, mapping)


def test_two_columns_mapped_to_one_field_fail_the_file(tmp_path: Path) -> None:
    mapping = SourceMapping(columns={"Mail": "email"})
    path = write(tmp_path, "in.csv", "email,mail\n")
    with pytest.raises(InputFileError, match=r"repeats column\(s\) email"):
        inspect_file(path, mapping)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("columns: [a, b", "not valid YAML"),
        ("columns:\n  Postal: post_code\n", "not canonical fields: post_code"),
        ("customer_id_from: [customer_id]\n", "cannot be derived from itself"),
        ("colums: {}\n", "colums"),
    ],
)
def test_a_bad_mapping_file_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(MappingError, match=message):
        load_mapping(write(tmp_path, "mapping.yaml", text))


def test_a_missing_mapping_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MappingError, match="not found"):
        load_mapping(tmp_path / "nope.yaml")
