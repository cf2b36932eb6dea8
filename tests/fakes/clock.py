"""A clock that tests move by hand, so that rate limits and backoffs never make a test wait."""

from __future__ import annotations


class FakeClock:
    """Callable like `time.monotonic`; its `sleep` records the wait and moves the clock."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
