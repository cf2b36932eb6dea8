"""Five exports of the kinds customers send (tests/data/exports: different headers,
delimiters, encodings, countries, date formats and consent encodings), each loading end to
end with its mapping file alone and reconciling: rows in = loaded + quarantined."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from customer_etl.privacy.envelope import is_token
from tests.e2e.local_workspace import Workspace, local_workspace

EXPORTS = Path(__file__).resolve().parents[1] / "data" / "exports"


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    monkeypatch.chdir(tmp_path)  # the local key file lands here
    with local_workspace(tmp_path, monkeypatch) as prepared:
        yield prepared


def load(workspace: Workspace, name: str, source: Path | None = None) -> dict[str, Any]:
    source = source or next(EXPORTS.glob(f"{name}.*sv"))
    mapping = EXPORTS / f"{name}.yaml"
    assert workspace.pipeline(source, "--mapping", str(mapping), "--run-id", name) == 0
    summary: dict[str, Any] = json.loads((workspace.runs / name / "summary.json").read_text())
    assert summary["status"] == "succeeded"
    assert summary["reconciled"] is True
    assert summary["rows_in"] == summary["rows_loaded"] + summary["rows_quarantined"]
    return summary


def column(workspace: Workspace, name: str) -> dict[str, Any]:
    """customer_id -> the stored value of a column."""
    return dict(workspace.query(f"select customer_id, {name} from customers"))


@pytest.mark.parametrize(
    ("name", "encoding", "delimiter", "rows", "reasons"),
    [
        ("uk_crm", "utf-8", ",", 10, {"invalid_postcode": 1}),
        ("international", "utf-8-sig", ",", 8, {"missing_postcode": 1}),
        ("shop_de", "cp1252", ";", 6, {"invalid_postcode": 1}),
        ("marketing_us", "utf-8", "\t", 6, {"invalid_email": 1}),
        ("agency_pipe", "utf-8", "|", 7, {"invalid_postcode": 1}),
    ],
)
def test_each_export_loads_with_its_mapping_alone_and_reconciles(
    workspace: Workspace,
    name: str,
    encoding: str,
    delimiter: str,
    rows: int,
    reasons: dict[str, int],
) -> None:
    summary = load(workspace, name)
    assert (summary["file"]["encoding"], summary["file"]["delimiter"]) == (encoding, delimiter)
    assert summary["rows_in"] == rows
    assert summary["rows_quarantined"] == sum(reasons.values())
    assert summary["quarantine_reasons"] == reasons
    assert len(workspace.query("select customer_id from customers")) == summary["rows_loaded"]
    # Every address part loaded is encrypted like the other contact fields.
    parts = [
        value
        for part in ("address_line_1", "city")
        for value in column(workspace, part).values()
        if value is not None
    ]
    assert parts and all(is_token(value) for value in parts)


def test_a_uk_crm_export_gets_its_country_no_consent_and_uk_places(workspace: Workspace) -> None:
    load(workspace, "uk_crm")
    assert set(column(workspace, "country").values()) == {"GB"}
    assert set(column(workspace, "marketing_consent").values()) == {0}
    assert set(column(workspace, "enrichment_source").values()) <= {"reference", "postcodes.io"}
    assert all(is_token(v) for v in column(workspace, "company_name").values())


def test_an_international_export_gets_alpha_2_codes_and_no_uk_place(
    workspace: Workspace,
) -> None:
    load(workspace, "international")
    countries = column(workspace, "country")
    assert set(countries.values()) == {"CL", "DJ", "IE", "NZ", "BR", "JP", "PN"}
    assert set(column(workspace, "enrichment_source").values()) == {"not_applicable"}
    assert set(column(workspace, "post_town").values()) == {None}
    assert column(workspace, "signup_date")["DD37Cf93aecA6Dc"] == str(date(2020, 8, 24))
    assert workspace.api.requests == []  # no UK postcode to ask about


def test_a_german_shops_export_reads_its_consent_and_dates(workspace: Workspace) -> None:
    load(workspace, "shop_de")
    consent = column(workspace, "marketing_consent")
    assert consent == {"K-1001": 1, "K-1002": 0, "K-1003": 1, "K-1004": 0, "K-1005": 0}
    assert set(column(workspace, "country").values()) == {"DE", "FR", "AT"}
    assert column(workspace, "signup_date")["K-1002"] == "2020-06-15"


def test_a_us_export_keeps_zip_plus_4_and_reads_timestamps(workspace: Workspace) -> None:
    load(workspace, "marketing_us")
    assert column(workspace, "signup_date")["c-0001"] == "2021-03-04"
    assert column(workspace, "marketing_consent")["c-0005"] == 0
    sources = column(workspace, "enrichment_source")
    assert set(sources.values()) == {"not_applicable"}


def test_an_irish_record_without_an_eircode_loads(workspace: Workspace) -> None:
    load(workspace, "agency_pipe")
    postcodes = workspace.query(
        "select count(*) from customers where postcode is null and country = 'IE'"
    )
    assert postcodes == [(1,)]
    assert set(column(workspace, "country").values()) == {"IE", "AU", "IN"}


def test_a_one_megabyte_field_quarantines_its_row_and_the_rest_loads(
    workspace: Workspace, tmp_path: Path
) -> None:
    source = tmp_path / "uk_crm.csv"
    text = (EXPORTS / "uk_crm.csv").read_text(encoding="utf-8")
    huge = "x" * (1 << 20)
    source.write_text(
        text + f'Big,Field,"{huge}",1 Long Rd,Leeds,West Yorkshire,LS1 1AB,,,big@example.com,\r\n',
        encoding="utf-8",
    )
    summary = load(workspace, "uk_crm", source)
    assert summary["rows_in"] == 11
    assert summary["quarantine_reasons"] == {"invalid_postcode": 1, "field_too_large": 1}
    assert summary["rows_loaded"] == 9
