"""The client-side rate limiter, on a fake clock: no test waits."""

from __future__ import annotations

from customer_etl.adapters.rate_limit import SlidingWindowLimiter
from tests.fakes.clock import FakeClock


def test_requests_within_the_limit_go_at_once_and_the_next_waits_for_the_window() -> None:
    clock = FakeClock(1000.0)
    limiter = SlidingWindowLimiter(3, 300, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        limiter.acquire()
    assert clock.slept == []
    clock.now += 100
    limiter.acquire()  # the oldest request leaves the window 300 s after it was sent
    assert clock.slept == [200]
    assert limiter.waited_seconds == 200


def test_no_more_than_the_limit_in_any_window() -> None:
    clock = FakeClock(1000.0)
    limiter = SlidingWindowLimiter(600, 300, clock=clock, sleep=clock.sleep)
    sent: list[float] = []
    for _ in range(1500):
        limiter.acquire()
        sent.append(clock.now)
        clock.now += 0.01
    for index in range(len(sent) - 600):
        assert sent[index + 600] - sent[index] >= 300


def test_a_server_announced_reset_holds_every_request_until_then() -> None:
    clock = FakeClock(1000.0)
    limiter = SlidingWindowLimiter(600, 300, clock=clock, sleep=clock.sleep)
    limiter.hold_for(42)
    limiter.acquire()
    assert clock.slept == [42]
