"""What one run asked of one enrichment API, and how it went.

The enrich stage keeps one `ApiStats` per API in the run context and hands it to the
adapter with every lookup; the adapter's worker threads record into it. The manifest keeps
its `report()`, so the run summary and the Lambda metrics show the same figures. Only
counts, durations, status codes and error kinds: never a postcode or a company number.
"""

from __future__ import annotations

import math
import threading
from collections import Counter
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict


class ApiReport(BaseModel):
    """The figures of one API in a stage report (`summary.json`, CloudWatch metrics)."""

    model_config = ConfigDict(extra="forbid")

    calls: int = 0
    rows_per_call: float = 0.0
    cache_hits: int = 0
    latency_ms_p50: float = 0.0
    latency_ms_p95: float = 0.0
    latency_ms_max: float = 0.0
    successes: int = 0
    errors: dict[str, int] = {}
    retries: int = 0
    breaker_state_changes: dict[str, int] = {}
    rows: int = 0
    unknown_rows: int = 0
    fallback_rows: int = 0
    deferred_rows: int = 0


@dataclass
class ApiStats:
    """Thread-safe tallies of one API over one run's stage."""

    calls: int = 0
    keys_sent: int = 0
    cache_hits: int = 0
    successes: int = 0
    retries: int = 0
    rows: int = 0
    """Rows that needed the API (the stage counts them; so are the three below)."""
    unknown_rows: int = 0
    fallback_rows: int = 0
    deferred_rows: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    breaker_state_changes: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)
    deferred_keys: set[str] = field(default_factory=set)
    """Keys left for a later run (request budget spent); never reported, only counted."""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record_call(self, keys: int, seconds: float) -> None:
        """One HTTP request that got a response (of any status) or timed out."""
        with self._lock:
            self.calls += 1
            self.keys_sent += keys
            self.latencies_ms.append(seconds * 1000)

    def record_success(self) -> None:
        with self._lock:
            self.successes += 1

    def record_error(self, kind: str) -> None:
        with self._lock:
            self.errors[kind] += 1

    def record_retry(self) -> None:
        with self._lock:
            self.retries += 1

    def record_state_change(self, old: str, new: str) -> None:
        with self._lock:
            self.breaker_state_changes[f"{old}->{new}"] += 1

    def defer(self, keys: list[str]) -> None:
        with self._lock:
            self.deferred_keys.update(keys)

    def record_cache_hits(self, count: int) -> None:
        with self._lock:
            self.cache_hits += count

    def report(self) -> ApiReport:
        with self._lock:
            latencies = sorted(self.latencies_ms)
            return ApiReport(
                calls=self.calls,
                rows_per_call=round(self.keys_sent / self.calls, 2) if self.calls else 0.0,
                cache_hits=self.cache_hits,
                latency_ms_p50=round(_percentile(latencies, 50), 1),
                latency_ms_p95=round(_percentile(latencies, 95), 1),
                latency_ms_max=round(latencies[-1], 1) if latencies else 0.0,
                successes=self.successes,
                errors=dict(sorted(self.errors.items())),
                retries=self.retries,
                breaker_state_changes=dict(sorted(self.breaker_state_changes.items())),
                rows=self.rows,
                unknown_rows=self.unknown_rows,
                fallback_rows=self.fallback_rows,
                deferred_rows=self.deferred_rows,
            )


def _percentile(ordered: list[float], percent: float) -> float:
    """Nearest-rank percentile of an ascending list; 0 for no values."""
    if not ordered:
        return 0.0
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]
