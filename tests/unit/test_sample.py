"""The sample generator: deterministic, with exactly the defects it declares and no others.

The checks below are written independently of the generator (plain regexes and pandas), so a
defect the generator claims but does not plant, or plants but does not claim, fails a test.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from customer_etl.reference.postcode_areas import POSTCODE_AREAS, area_of
from customer_etl.reference.sample import DEFECT_KINDS, Sample, generate_customers, write_sample
from customer_etl.reference.sample import SAMPLE_COLUMNS as CANONICAL_COLUMNS

ROWS = 1000
COMMITTED_SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "customers.csv"
EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$")
# After upper-casing and removing spaces: outward A9, A99, A9A, AA9, AA99, AA9A; inward 9AA.
POSTCODE = re.compile(r"^([A-Z]{1,2})[0-9][A-Z0-9]?[0-9][ABD-HJLNP-UW-Z]{2}$")
CUSTOMER_ID = re.compile(r"^CUST-[0-9]{8}$")
COMPANY_NUMBER = re.compile(r"^([0-9]{8}|SC[0-9]{6}|NI[0-9]{6})$")
# Mobile "07700 900123" or "+44 7700 900123"; landline "020 7946 0123" or "0113 496 0123".
PHONE = re.compile(
    r"^(07[0-9]{3} [0-9]{6}|\+44 7[0-9]{3} [0-9]{6}|0[0-9]{2,3} [0-9]{3,4} [0-9]{4})$"
)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Sample]:
    path = tmp_path_factory.mktemp("sample") / "customers.csv"
    return path, write_sample(path, rows=ROWS, seed=42, defect_rate=0.05)


@pytest.fixture(scope="module")
def sample(written: tuple[Path, Sample]) -> Sample:
    return written[1]


def email_ok(value: str) -> bool:
    return EMAIL.fullmatch(value) is not None


def postcode_ok(value: str) -> bool:
    match = POSTCODE.fullmatch(value.upper().replace(" ", ""))
    return match is not None and match.group(1) in POSTCODE_AREAS


def real_dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, format="%Y-%m-%d", errors="coerce").notna()


def valid_rows(sample: Sample) -> pd.DataFrame:
    return sample.frame.drop(index=sample.defects.index)


def test_same_inputs_write_identical_bytes(tmp_path: Path) -> None:
    first = tmp_path / "a.csv"
    second = tmp_path / "nested" / "dir" / "b.csv"
    write_sample(first, rows=300, seed=7, defect_rate=0.1)
    write_sample(second, rows=300, seed=7, defect_rate=0.1)
    assert first.read_bytes() == second.read_bytes()

    other_seed = tmp_path / "c.csv"
    write_sample(other_seed, rows=300, seed=8, defect_rate=0.1)
    assert other_seed.read_bytes() != first.read_bytes()


def test_frame_matches_what_generate_customers_returns(sample: Sample) -> None:
    again = generate_customers(ROWS, seed=42, defect_rate=0.05)
    pd.testing.assert_frame_equal(again.frame, sample.frame)
    pd.testing.assert_series_equal(again.defects, sample.defects)


@pytest.mark.parametrize(("rows", "rate"), [(1000, 0.05), (997, 0.03), (123, 0.1), (50, 0.0)])
def test_exact_defect_count_with_kinds_spread_evenly(rows: int, rate: float) -> None:
    defects = generate_customers(rows, seed=1, defect_rate=rate).defects
    assert len(defects) == round(rows * rate)
    assert defects.index.is_unique
    assert set(defects) <= set(DEFECT_KINDS)
    counts = Counter(defects)
    per_kind = [counts.get(kind, 0) for kind in DEFECT_KINDS]
    assert max(per_kind) - min(per_kind) <= 1


def test_the_reference_sample_has_ten_of_each_kind(sample: Sample) -> None:
    assert Counter(sample.defects) == dict.fromkeys(DEFECT_KINDS, 10)


def test_each_defect_is_detectable_and_the_only_one_in_its_row(sample: Sample) -> None:
    frame = sample.frame
    ids = frame["customer_id"]
    valid_positions = set(range(len(frame))) - set(sample.defects.index)
    dob_real = real_dates(frame["date_of_birth"])
    signup_real = real_dates(frame["signup_date"])

    for position, kind in sample.defects.items():
        assert isinstance(position, int)
        row = frame.iloc[position]
        problems = set()
        if not email_ok(row["email"]):
            problems.add("bad_email")
        if not postcode_ok(row["postcode"]):
            problems.add("bad_postcode")
        if row["customer_id"] == "":
            problems.add("missing_customer_id")
        elif (ids.iloc[:position] == row["customer_id"]).any():
            # The id must belong to an earlier row that is itself valid.
            earlier = ids.iloc[:position]
            owners = set(earlier.index[earlier == row["customer_id"]])
            assert owners & valid_positions, f"row {position} copies a defective row's id"
            problems.add("duplicate_customer_id")
        if not (dob_real.iloc[position] and signup_real.iloc[position]):
            assert dob_real.iloc[position] or signup_real.iloc[position]  # only one date bad
            problems.add("impossible_date")
        assert problems == {kind}, f"row {position}: declared {kind}, found {problems}"


@pytest.mark.parametrize(("rows", "rate", "seed"), [(12, 0.5, 0), (8, 0.75, 2)])
def test_duplicates_always_have_an_earlier_valid_row(rows: int, rate: float, seed: int) -> None:
    # These draws first put a duplicate where no valid row precedes it (found by searching
    # seeds), so the generator has to move it.
    sample = generate_customers(rows, seed=seed, defect_rate=rate)
    ids = sample.frame["customer_id"]
    valid_positions = set(range(rows)) - set(sample.defects.index)
    duplicates = sample.defects[sample.defects == "duplicate_customer_id"].index
    assert len(duplicates) > 0
    for position in duplicates:
        owners = {p for p in range(position) if ids.iloc[p] == ids.iloc[position]}
        assert owners & valid_positions, f"row {position} has no earlier valid original"
    # Moving a duplicate must not change how many defects of each kind there are.
    per_kind = Counter(sample.defects)
    assert max(per_kind.values()) - min(per_kind.values()) <= 1


def test_valid_rows_pass_every_check(sample: Sample) -> None:
    valid = valid_rows(sample)
    assert len(valid) == ROWS - 50
    assert valid["email"].map(email_ok).all()
    assert valid["postcode"].map(postcode_ok).all()
    assert (valid["first_name"].str.strip() != "").all()
    assert (valid["last_name"].str.strip() != "").all()
    assert valid["customer_id"].str.fullmatch(CUSTOMER_ID.pattern).all()
    assert (valid["country"] == "GB").all()
    # Guernsey, Jersey and the Isle of Man are not "GB", so their postcodes would contradict
    # the country column.
    nations = {POSTCODE_AREAS[area_of(p) or ""].country for p in valid["postcode"]}
    assert not nations & {"Channel Islands", "Isle of Man"}
    assert valid["marketing_consent"].isin(["true", "false"]).all()

    dob = pd.to_datetime(valid["date_of_birth"], format="%Y-%m-%d", errors="coerce")
    signup = pd.to_datetime(valid["signup_date"], format="%Y-%m-%d", errors="coerce")
    assert dob.notna().all()
    assert signup.notna().all()
    assert (dob < signup).all()
    # Fixed ranges, so the file does not change with the day it is generated.
    assert dob.min() >= pd.Timestamp("1940-01-01")
    assert dob.max() <= pd.Timestamp("2006-12-31")
    assert signup.min() >= pd.Timestamp("2015-01-01")
    assert signup.max() <= pd.Timestamp("2025-12-31")


def test_valid_rows_have_unique_customer_ids(sample: Sample) -> None:
    ids = valid_rows(sample)["customer_id"]
    assert ids.is_unique
    assert (ids != "").all()


def test_optional_fields_are_sometimes_empty_and_well_formed_when_not(sample: Sample) -> None:
    frame = sample.frame
    phones = frame["phone"]
    assert 0.05 < (phones == "").mean() < 0.15
    assert phones[phones != ""].str.fullmatch(PHONE.pattern).all()

    has_company = frame["company_name"] != ""
    assert 0.3 < has_company.mean() < 0.5
    assert ((frame["company_number"] != "") == has_company).all()
    assert frame.loc[has_company, "company_number"].str.fullmatch(COMPANY_NUMBER.pattern).all()


def test_some_valid_postcodes_need_normalising(sample: Sample) -> None:
    postcodes = valid_rows(sample)["postcode"]
    assert (postcodes != postcodes.str.upper()).any(), "no lower-case postcodes"
    assert (~postcodes.str.contains(" ")).any(), "no postcodes without the space"


def test_columns_are_canonical_and_every_value_is_a_string(sample: Sample) -> None:
    assert list(sample.frame.columns) == list(CANONICAL_COLUMNS)
    for column in CANONICAL_COLUMNS:
        assert all(isinstance(value, str) for value in sample.frame[column])


def test_csv_round_trips_through_pandas(written: tuple[Path, Sample]) -> None:
    path, sample = written
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(back, sample.frame)
    # The round trip only proves quoting if some value needed it.
    assert sample.frame["company_name"].str.contains(",").any()


def test_csv_is_what_the_csv_module_would_write(written: tuple[Path, Sample]) -> None:
    path, sample = written
    expected = io.StringIO(newline="")
    writer = csv.writer(expected, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CANONICAL_COLUMNS)
    writer.writerows(sample.frame.itertuples(index=False))
    data = path.read_bytes()
    assert data == expected.getvalue().encode("utf-8")
    assert b"\r" not in data
    assert data.split(b"\n", 1)[0].decode() == ",".join(CANONICAL_COLUMNS)


@pytest.mark.parametrize(("rows", "rate"), [(-1, 0.05), (10, -0.1), (10, 1.5), (5, 1.0)])
def test_impossible_requests_are_refused(rows: int, rate: float) -> None:
    # (5, 1.0): every row defective leaves no valid row for a duplicate to copy.
    with pytest.raises(ValueError):
        generate_customers(rows, seed=1, defect_rate=rate)


def test_no_rows_gives_an_empty_frame_with_the_header(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    sample = write_sample(path, rows=0)
    assert sample.frame.empty
    assert list(sample.frame.columns) == list(CANONICAL_COLUMNS)
    assert sample.defects.empty
    assert path.read_text(encoding="utf-8") == ",".join(CANONICAL_COLUMNS) + "\n"


def test_committed_sample_is_what_the_generator_makes(sample: Sample) -> None:
    # The docs and the end-to-end tests rely on data/sample/customers.csv holding exactly the
    # declared defects. If this fails after a Faker upgrade, regenerate the file:
    #   customer-etl generate-sample --rows 1000 --seed 42 --defect-rate 0.05 \
    #       --output data/sample/customers.csv
    committed = pd.read_csv(COMMITTED_SAMPLE, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(committed, sample.frame)
