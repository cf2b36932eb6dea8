"""`customer-etl mapping suggest FILE`: a mapping proposed from the header and a sample,
printed as the mapping file the user edits and keeps."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import yaml

from customer_etl.core.context import RunContext
from customer_etl.core.mapping import load_mapping
from customer_etl.quality.rules import load_rules, required_fields
from customer_etl.runtime.cli import main
from customer_etl.stages.extract import extract, inspect_file, read_chunks

UK_CRM = (
    "first_name,last_name,company_name,address,city,county,postal,phone1,phone2,email,web\n"
    "Aleshia,Tomkiewicz,Alan D Rosenburg Cpa Pc,14 Taylor St,St. Stephens Ward,Kent,CT2 7PP,"
    "01835-703597,01944-369967,atomkiewicz@hotmail.com,http://www.alandrosenburgcpapc.co.uk\n"
    "Evan,Zigomalas,Cap Gemini America,5 Binney St,Abbey Ward,Buckinghamshire,HP11 2AX,"
    "01937-864715,01714-737668,evan.zigomalas@gmail.com,http://www.capgeminiamerica.co.uk\n"
)
INTERNATIONAL = (
    "Index,Customer Id,First Name,Last Name,Company,City,Country,Phone 1,Phone 2,Email,"
    "Subscription Date,Website\n"
    "1,DD37Cf93aecA6Dc,Sheryl,Baxter,Rasmussen Group,East Leonard,Chile,229.077.5154,"
    "397.884.0519x718,zunigavanessa@smith.info,08/24/2020,http://www.stephenson.com/\n"
    "2,1Ef7b82A4CAAD10,Preston,Lozano,Vega-Gentry,East Jimmychester,Djibouti,5153435776,"
    "686-620-1820x944,vmata@colon.com,04/23/2021,http://www.hobbs.com/\n"
)


def suggest(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> str:
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    assert main(["mapping", "suggest", str(path)]) == 0
    return capsys.readouterr().out


def kept(tmp_path: Path, suggested: str) -> Path:
    """The suggestion saved as the user keeps it."""
    path = tmp_path / "mapping.yaml"
    path.write_text(suggested, encoding="utf-8")
    return path


def test_a_uk_crm_export_gets_a_mapping_that_reads_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suggested = suggest(tmp_path, UK_CRM, capsys)
    data = yaml.safe_load(suggested)
    assert data["columns"] == {"address": "address_line_1", "postal": "postcode"}
    assert data["combine"] == {"phone": ["phone1", "phone2"]}
    assert data["drop"] == ["web"]
    assert data["customer_id_from"] == ["email"]
    assert "country" in suggested  # a comment: the file names no country; say which
    mapping = load_mapping(kept(tmp_path, suggested))
    source = tmp_path / "export.csv"
    facts = inspect_file(source, mapping, required=required_fields(load_rules()))
    frame = pd.concat(list(read_chunks(source, 100, facts)), ignore_index=True)
    passed = extract(frame, RunContext("r", date(2026, 1, 1)), mapping).passed
    assert passed["address_line_1"].tolist() == ["14 Taylor St", "5 Binney St"]
    assert passed["customer_id"].str.startswith("id-").all()


def test_an_international_export_gets_country_names_and_month_first_dates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suggested = suggest(tmp_path, INTERNATIONAL, capsys)
    data = yaml.safe_load(suggested)
    # `Customer Id`, `First Name`, `Email`, `City`, `Country` need no entry: header matching
    # ignores case and spaces.
    assert data["columns"] == {"Company": "company_name", "Subscription Date": "signup_date"}
    assert data["combine"] == {"phone": ["Phone 1", "Phone 2"]}
    assert sorted(data["drop"]) == ["Index", "Website"]
    assert data["values"] == {"country": "country"}
    assert data["date_formats"] == {"signup_date": ["%m/%d/%Y"]}
    assert "customer_id_from" not in data
    load_mapping(kept(tmp_path, suggested))


def test_near_misses_are_did_you_mean_comments_and_usual_spellings_map(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "ID,Forename,Surname,E-mail,Post Code,Emial Adress,Postcod,Opt In,Favourite colour\n"
    text += "7,Ann,Lee,a@x.org,SW1A 1AA,b@x.org,SW1A 2AA,Y,blue\n"
    suggested = suggest(tmp_path, text, capsys)
    data = yaml.safe_load(suggested)
    assert data["columns"] == {
        "ID": "customer_id",
        "Forename": "first_name",
        "Surname": "last_name",
        "E-mail": "email",
        "Post Code": "postcode",
        "Opt In": "marketing_consent",
    }
    assert data["values"] == {"marketing_consent": "boolean"}
    assert "# Emial Adress: did you mean email?" in suggested
    assert "# Postcod: did you mean postcode?" in suggested
    assert sorted(data["drop"]) == ["Emial Adress", "Favourite colour", "Postcod"]


def test_a_file_that_cannot_be_read_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["mapping", "suggest", str(tmp_path / "nope.csv")]) != 0
    assert "nope.csv not found" in capsys.readouterr().err


EXPORTS = Path(__file__).resolve().parents[1] / "data" / "exports"


@pytest.mark.parametrize("name", ["uk_crm.csv", "marketing_us.tsv", "agency_pipe.csv"])
def test_the_suggestion_for_an_english_export_reads_it_as_its_kept_mapping_does(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = EXPORTS / name
    assert main(["mapping", "suggest", str(source)]) == 0
    suggested = load_mapping(kept(tmp_path, capsys.readouterr().out))
    written = load_mapping(source.with_suffix(".yaml"))
    required = required_fields(load_rules())
    assert (
        inspect_file(source, suggested, required=required).header.positions
        == inspect_file(source, written, required=required).header.positions
    )
    assert suggested.date_formats == written.date_formats
