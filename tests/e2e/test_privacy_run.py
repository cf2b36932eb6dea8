"""Whole local runs through the CLI: classification of the source's columns, an unexpected
personal-data column failing the run or dropped by configuration, and a masked run."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import phonenumbers
import pytest
import yaml
from sqlalchemy import create_engine, text

from customer_etl.config.privacy import CLASS_OF_COLUMN
from customer_etl.privacy.envelope import is_token
from customer_etl.reference.sample import Sample, write_sample
from customer_etl.runtime.cli import main
from tests.e2e.local_workspace import read_run_parquet

REPO = Path(__file__).resolve().parents[2]
ROWS = 120
MASKING_KEY = "an-e2e-masking-key-of-at-least-32-characters"
NI_NUMBERS = ["AB123456C", "CE654321D", "JK112233A", "PR998877B"]


@dataclass
class Workspace:
    root: Path
    runs: Path
    warehouse_url: str

    def run(self, source: Path, run_id: str, config: Path | None = None) -> int:
        config = config or REPO / "config" / "local.yaml"
        return main(
            [
                *("run", str(source), "--run-id", run_id),
                *("--runs", str(self.runs), "--config", str(config)),
            ]
        )

    def config_with(self, privacy: dict[str, Any]) -> Path:
        data = yaml.safe_load((REPO / "config" / "local.yaml").read_text(encoding="utf-8"))
        data["privacy"] = privacy
        path = self.root / "config.yaml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        return path

    def customers(self) -> pd.DataFrame:
        with create_engine(self.warehouse_url).connect() as connection:
            return pd.read_sql(text("select * from customers order by customer_id"), connection)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    monkeypatch.chdir(tmp_path)  # relative paths of the local config (keys, logs) land here
    monkeypatch.setenv("CUSTOMER_ETL__WAREHOUSE__URL", url)
    monkeypatch.setenv("CUSTOMER_ETL__QUALITY__MAX_BAD_RATIO", "0.2")
    monkeypatch.setenv("CUSTOMER_ETL__ENRICHMENT__POSTCODES__ENABLED", "false")
    monkeypatch.setenv("CUSTOMER_ETL__ENRICHMENT__COMPANIES_HOUSE__ENABLED", "false")
    monkeypatch.setenv("CUSTOMER_ETL__ENRICHMENT__CACHE_PATH", str(tmp_path / "cache.db"))
    yield Workspace(tmp_path, tmp_path / "runs", url)


@pytest.fixture
def sample(tmp_path: Path) -> tuple[Path, Sample]:
    path = tmp_path / "customers.csv"
    return path, write_sample(path, rows=ROWS, seed=11, defect_rate=0.05)


@pytest.fixture
def with_ni_numbers(sample: tuple[Path, Sample], tmp_path: Path) -> Path:
    """The sample with one more column, `ni_number`, that the record does not have."""
    source, _ = sample
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    rows[0].append("ni_number")
    for position, row in enumerate(rows[1:]):
        row.append(NI_NUMBERS[position % len(NI_NUMBERS)])
    path = tmp_path / "with_ni.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def parquet_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.parquet"))


def test_a_run_writes_classification_json_with_classes_and_a_review_list_and_no_values(
    workspace: Workspace, sample: tuple[Path, Sample]
) -> None:
    source, generated = sample
    assert workspace.run(source, "classified") == 0

    document = (workspace.runs / "classified" / "classification.json").read_text()
    report = json.loads(document)
    classes = {finding["column"]: finding["data_class"] for finding in report["columns"]}
    assert classes["email"] == "email"
    assert classes["phone"] == "phone"
    assert classes["postcode"] == "postcode"
    assert classes["date_of_birth"] == "date_of_birth"
    assert classes["last_name"] == "person_name"
    assert classes["customer_id"] is None and classes["signup_date"] is None
    assert isinstance(report["review"], list)
    assert report["sampled_rows"] == ROWS
    for column in ("email", "last_name", "postcode"):
        assert not any(value and value in document for value in generated.frame[column])
    manifest = json.loads((workspace.runs / "classified" / "manifest.json").read_text())
    assert manifest["classification"] == report


def test_an_unexpected_personal_column_fails_the_run_naming_column_and_class_only(
    workspace: Workspace, with_ni_numbers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert workspace.run(with_ni_numbers, "unexpected") == 1

    err = capsys.readouterr().err.strip()
    [line] = [line for line in err.splitlines() if "ni_number" in line]
    assert "'ni_number'" in line and "national_insurance_number" in line
    summary = (workspace.runs / "unexpected" / "summary.json").read_text()
    assert "national_insurance_number" in summary
    # The refused file's classification is there for the steward to review.
    document = (workspace.runs / "unexpected" / "classification.json").read_text()
    [finding] = [c for c in json.loads(document)["columns"] if c["column"] == "ni_number"]
    assert finding["data_class"] == "national_insurance_number"
    for value in NI_NUMBERS:
        assert value not in err and value not in summary and value not in document
    assert not parquet_files(workspace.runs / "unexpected")
    assert workspace.customers().empty


def test_a_configured_drop_lets_the_run_succeed_without_the_column_anywhere(
    workspace: Workspace, with_ni_numbers: Path
) -> None:
    config = workspace.config_with(
        {"classification": {"extra_columns": {"ni_number": {"handling": "drop"}}}}
    )
    assert workspace.run(with_ni_numbers, "dropped", config) == 0

    report = json.loads((workspace.runs / "dropped" / "classification.json").read_text())
    [finding] = [f for f in report["columns"] if f["column"] == "ni_number"]
    assert (finding["data_class"], finding["role"], finding["handling"]) == (
        "national_insurance_number",
        "extra",
        "drop",
    )
    files = parquet_files(workspace.runs / "dropped")
    assert {path.parent.name for path in files} >= {"extract", "transform", "enrich", "load"}
    for path in files:
        frame = read_run_parquet(workspace.runs, path)
        assert "ni_number" not in frame.columns, path
        cells = set(frame.astype(str).to_numpy().ravel())
        assert not cells & set(NI_NUMBERS), path
    customers = workspace.customers()
    assert len(customers) > 0 and "ni_number" not in customers.columns
    assert not set(customers.astype(str).to_numpy().ravel()) & set(NI_NUMBERS)


def test_a_masked_run_loads_no_original_name_email_or_phone_and_masks_stably(
    workspace: Workspace, sample: tuple[Path, Sample], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTOMER_ETL__PRIVACY__MASKING__ENABLED", "true")
    monkeypatch.setenv("CUSTOMER_ETL__PRIVACY__MASKING__KEY_REF", "env:E2E_MASKING_KEY")
    monkeypatch.setenv("E2E_MASKING_KEY", MASKING_KEY)
    # Plain values in the warehouse, so that the test sees what masking made of them.
    monkeypatch.setenv("CUSTOMER_ETL__ENCRYPTION__ENABLED", "false")
    source, generated = sample

    assert workspace.run(source, "masked") == 0

    loaded = workspace.customers().set_index("customer_id")
    # The first record of a repeated customer_id is the one loaded.
    source_rows = generated.frame.drop_duplicates("customer_id").set_index("customer_id")
    original = source_rows.loc[loaded.index]
    assert len(loaded) > 0
    for column in ("first_name", "last_name"):
        assert not set(loaded[column]) & set(generated.frame[column])
    assert not set(loaded["email"]) & set(generated.frame["email"].str.lower())
    domains = original["email"].str.lower().str.rpartition("@")[2]
    assert (loaded["email"].str.rpartition("@")[2] == domains).all()
    outward = original["postcode"].str.upper().str.replace(" ", "").str[:-3]
    assert (loaded["postcode"].str.split().str[0] == outward).all()
    phones = loaded["phone"].dropna()
    assert len(phones) > 0
    e164 = original.loc[phones.index, "phone"].map(
        lambda number: phonenumbers.format_number(
            phonenumbers.parse(number, "GB"), phonenumbers.PhoneNumberFormat.E164
        )
    )
    # Per record: the masks share Ofcom's drama ranges, which the sample's numbers use too.
    assert (phones != e164).all()
    assert phones.str.match(r"^\+44(7700900|2079460)[0-9]{3}$").all()

    # Same key, another run: the same pseudonyms, so joins across runs still work.
    first = loaded[["first_name", "email", "phone", "postcode"]].copy()
    assert workspace.run(source, "masked-again") == 0
    again = workspace.customers().set_index("customer_id")[first.columns]
    pd.testing.assert_frame_equal(first, again.loc[first.index])


def test_class_policies_decide_which_columns_are_stored_encrypted(
    workspace: Workspace, sample: tuple[Path, Sample]
) -> None:
    source, generated = sample
    config = workspace.config_with(
        {
            "classification": {
                "policies": {
                    "person_name": {"handling": "keep", "retention_class": "customer"},
                    "phone": {"handling": "mask", "retention_class": "customer"},
                }
            }
        }
    )

    assert workspace.run(source, "policies", config) == 0

    loaded = workspace.customers()
    assert len(loaded) > 0
    # `keep`: names as they came; `mask` where masking is off (local): in clear too.
    for column in ("first_name", "last_name"):
        assert not loaded[column].map(is_token).any(), column
        assert set(loaded[column]) <= set(generated.frame[column].str.strip())
    phones = loaded["phone"].dropna()
    assert len(phones) > 0 and not phones.map(is_token).any()
    # `encrypt` (the default of the other classes): tokens only.
    for column in ("email", "postcode"):
        assert loaded[column].map(is_token).all(), column
    report = json.loads((workspace.runs / "policies" / "classification.json").read_text())
    handling = {f["column"]: f["handling"] for f in report["columns"]}
    assert handling["first_name"] == "keep" and handling["email"] == "encrypt"


def test_masking_on_without_its_key_fails_with_a_configuration_error(
    workspace: Workspace,
    sample: tuple[Path, Sample],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CUSTOMER_ETL__PRIVACY__MASKING__ENABLED", "true")
    monkeypatch.setenv("CUSTOMER_ETL__PRIVACY__MASKING__KEY_REF", "env:E2E_UNSET_MASKING_KEY")
    monkeypatch.delenv("E2E_UNSET_MASKING_KEY", raising=False)
    source, _ = sample

    assert workspace.run(source, "no-key") != 0
    err = capsys.readouterr().err
    assert "masking" in err and "E2E_UNSET_MASKING_KEY" in err
    assert not (workspace.runs / "no-key").exists()


ADDRESS_EXPORT_HEADER = (
    "customer_id,first_name,last_name,email,phone,company_name,address_line_1,address_line_2,"
    "city,county,postcode,country,date_of_birth,signup_date,marketing_consent"
)
ADDRESS_ROWS = [
    f"A{n},Ann{n},Lee,ann{n}@example.com,020 7946 00{n:02d},Lee Plumbing {n},{n} High Street,"
    f"Flat {n},Leeds,West Yorkshire,LS1 {n % 9 + 1}AB,GB,1980-02-{n + 10},2020-01-0{n % 9 + 1},yes"
    for n in range(12)
]
EVERY_RECORD_CLASS = sorted({str(c) for c in CLASS_OF_COLUMN.values()})


@pytest.mark.parametrize(
    "handling_of",
    [
        {},  # the defaults: every class encrypted
        dict.fromkeys(EVERY_RECORD_CLASS, "keep"),
        {"person_name": "keep", "address": "mask", "phone": "keep"},
    ],
    ids=["defaults", "all-kept", "mixed"],
)
def test_the_classification_says_what_the_load_stores_as_tokens_for_every_class(
    workspace: Workspace, tmp_path: Path, handling_of: dict[str, str]
) -> None:
    source = tmp_path / "addresses.csv"
    source.write_text("\n".join([ADDRESS_EXPORT_HEADER, *ADDRESS_ROWS]) + "\n", encoding="utf-8")
    policies = {
        name: {"handling": how, "retention_class": "customer"} for name, how in handling_of.items()
    }
    config = workspace.config_with({"classification": {"policies": policies}})

    assert workspace.run(source, "tokens", config) == 0

    loaded = workspace.customers()
    assert len(loaded) == len(ADDRESS_ROWS)
    report = json.loads((workspace.runs / "tokens" / "classification.json").read_text())
    findings = {f["column"]: f for f in report["columns"] if f["class_from"] == "record"}
    assert set(findings) == set(CLASS_OF_COLUMN)
    assert {f["data_class"] for f in findings.values()} == set(EVERY_RECORD_CLASS)
    for column, finding in findings.items():
        expected = handling_of.get(finding["data_class"], "encrypt")
        assert finding["handling"] == expected, column
        stored = loaded[column].dropna()
        assert len(stored) == len(ADDRESS_ROWS), column
        tokens = stored.map(is_token)
        assert tokens.all() if expected == "encrypt" else not tokens.any(), column
    # Columns that are not personal data in the record are stored as they came.
    assert not loaded["country"].map(is_token).any()
