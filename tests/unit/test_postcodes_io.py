"""postcodes.io through its resilient client, against our fake server on loopback."""

from __future__ import annotations

from typing import Any

from customer_etl.adapters.api_client import ApiClient
from customer_etl.adapters.postcodes_io import PostcodesIoLookup
from customer_etl.config.model import PostcodesSettings
from customer_etl.core.api_stats import ApiStats
from tests.fakes.postcodes_api import (
    FakePostcodesApi,
    closed_port_url,
    details,
    serve,
    serve_apart,
)


def settings(**overrides: Any) -> PostcodesSettings:
    return PostcodesSettings.model_validate({"timeout_seconds": 2, **overrides})


def lookup_at(
    base_url: str, sleeps: list[float] | None = None, **overrides: Any
) -> PostcodesIoLookup:
    chosen = settings(**overrides)
    waits = sleeps if sleeps is not None else []
    client = ApiClient("postcodes.io", base_url, chosen, sleep=waits.append)
    return PostcodesIoLookup(chosen, client)


def test_bulk_lookup_batches_at_most_100_and_maps_unknown_to_none() -> None:
    postcodes = [f"SW1A {i}AA" for i in range(250)]
    stats = ApiStats()
    with serve(FakePostcodesApi(known={"SW1A 1AA": details("London", "Westminster")})) as api:
        answers = lookup_at(api.base_url).lookup(postcodes, stats)
    assert sorted(len(batch) for batch in api.requests) == [50, 100, 100]
    assert sorted(code for batch in api.requests for code in batch) == sorted(postcodes)
    assert answers["SW1A 1AA"] is not None
    assert answers["SW1A 1AA"].admin_district == "Westminster"
    assert answers["SW1A 2AA"] is None
    assert len(answers) == 250
    report = stats.report()
    assert (report.calls, report.successes, report.rows_per_call) == (3, 3, 83.33)


def test_batches_are_sent_concurrently() -> None:
    postcodes = [f"B{i} 1AA" for i in range(400)]
    with serve(FakePostcodesApi(latency_seconds=0.2)) as api:
        lookup = lookup_at(api.base_url, concurrency=4)
        stats = ApiStats()
        lookup.lookup(postcodes, stats)
    # Four requests of 0.2 s each, all in flight at once: none waited for another, so the
    # slowest took about as long as the fastest (a serial client would queue them).
    report = stats.report()
    assert report.calls == 4
    assert report.latency_ms_max < 2 * report.latency_ms_p50


def test_a_failing_api_opens_the_circuit_and_the_rest_is_not_asked() -> None:
    postcodes = [f"B{i} 1AA" for i in range(1000)]
    stats = ApiStats()
    with serve(FakePostcodesApi(down=True)) as api:
        lookup = lookup_at(api.base_url, failure_threshold=2, max_retries=0, concurrency=1)
        answers = lookup.lookup(postcodes, stats)
    assert answers == {}
    assert len(api.requests) == 2
    assert stats.breaker_state_changes == {"closed->open": 1}
    assert stats.errors["http_503"] == 2
    # The second failure trips the circuit (that request counts as circuit_open too).
    assert stats.errors["circuit_open"] == 9


def test_an_unreachable_api_costs_a_few_attempts_not_one_per_batch() -> None:
    sleeps: list[float] = []
    stats = ApiStats()
    lookup = lookup_at(closed_port_url(), sleeps, failure_threshold=3, max_retries=3, concurrency=1)
    answers = lookup.lookup([f"B{i} 1AA" for i in range(5000)], stats)
    assert answers == {}
    assert stats.errors["connection"] == 3
    assert stats.calls == 3
    assert stats.errors["circuit_open"] == 50
    assert len(sleeps) == 2, "two retries, then the circuit opened"


def test_the_benchmarks_fake_in_a_process_of_its_own_answers_like_the_threaded_one() -> None:
    stats = ApiStats()
    with serve_apart(latency_seconds=0.0) as base_url:
        answers = lookup_at(base_url).lookup(["SW1A 1AA", "EC2V 7HH"], stats)
    assert answers == {"SW1A 1AA": None, "EC2V 7HH": None}
    assert (stats.report().calls, stats.report().successes) == (1, 1)
