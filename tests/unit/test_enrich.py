from __future__ import annotations

from datetime import date
from typing import Generic, TypeVar

import pandas as pd
import pytest

from customer_etl.core.api_stats import ApiStats
from customer_etl.core.context import RunContext
from customer_etl.core.ports import CompanyDetails, PostcodeDetails
from customer_etl.stages.enrich import (
    EnrichmentDegradedError,
    EnrichmentSources,
    check_fallback_ceiling,
    enrich,
)

WESTMINSTER = PostcodeDetails("London", "Westminster", "England", 51.5, -0.14)
ACME = CompanyDetails("active", "ltd", ("62020", "62090"), date(2010, 5, 4))


T = TypeVar("T")


class FakeLookup(Generic[T]):
    """Answers from `known`; keys in `unavailable` are left out, as when the API fails;
    keys in `deferred` are left out and reported deferred, as when the budget is spent."""

    def __init__(
        self,
        known: dict[str, T | None],
        unavailable: frozenset[str] = frozenset(),
        deferred: frozenset[str] = frozenset(),
    ) -> None:
        self.known = known
        self.unavailable = unavailable
        self.deferred = deferred
        self.asked: list[list[str]] = []

    def lookup(self, keys: list[str], stats: ApiStats) -> dict[str, T | None]:
        self.asked.append(list(keys))
        stats.defer([k for k in keys if k in self.deferred])
        return {k: self.known.get(k) for k in keys if k not in self.unavailable | self.deferred}


def records(*postcodes: str, companies: tuple[str | None, ...] = ()) -> pd.DataFrame:
    numbers = list(companies) + [None] * (len(postcodes) - len(companies))
    return pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in range(len(postcodes))],
            "postcode": list(postcodes),
            "company_number": numbers,
            "country": "GB",
        }
    )


def context() -> RunContext:
    return RunContext(run_id="r", today=date(2026, 1, 1))


def postcodes_only(lookup: FakeLookup[PostcodeDetails] | None) -> EnrichmentSources:
    return EnrichmentSources(postcodes=lookup)


def test_api_answers_are_used_and_each_distinct_postcode_asked_once_per_run() -> None:
    lookup = FakeLookup({"SW1A 1AA": WESTMINSTER})
    run = context()
    first = enrich(records("SW1A 1AA", "SW1A 1AA", "EH1 1YZ"), run, postcodes_only(lookup))
    second = enrich(records("SW1A 1AA", "EH1 1YZ"), run, postcodes_only(lookup))
    assert lookup.asked == [["SW1A 1AA", "EH1 1YZ"]]
    row = first.passed.iloc[0]
    assert (row["region"], row["admin_district"], row["enrichment_source"]) == (
        "London",
        "Westminster",
        "postcodes.io",
    )
    assert row["post_town"] == "London"
    assert second.passed["enrichment_source"].tolist() == ["postcodes.io", "reference"]
    stats = run.api_stats["postcodes.io"]
    assert (stats.rows, stats.unknown_rows, stats.fallback_rows) == (5, 2, 0)


def test_unknown_or_unavailable_postcodes_fall_back_to_the_reference_table() -> None:
    lookup = FakeLookup[PostcodeDetails]({}, unavailable=frozenset({"CF10 1AA"}))
    run = context()
    outcome = enrich(records("EH1 1YZ", "CF10 1AA"), run, postcodes_only(lookup))
    passed = outcome.passed
    assert passed["enrichment_source"].tolist() == ["reference", "reference"]
    assert passed["post_town"].tolist() == ["Edinburgh", "Cardiff"]
    assert passed["postcode_country"].tolist() == ["Scotland", "Wales"]
    assert passed["latitude"].isna().all()
    stats = run.api_stats["postcodes.io"]
    assert (stats.unknown_rows, stats.fallback_rows) == (1, 1)


def test_a_postcode_the_api_could_not_answer_is_asked_again_in_a_later_chunk() -> None:
    lookup = FakeLookup({"EH1 1YZ": WESTMINSTER}, unavailable=frozenset({"EH1 1YZ"}))
    run = context()
    enrich(records("EH1 1YZ"), run, postcodes_only(lookup))
    lookup.unavailable = frozenset()
    second = enrich(records("EH1 1YZ"), run, postcodes_only(lookup))
    assert lookup.asked == [["EH1 1YZ"], ["EH1 1YZ"]]
    assert second.passed.loc[0, "enrichment_source"] == "postcodes.io"


def test_an_unavailable_source_never_drops_or_quarantines_a_record() -> None:
    everything = frozenset({"EH1 1YZ", "B33 8TH", "CF10 1AA", "00000001"})
    sources = EnrichmentSources(
        postcodes=FakeLookup[PostcodeDetails]({}, unavailable=everything),
        companies=FakeLookup[CompanyDetails]({}, unavailable=everything),
    )
    chunk = records("EH1 1YZ", "B33 8TH", "CF10 1AA", companies=("00000001",))
    outcome = enrich(chunk, context(), sources)
    assert len(outcome.passed) == 3
    assert outcome.quarantined.empty
    assert set(outcome.passed["enrichment_source"]) == {"reference"}
    assert set(outcome.passed["company_enrichment_source"]) == {"none"}


def test_without_lookups_only_reference_data_is_used_and_companies_are_skipped() -> None:
    run = context()
    outcome = enrich(records("EH1 1YZ", companies=("00000001",)), run, EnrichmentSources())
    assert outcome.passed.loc[0, "enrichment_source"] == "reference"
    assert outcome.passed.loc[0, "company_enrichment_source"] == "none"
    assert run.counters["companies_house:skipped_rows"] == 1
    assert run.api_stats == {}


def test_company_columns_come_from_the_register_once_per_distinct_number() -> None:
    lookup = FakeLookup({"00000001": ACME, "SC000002": None})
    run = context()
    chunk = records(
        "EH1 1YZ",
        "EH1 1YZ",
        "EH1 1YZ",
        "EH1 1YZ",
        companies=("00000001", "00000001", "SC000002", None),
    )
    passed = enrich(chunk, run, EnrichmentSources(companies=lookup)).passed
    assert lookup.asked == [["00000001", "SC000002"]]
    assert passed["company_status"].tolist()[:2] == ["active", "active"]
    assert passed["company_status"].iloc[2:].isna().all()
    assert passed["company_type"].tolist()[0] == "ltd"
    assert passed["sic_codes"].tolist()[0] == "62020;62090"
    assert passed["incorporation_date"].tolist()[0] == date(2010, 5, 4)
    assert passed["company_enrichment_source"].tolist() == [
        "companies_house",
        "companies_house",
        "none",
        "none",
    ]
    stats = run.api_stats["companies_house"]
    assert (stats.rows, stats.unknown_rows, stats.fallback_rows) == (3, 1, 0)


def test_company_numbers_past_the_budget_are_deferred_not_counted_as_failures() -> None:
    lookup = FakeLookup({"00000001": ACME}, deferred=frozenset({"00000002"}))
    run = context()
    chunk = records("EH1 1YZ", "EH1 1YZ", companies=("00000001", "00000002"))
    enrich(chunk, run, EnrichmentSources(companies=lookup))
    enrich(chunk, run, EnrichmentSources(companies=lookup))
    stats = run.api_stats["companies_house"]
    assert (stats.deferred_rows, stats.fallback_rows) == (2, 0)
    assert lookup.asked == [["00000001", "00000002"]], "a deferred number is not asked again"


def ceiling_run(fallback_rows: int, rows: int) -> RunContext:
    run = context()
    run.api_stats["postcodes.io"] = ApiStats(rows=rows, fallback_rows=fallback_rows)
    run.api_stats["postcodes.io"].record_error("http_503")
    return run


def test_the_run_fails_when_the_fallback_share_is_above_the_ceiling() -> None:
    sources = EnrichmentSources(max_fallback_share={"postcodes.io": 0.5})
    check_fallback_ceiling(ceiling_run(fallback_rows=5, rows=10), sources)  # at the ceiling
    with pytest.raises(EnrichmentDegradedError) as caught:
        check_fallback_ceiling(ceiling_run(fallback_rows=6, rows=10), sources)
    message = str(caught.value)
    assert "postcodes.io failed for 6 of 10 rows (60%, above the ceiling of 50%" in message
    assert "http_503 x1" in message
    assert "enrichment.postcodes.max_fallback_share" in message


def test_an_api_without_a_ceiling_or_without_rows_never_fails_the_run() -> None:
    check_fallback_ceiling(ceiling_run(fallback_rows=10, rows=10), EnrichmentSources())
    empty = context()
    check_fallback_ceiling(empty, EnrichmentSources(max_fallback_share={"postcodes.io": 0.0}))


def test_the_chunk_is_scored_for_accuracy_from_the_answers_it_got() -> None:
    # SW1A 1AA: known to the API; EH1 1YZ: a real area; QQ9 9QQ: neither. Companies: one
    # known, one unknown to the register, one it could not answer (not judged either way).
    postcodes = FakeLookup({"SW1A 1AA": WESTMINSTER, "QQ9 9QQ": None})
    companies = FakeLookup(
        {"01234567": ACME, "99999999": None}, unavailable=frozenset({"55555555"})
    )
    run = context()
    chunk = records(
        "SW1A 1AA",
        "EH1 1YZ",
        "QQ9 9QQ",
        "SW1A 1AA",
        companies=("01234567", "99999999", None, "55555555"),
    )
    enrich(chunk, run, EnrichmentSources(postcodes=postcodes, companies=companies))
    # Per record: 100 (both known), 50 (postcode yes, company no), 0 (postcode no), 100
    # (postcode yes; the unanswered company number not counted).
    assert run.quality.accuracy_records == 4
    assert run.quality.accuracy_sum == 250.0


def test_records_outside_the_uk_without_a_company_are_not_scored_for_accuracy() -> None:
    run = context()
    chunk = records("M5V 3L9", "").assign(country=["CA", "GB"])
    enrich(chunk, run, postcodes_only(FakeLookup({})))
    assert run.quality.accuracy_records == 0


def test_without_companies_house_company_numbers_are_not_judged() -> None:
    run = context()
    chunk = records("QQ9 9QQ", companies=("99999999",))
    enrich(chunk, run, postcodes_only(FakeLookup({"QQ9 9QQ": None})))
    assert (run.quality.accuracy_records, run.quality.accuracy_sum) == (1, 0.0)
