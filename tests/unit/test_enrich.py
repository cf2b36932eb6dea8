from __future__ import annotations

from datetime import date

import pandas as pd

from customer_etl.errors import EnrichmentUnavailableError
from customer_etl.ports import PostcodeDetails
from customer_etl.stages.context import RunContext
from customer_etl.stages.enrich import enrich

WESTMINSTER = PostcodeDetails("London", "Westminster", "England", 51.5, -0.14)


class FakeLookup:
    def __init__(
        self, known: dict[str, PostcodeDetails | None], unavailable: frozenset[str] = frozenset()
    ):
        self.known = known
        self.unavailable = unavailable
        self.asked: list[list[str]] = []

    def lookup(self, postcodes: list[str]) -> dict[str, PostcodeDetails | None]:
        self.asked.append(list(postcodes))
        return {p: self.known.get(p) for p in postcodes if p not in self.unavailable}


class DownLookup:
    def lookup(self, postcodes: list[str]) -> dict[str, PostcodeDetails | None]:
        raise EnrichmentUnavailableError("down")


def records(*postcodes: str) -> pd.DataFrame:
    return pd.DataFrame(
        {"customer_id": [f"C{i}" for i in range(len(postcodes))], "postcode": list(postcodes)}
    )


def context() -> RunContext:
    return RunContext(run_id="r", today=date(2026, 1, 1))


def test_api_answers_are_used_and_each_distinct_postcode_asked_once_per_run() -> None:
    lookup = FakeLookup({"SW1A 1AA": WESTMINSTER})
    run = context()
    first = enrich(records("SW1A 1AA", "SW1A 1AA", "EH1 1YZ"), run, lookup)
    second = enrich(records("SW1A 1AA", "EH1 1YZ"), run, lookup)
    assert lookup.asked == [["SW1A 1AA", "EH1 1YZ"]]
    row = first.passed.iloc[0]
    assert (row["region"], row["admin_district"], row["enrichment_source"]) == (
        "London",
        "Westminster",
        "postcodes.io",
    )
    assert row["post_town"] == "London"
    assert second.passed["enrichment_source"].tolist() == ["postcodes.io", "reference"]


def test_unknown_or_unavailable_postcodes_fall_back_to_the_reference_table() -> None:
    lookup = FakeLookup({}, unavailable=frozenset({"CF10 1AA"}))
    outcome = enrich(records("EH1 1YZ", "CF10 1AA"), context(), lookup)
    passed = outcome.passed
    assert passed["enrichment_source"].tolist() == ["reference", "reference"]
    assert passed["post_town"].tolist() == ["Edinburgh", "Cardiff"]
    assert passed["postcode_country"].tolist() == ["Scotland", "Wales"]
    assert passed["latitude"].isna().all()


def test_an_unavailable_source_never_drops_or_quarantines_a_record() -> None:
    outcome = enrich(records("EH1 1YZ", "B33 8TH", "CF10 1AA"), context(), DownLookup())
    assert len(outcome.passed) == 3
    assert outcome.quarantined.empty
    assert set(outcome.passed["enrichment_source"]) == {"reference"}


def test_without_a_lookup_only_reference_data_is_used() -> None:
    outcome = enrich(records("EH1 1YZ"), context(), None)
    assert outcome.passed.loc[0, "enrichment_source"] == "reference"
