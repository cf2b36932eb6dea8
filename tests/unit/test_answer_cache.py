"""The persistent answer cache (SQLite) and the lookup that asks it before the API."""

from __future__ import annotations

import io
from pathlib import Path

from customer_etl.adapters import postcodes_io
from customer_etl.adapters.answer_cache import CachedLookup, SqliteAnswerCache
from customer_etl.adapters.api_client import ApiClient
from customer_etl.adapters.postcodes_io import PostcodesIoLookup
from customer_etl.config.model import PostcodesSettings
from customer_etl.core.api_stats import ApiStats
from customer_etl.core.ports import PostcodeDetails
from customer_etl.observability.telemetry import send_logs_to
from tests.fakes.postcodes_api import FakePostcodesApi, details, serve

DAY = 86_400.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def cached_lookup(base_url: str, cache: SqliteAnswerCache) -> CachedLookup[PostcodeDetails]:
    settings = PostcodesSettings(timeout_seconds=2, max_retries=0)
    source = PostcodesIoLookup(settings, ApiClient("postcodes.io", base_url, settings))
    return CachedLookup(
        "postcodes.io", source, cache, 30 * DAY, postcodes_io.encode, postcodes_io.decode
    )


def test_a_second_run_takes_found_and_unknown_answers_from_the_cache(tmp_path: Path) -> None:
    cache = SqliteAnswerCache(tmp_path / "cache.db")
    with serve(FakePostcodesApi(known={"SW1A 1AA": details("London", "Westminster")})) as api:
        first = cached_lookup(api.base_url, cache).lookup(["SW1A 1AA", "ZZ1 1ZZ"], ApiStats())
        rerun = ApiStats()
        second = cached_lookup(api.base_url, cache).lookup(["SW1A 1AA", "ZZ1 1ZZ"], rerun)
    assert len(api.requests) == 1
    assert second == first
    assert second["ZZ1 1ZZ"] is None
    assert (rerun.cache_hits, rerun.calls) == (2, 0)


def test_only_keys_missing_from_the_cache_are_asked(tmp_path: Path) -> None:
    cache = SqliteAnswerCache(tmp_path / "cache.db")
    with serve(FakePostcodesApi()) as api:
        cached_lookup(api.base_url, cache).lookup(["A1 1AA", "A1 1AB"], ApiStats())
        stats = ApiStats()
        cached_lookup(api.base_url, cache).lookup(["A1 1AA", "A1 1AB", "A1 1AD"], stats)
    assert api.requests[1] == ["A1 1AD"]
    assert stats.cache_hits == 2


def test_answers_expire_after_their_ttl(tmp_path: Path) -> None:
    clock = Clock()
    cache = SqliteAnswerCache(tmp_path / "cache.db", clock=clock)
    cache.put("postcodes.io", {"A1 1AA": {"region": "X"}, "A1 1AB": None}, ttl_seconds=DAY)
    assert cache.get("postcodes.io", ["A1 1AA", "A1 1AB"]) == {
        "A1 1AA": {"region": "X"},
        "A1 1AB": None,
    }
    clock.now += DAY
    assert cache.get("postcodes.io", ["A1 1AA", "A1 1AB"]) == {}


def test_answers_of_one_api_are_not_answers_of_another(tmp_path: Path) -> None:
    cache = SqliteAnswerCache(tmp_path / "cache.db")
    cache.put("postcodes.io", {"12345678": {"region": "X"}}, ttl_seconds=DAY)
    assert cache.get("companies_house", ["12345678"]) == {}


def test_the_cache_file_holds_no_postcode_in_clear(tmp_path: Path) -> None:
    path = tmp_path / "cache.db"
    SqliteAnswerCache(path).put("postcodes.io", {"SW1A 1AA": None}, ttl_seconds=DAY)
    assert b"SW1A" not in path.read_bytes()


def test_an_unusable_cache_is_bypassed_and_logged(tmp_path: Path) -> None:
    cache = SqliteAnswerCache(tmp_path / "cache.db")
    (tmp_path / "cache.db").write_bytes(b"this is not a database" * 100)
    stream = io.StringIO()
    send_logs_to(stream)
    try:
        with serve(FakePostcodesApi(known={"SW1A 1AA": details("London", "W")})) as api:
            answers = cached_lookup(api.base_url, cache).lookup(["SW1A 1AA"], ApiStats())
    finally:
        send_logs_to(None)
    assert answers["SW1A 1AA"] is not None
    log = stream.getvalue()
    assert log.count("enrichment cache unavailable; asking the API") == 2  # read and write
    assert "enrichment.cache_path" in log
