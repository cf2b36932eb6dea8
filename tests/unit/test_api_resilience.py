"""Retries, timeouts, the circuit breaker's states and 429 handling, against our fake server.

Backoff sleeps are recorded instead of slept, and the breaker's opening time is moved back
instead of waiting for its reset timeout: nothing here waits.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pybreaker
import pytest

from customer_etl.adapters.api_client import ApiClient
from customer_etl.adapters.postcodes_io import PostcodesIoLookup
from customer_etl.config.model import PostcodesSettings
from customer_etl.core.api_stats import ApiStats
from customer_etl.observability.telemetry import send_logs_to
from tests.fakes.postcodes_api import FakePostcodesApi, details, serve

KNOWN = {"SW1A 1AA": details("London", "Westminster")}
POSTCODES = ["SW1A 1AA"]


class Harness:
    def __init__(self, api: FakePostcodesApi, path: str = "", **overrides: Any) -> None:
        self.api = api
        self.sleeps: list[float] = []
        # The breaker's storage, kept so that a test can move its opening time back rather
        # than wait for the reset timeout.
        self.breaker_state = pybreaker.CircuitMemoryStorage(pybreaker.STATE_CLOSED)
        chosen = PostcodesSettings.model_validate(
            {"timeout_seconds": 2, "concurrency": 1, **overrides}
        )
        self.client = ApiClient(
            "postcodes.io",
            api.base_url + path,
            chosen,
            sleep=self.sleeps.append,
            breaker_storage=self.breaker_state,
        )
        self.lookup = PostcodesIoLookup(chosen, self.client)

    def pass_reset_timeout(self) -> None:
        opened_at = self.breaker_state.opened_at
        assert opened_at is not None
        self.breaker_state.opened_at = opened_at - timedelta(hours=1)

    def ask(self, postcodes: list[str] = POSTCODES) -> tuple[dict[str, Any], ApiStats]:
        stats = ApiStats()
        return self.lookup.lookup(postcodes, stats), stats


@pytest.fixture
def api() -> Iterator[FakePostcodesApi]:
    with serve(FakePostcodesApi(known=dict(KNOWN))) as running:
        yield running


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    send_logs_to(stream)
    yield stream
    send_logs_to(None)


def records(log: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.getvalue().splitlines() if line.startswith("{")]


def test_retry_then_success_with_exponential_backoff(
    api: FakePostcodesApi, log: io.StringIO
) -> None:
    api.fail_next = 2
    harness = Harness(api, max_retries=3, backoff_initial_seconds=1, backoff_max_seconds=30)
    answers, stats = harness.ask()
    assert answers["SW1A 1AA"].region == "London"
    assert api.statuses == [503, 503, 200]
    assert stats.retries == 2
    assert dict(stats.errors) == {"http_503": 2}
    assert stats.successes == 1
    # 1 s then 2 s, each plus up to 1 s of jitter.
    assert 1 <= harness.sleeps[0] <= 2 <= harness.sleeps[1] <= 3
    retried = [r for r in records(log) if r["message"] == "API request failed; retrying"]
    assert [(r["attempt"], r["status_code"], r["error_kind"]) for r in retried] == [
        (1, 503, "http_503"),
        (2, 503, "http_503"),
    ]
    assert "SW1A" not in log.getvalue()


def test_backoff_never_waits_longer_than_its_maximum(api: FakePostcodesApi) -> None:
    api.fail_next = 5
    harness = Harness(
        api, max_retries=5, failure_threshold=10, backoff_initial_seconds=1, backoff_max_seconds=3
    )
    harness.ask()
    assert len(harness.sleeps) == 5
    assert max(harness.sleeps) <= 3 + 1  # the cap, plus at most the jitter


def test_spent_retries_leave_the_batch_unanswered_and_log_the_outcome(
    api: FakePostcodesApi, log: io.StringIO
) -> None:
    api.fail_next = 10
    answers, stats = Harness(api, max_retries=2).ask()
    assert answers == {}
    assert api.statuses == [503, 503, 503]
    assert stats.retries == 2
    [gave_up] = [r for r in records(log) if r["message"] == "API request gave up"]
    assert (gave_up["error_kind"], gave_up["api"]) == ("http_503", "postcodes.io")


def test_a_request_that_times_out_is_retried(api: FakePostcodesApi) -> None:
    api.hang_next = 1
    api.hang_seconds = 1.0
    answers, stats = Harness(api, timeout_seconds=0.2, max_retries=1).ask()
    assert answers["SW1A 1AA"] is not None
    assert dict(stats.errors) == {"timeout": 1}
    assert stats.retries == 1


def test_a_server_error_share_is_absorbed_by_retries(api: FakePostcodesApi) -> None:
    api.failure_share = 0.3
    postcodes = [f"B{i} 1AA" for i in range(2000)]
    answers, stats = Harness(api, max_retries=5, failure_threshold=10).ask(postcodes)
    assert len(answers) == 2000
    assert stats.errors["http_500"] == stats.retries > 0
    assert stats.successes == 20


def test_an_unparseable_answer_is_retried_as_a_bad_response(api: FakePostcodesApi) -> None:
    # The fake answers an unknown path with a 404 whose body is no bulk result.
    answers, stats = Harness(api, path="/nowhere", max_retries=1).ask()
    assert answers == {}
    assert dict(stats.errors) == {"bad_response": 2}


def test_breaker_opens_then_half_opens_then_closes_when_the_api_recovers(
    api: FakePostcodesApi, log: io.StringIO
) -> None:
    harness = Harness(api, max_retries=0, failure_threshold=2, reset_timeout_seconds=60)
    api.down = True
    harness.ask(["B1 1AA"])
    _, opened = harness.ask(["B2 1AA"])
    assert harness.client.breaker_state == "open"
    assert opened.breaker_state_changes == {"closed->open": 1}

    api.down = False
    answers, skipped = harness.ask()
    assert answers == {}, "while open, nothing is sent"
    assert skipped.errors == {"circuit_open": 1}
    assert len(api.requests) == 2

    harness.pass_reset_timeout()  # the next request is the trial
    answers, recovered = harness.ask()
    assert answers["SW1A 1AA"] is not None
    assert recovered.breaker_state_changes == {"open->half-open": 1, "half-open->closed": 1}
    assert harness.client.breaker_state == "closed"
    changes = [
        (r["from_state"], r["to_state"])
        for r in records(log)
        if r["message"] == "circuit state changed"
    ]
    assert changes == [("closed", "open"), ("open", "half-open"), ("half-open", "closed")]


def test_a_failed_trial_in_half_open_opens_the_circuit_again(api: FakePostcodesApi) -> None:
    harness = Harness(api, max_retries=0, failure_threshold=1, reset_timeout_seconds=60)
    api.down = True
    harness.ask()
    harness.pass_reset_timeout()
    _, trial = harness.ask()
    assert trial.breaker_state_changes == {"open->half-open": 1, "half-open->open": 1}
    assert harness.client.breaker_state == "open"
    assert len(api.requests) == 2


def test_a_429_waits_for_the_announced_reset_and_does_not_open_the_circuit(
    api: FakePostcodesApi,
) -> None:
    api.rate_limit_next = 3
    api.rate_limit_reset_seconds = 30
    harness = Harness(api, max_retries=3, failure_threshold=1)
    answers, stats = harness.ask()
    assert answers["SW1A 1AA"] is not None
    assert api.statuses == [429, 429, 429, 200]
    # X-Ratelimit-Reset is a whole epoch second, 30 s ahead when it was sent.
    assert all(28 <= wait <= 30 for wait in harness.sleeps)
    assert harness.client.breaker_state == "closed"
    assert dict(stats.errors) == {"http_429": 3}


def test_a_429_asking_for_a_longer_wait_than_allowed_gives_up(api: FakePostcodesApi) -> None:
    api.rate_limit_next = 1
    api.rate_limit_reset_seconds = 3600
    answers, stats = Harness(api, max_retries=3).ask()
    assert answers == {}
    assert api.statuses == [429]
    assert dict(stats.errors) == {"http_429": 1}


def test_a_redirect_is_not_followed_so_postcodes_never_leave_over_plain_http(
    api: FakePostcodesApi,
) -> None:
    with serve(FakePostcodesApi(known=dict(KNOWN))) as elsewhere:
        api.redirect_to = elsewhere.base_url + "/postcodes"
        answers, stats = Harness(api).ask()
        assert elsewhere.requests == []  # nothing was sent to the redirect's target
    assert answers == {}  # unanswered: the record falls back
    assert api.statuses == [307]  # refused at once, not retried
    assert stats.errors == {"http_307": 1}
