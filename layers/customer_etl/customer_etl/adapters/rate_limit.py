"""A client-side rate limiter: at most N requests in any window of W seconds.

Written here rather than taken from a library (ratelimit, pyrate-limiter) because it must
also obey a reset time the server announces in a 429 (every thread waits until then, so
the API is never hammered), and its clock and sleep must be replaceable so that tests of
rate limiting run in milliseconds. Thirty lines do both; the libraries do neither.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class SlidingWindowLimiter:
    """Blocks `acquire()` until a request may go without exceeding the limit.

    Example:
        >>> limiter = SlidingWindowLimiter(max_calls=600, window_seconds=300)
        >>> limiter.acquire()  # returns at once: the window is empty
    """

    def __init__(
        self,
        max_calls: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._max_calls = max_calls
        self._window = window_seconds
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._held_until = 0.0
        self._lock = threading.Lock()
        self.waited_seconds = 0.0
        """Total time callers spent waiting (for the run's statistics)."""

    def acquire(self) -> None:
        while True:
            with self._lock:
                now = self._clock()
                while self._sent and self._sent[0] <= now - self._window:
                    self._sent.popleft()
                wait = self._held_until - now
                if wait <= 0 and len(self._sent) < self._max_calls:
                    self._sent.append(now)
                    return
                if wait <= 0:
                    wait = self._sent[0] + self._window - now
                self.waited_seconds += wait
            self._sleep(wait)

    def hold_for(self, seconds: float) -> None:
        """No request for `seconds` from now: the server said so."""
        with self._lock:
            self._held_until = max(self._held_until, self._clock() + seconds)
