"""Country-aware records: postcodes judged and written by their country, phones read in the
record's country, and UK places only ever given to UK records."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pycountry
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from customer_etl.core.api_stats import ApiStats
from customer_etl.core.context import RunContext
from customer_etl.core.ports import PostcodeDetails
from customer_etl.quality.rules import load_rules
from customer_etl.reference.countries import UK_POSTAL_COUNTRIES
from customer_etl.reference.postcode_areas import area_of
from customer_etl.reference.postcodes import normalise, requires_postcode
from customer_etl.stages.enrich import EnrichmentSources, enrich
from customer_etl.stages.transform import transform
from tests.unit.test_transform import chunk

RULES = load_rules()
PLACE_COLUMNS = ("post_town", "region", "admin_district", "postcode_country")
WESTMINSTER = PostcodeDetails("London", "Westminster", "England", 51.5, -0.14)


def run() -> RunContext:
    return RunContext("r", date(2026, 1, 1))


@pytest.mark.parametrize(
    ("country", "written", "canonical"),
    [
        ("GB", "sw1a1aa", "SW1A 1AA"),
        ("JE", "je2 3ab", "JE2 3AB"),
        ("GG", "GY11AA", "GY1 1AA"),
        ("IM", "im1 1aa", "IM1 1AA"),
        ("IE", "a65f4e2", "A65 F4E2"),
        ("US", "22162-1010", "22162-1010"),
        ("US", "90210", "90210"),
        ("CA", "m5v3l9", "M5V 3L9"),
        ("DE", "D-10115", "10115"),
        ("FR", "75001", "75001"),
        ("NL", "1012ab", "1012 AB"),
        ("BE", "B-1000", "1000"),
        ("ES", "28039", "28039"),
        ("IT", "00144", "00144"),
        ("AU", "2060", "2060"),
        ("IN", "110001", "110001"),
    ],
)
def test_a_postcode_keeps_its_countrys_own_format(
    country: str, written: str, canonical: str
) -> None:
    assert normalise(written, country) == canonical


@pytest.mark.parametrize(
    ("country", "written"),
    [
        ("GB", "M5V 3L9"),
        ("GB", "B-1000"),
        ("CA", "SW1A 1AA"),
        ("US", "1234"),
        ("DE", "1234"),
        ("NL", "1012 SA"),  # PostNL never issues SA, SD or SS
        ("IN", "11001"),
        ("JE", "GY1 1AA"),
    ],
)
def test_a_postcode_of_another_shape_is_invalid_in_its_country(country: str, written: str) -> None:
    assert normalise(written, country) is None
    outcome = transform(chunk({"country": country, "postcode": written}), run(), RULES)
    assert "invalid_postcode" in str(outcome.quarantined.loc[0, "reason_codes"]).split(";")


def test_a_country_without_a_known_pattern_keeps_the_postcode_as_written() -> None:
    outcome = transform(chunk({"country": "Chile", "postcode": "8340457"}), run(), RULES)
    assert (outcome.passed.loc[0, "country"], outcome.passed.loc[0, "postcode"]) == (
        "CL",
        "8340457",
    )


def test_the_countries_that_require_a_postcode_are_those_the_rules_require_it_for() -> None:
    [rule] = [r for r in RULES.rules if r.field == "postcode" and r.check == "required"]
    assert rule.when is not None
    assert all(requires_postcode(country) for country in rule.when.in_)
    assert not requires_postcode("IE")


@pytest.mark.parametrize(
    ("country", "written", "e164"),
    [("CL", "9 6123 4567", "+56961234567"), ("US", "(202) 555-0143", "+12025550143")],
)
def test_a_phone_is_read_in_the_records_country(country: str, written: str, e164: str) -> None:
    row = {"country": country, "postcode": "", "phone": written}
    if country == "US":
        row["postcode"] = "20500"
    outcome = transform(chunk(row), run(), RULES)
    assert outcome.passed.loc[0, "phone"] == e164


class AnswersEverything:
    """A postcode source that knows every postcode as Westminster: what a careless lookup of
    a non-UK postcode would come back with."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def lookup(self, keys: list[str], stats: ApiStats) -> dict[str, PostcodeDetails | None]:
        self.asked.extend(keys)
        return dict.fromkeys(keys, WESTMINSTER)


def enriched(postcodes: list[str | None], countries: list[str]) -> tuple[pd.DataFrame, list[str]]:
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(len(postcodes))],
            "postcode": postcodes,
            "country": countries,
            "company_number": None,
        }
    )
    source = AnswersEverything()
    outcome = enrich(frame, run(), EnrichmentSources(postcodes=source))
    return outcome.passed, source.asked


def test_a_canadian_and_a_belgian_postcode_get_no_uk_place() -> None:
    passed, asked = enriched(["M5V 3L9", "1000", "SW1A 1AA"], ["CA", "BE", "GB"])
    assert asked == ["SW1A 1AA"]
    assert passed["enrichment_source"].tolist() == [
        "not_applicable",
        "not_applicable",
        "postcodes.io",
    ]
    assert passed.loc[:1, list(PLACE_COLUMNS)].isna().all().all()
    assert passed.loc[:1, ["latitude", "longitude"]].isna().all().all()
    assert passed.loc[2, "post_town"] == "London"


def test_the_reference_table_is_not_asked_about_non_uk_postcodes_either() -> None:
    frame = pd.DataFrame(
        {"customer_id": ["C1", "C2"], "postcode": ["M5V 3L9", "B1 1AA"], "country": ["CA", ""]}
    )
    frame["company_number"] = None
    outcome = enrich(frame, run(), EnrichmentSources())
    assert outcome.passed["post_town"].isna().tolist() == [True, False]
    assert outcome.passed.loc[1, "post_town"] == "Birmingham"
    assert outcome.passed["enrichment_source"].tolist() == ["not_applicable", "reference"]


def test_a_missing_postcode_is_no_crash() -> None:
    assert area_of(None) is None
    passed, asked = enriched([None, None], ["IE", "GB"])
    assert asked == []
    assert passed["enrichment_source"].tolist() == ["not_applicable", "none"]


NON_UK = sorted({c.alpha_2 for c in pycountry.countries} - UK_POSTAL_COUNTRIES)
POSTCODE_LIKE = st.one_of(
    st.sampled_from(["M5V 3L9", "B-1000", "SW1A 1AA", "M1 1AA", "B33 8TH", "EH1 1YZ", "1000"]),
    st.text(alphabet="ABCDEHMNSW0123456789 -", max_size=9),
    st.none(),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(POSTCODE_LIKE, st.sampled_from(NON_UK)), min_size=1, max_size=8))
def test_enrichment_never_gives_a_uk_place_to_a_non_uk_record(
    records: list[tuple[str | None, str]],
) -> None:
    passed, asked = enriched([p for p, _ in records], [c for _, c in records])
    assert asked == []
    assert passed[list(PLACE_COLUMNS)].isna().all().all()
    assert (passed["enrichment_source"] == "not_applicable").all()


def test_a_canadian_and_a_belgian_record_as_written_get_no_uk_place_end_to_end() -> None:
    """Through transform then enrich, as a run does: `B-1000` and `M5V 3L9` are read
    in their countries and never looked up as Birmingham or Manchester."""
    outcome = transform(
        chunk(
            {"customer_id": "CA1", "country": "Canada", "postcode": "M5V 3L9", "phone": ""},
            {"customer_id": "BE1", "country": "BE", "postcode": "B-1000", "phone": ""},
        ),
        run(),
        RULES,
    )
    assert outcome.passed["postcode"].tolist() == ["M5V 3L9", "1000"]
    source = AnswersEverything()
    passed = enrich(outcome.passed, run(), EnrichmentSources(postcodes=source)).passed
    assert source.asked == []
    assert passed["post_town"].isna().all() and passed["postcode_country"].isna().all()
    assert passed["enrichment_source"].tolist() == ["not_applicable", "not_applicable"]


def test_the_per_value_caches_are_bounded_so_a_large_file_cannot_grow_them() -> None:
    from customer_etl.reference.countries import alpha_2
    from customer_etl.reference.postcodes import normalise

    for cached in (normalise, alpha_2):
        cached.cache_clear()
    for n in range(70_000):
        normalise(f"X{n}", "GB")
    assert normalise.cache_info().currsize == normalise.cache_info().maxsize == 65_536
    assert alpha_2.cache_info().maxsize == 4_096
