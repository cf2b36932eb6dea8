"""Circuit breakers of the enrichment APIs (pybreaker), with state changes logged and counted.

Locally a breaker's state lives in the process (pybreaker's memory storage); in Lambda it
lives in DynamoDB (`adapters/dynamodb_state.py`), so that every invocation and every
concurrent execution sees the same open circuit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pybreaker

from customer_etl.core.api_stats import ApiStats
from customer_etl.observability.telemetry import logger

T = TypeVar("T")


class ConcurrentCircuitBreaker(pybreaker.CircuitBreaker):
    """A pybreaker breaker that lets guarded calls run side by side.

    pybreaker holds its lock for the whole guarded call, which would make our concurrent
    requests wait for one another. The state changes (open, half-open, close) still take
    the lock; what is given up is that, while half-open, more than one trial request may
    be in flight at once.
    """

    def call(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return self.state.call(func, *args, **kwargs)


class StateChangeRecorder(pybreaker.CircuitBreakerListener):
    """Logs every state change and counts it in the statistics of the current lookup."""

    def __init__(self, api: str) -> None:
        self._api = api
        self.stats: ApiStats | None = None

    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        old = old_state.name if old_state is not None else "none"
        if old == new_state.name:
            # Two concurrent requests tripped the circuit at once: one change, not two.
            return
        logger.warning(
            "circuit state changed",
            extra={"api": self._api, "from_state": old, "to_state": new_state.name},
        )
        if self.stats is not None:
            self.stats.record_state_change(old, new_state.name)


def circuit_breaker(
    api: str,
    *,
    failure_threshold: int,
    reset_timeout_seconds: float,
    excluded: tuple[type[BaseException], ...] = (),
    storage: pybreaker.CircuitBreakerStorage | None = None,
) -> tuple[ConcurrentCircuitBreaker, StateChangeRecorder]:
    """The breaker of `api` and the listener that records its state changes."""
    recorder = StateChangeRecorder(api)
    breaker = ConcurrentCircuitBreaker(
        fail_max=failure_threshold,
        reset_timeout=reset_timeout_seconds,
        exclude=list(excluded),
        listeners=[recorder],
        state_storage=storage,
        name=api,
    )
    return breaker, recorder
