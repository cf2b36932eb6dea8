"""Companies House through its resilient client, against our fake server on loopback."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from customer_etl.adapters.answer_cache import SqliteAnswerCache
from customer_etl.adapters.api_client import ApiClient
from customer_etl.adapters.companies_house import CompaniesHouseLookup
from customer_etl.adapters.rate_limit import SlidingWindowLimiter
from customer_etl.config.model import CompaniesHouseSettings, Config
from customer_etl.core.api_stats import ApiStats
from customer_etl.observability.telemetry import send_logs_to
from customer_etl.runtime.enrichment import enrichment_sources
from tests.fakes.clock import FakeClock
from tests.fakes.postcodes_api import FakeApis, company_profile, serve

KEY = "test-key-123"


def lookup_at(
    api: FakeApis,
    key: str = KEY,
    limiter: SlidingWindowLimiter | None = None,
    sleeps: list[float] | None = None,
    **overrides: Any,
) -> CompaniesHouseLookup:
    settings = CompaniesHouseSettings.model_validate({"timeout_seconds": 2, **overrides})
    waits = sleeps if sleeps is not None else []
    client = ApiClient(
        "companies_house",
        api.base_url,
        settings,
        limiter=limiter,
        auth=(key, ""),
        sleep=waits.append,
        max_rate_limit_wait_seconds=settings.max_rate_limit_wait_seconds,
    )
    return CompaniesHouseLookup(settings, client)


@pytest.fixture
def api() -> Iterator[FakeApis]:
    companies = {"00000001": company_profile(sic_codes=("62020", "62090"))}
    with serve(FakeApis(companies=companies, api_key=KEY)) as running:
        yield running


def test_a_company_profile_is_read_with_the_key_as_basic_auth_user(api: FakeApis) -> None:
    stats = ApiStats()
    answers = lookup_at(api).lookup(["00000001", "SC999999"], stats)
    found = answers["00000001"]
    assert found is not None
    assert (found.status, found.company_type, found.sic_codes, found.incorporated_on) == (
        "active",
        "ltd",
        ("62020", "62090"),
        date(2010, 5, 4),
    )
    assert answers["SC999999"] is None, "unknown to the register: recorded, not retried"
    assert sorted(api.statuses) == [200, 404]
    assert stats.retries == 0


def test_a_refused_key_is_not_retried_and_the_company_falls_back(api: FakeApis) -> None:
    stats = ApiStats()
    answers = lookup_at(api, key="wrong").lookup(["00000001"], stats)
    assert answers == {}
    assert api.statuses == [401]
    assert dict(stats.errors) == {"http_401": 1}


def test_the_client_side_limiter_spaces_requests_to_the_window(api: FakeApis) -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(2, 300, clock=clock, sleep=clock.sleep)
    numbers = [f"{n:08d}" for n in range(5)]
    answers = lookup_at(api, limiter=limiter, concurrency=1).lookup(numbers, ApiStats())
    assert len(answers) == 5
    # Two per 300 s: the third and fourth wait for the first window, the fifth for the next.
    assert clock.slept == [300, 300]
    assert len(api.company_requests) == 5


def test_a_429_holds_every_later_request_until_the_reset(api: FakeApis) -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(600, 300, clock=clock, sleep=clock.sleep)
    sleeps: list[float] = []
    api.rate_limit_next = 1
    api.rate_limit_reset_seconds = 60
    stats = ApiStats()
    answers = lookup_at(api, limiter=limiter, sleeps=sleeps, concurrency=1).lookup(
        ["00000001", "00000002"], stats
    )
    assert set(answers) == {"00000001", "00000002"}
    [backoff] = sleeps
    assert 58 <= backoff <= 60
    # The limiter was told too, so no other request goes before the reset.
    assert clock.slept and 58 <= clock.slept[0] <= 60
    assert stats.errors == {"http_429": 1}


def test_lookups_past_the_run_budget_are_deferred_not_sent(api: FakeApis) -> None:
    stats = ApiStats()
    lookup = lookup_at(api, max_requests_per_run=3, concurrency=1)
    first = lookup.lookup(["00000001", "00000002"], stats)
    second = lookup.lookup(["00000003", "00000004", "00000005"], stats)
    assert len(first) == 2
    assert list(second) == ["00000003"]
    assert stats.deferred_keys == {"00000004", "00000005"}
    assert len(api.company_requests) == 3


def log_of(config: Config, cache_path: Path) -> str:
    stream = io.StringIO()
    send_logs_to(stream)
    try:
        cache = SqliteAnswerCache(cache_path)
        sources = enrichment_sources(config, cache, breaker_storage=lambda _: None)
    finally:
        send_logs_to(None)
    assert sources.companies is None
    assert "companies_house" not in sources.max_fallback_share
    return stream.getvalue()


@pytest.mark.parametrize(
    "companies_house",
    [{}, {"api_key_ref": "env:CUSTOMER_ETL_TEST_UNSET_KEY"}],
    ids=["no reference", "unset variable"],
)
def test_without_a_key_company_enrichment_is_skipped_with_one_notice(
    companies_house: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("CUSTOMER_ETL_TEST_UNSET_KEY", raising=False)
    config = Config.model_validate(
        {
            "environment": "local",
            "enrichment": {"companies_house": companies_house},
        }
    )
    log = log_of(config, tmp_path / "cache.db")
    assert log.count("company enrichment skipped: no Companies House API key") == 1
