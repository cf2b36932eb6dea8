"""Health checks of the components a run depends on, each returning a `HealthResult`.

`customer-etl health` prints them and exits non-zero when one is unhealthy; a cloud health
function can call the same checks and return their results.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class HealthResult:
    """What one check found. `detail` and `facts` are safe to show: no credentials, no
    records' values.

    Example:
        >>> HealthResult("database", True, 3.2, "schema 0001 is current").summary()
        'database: healthy in 3.2 ms, schema 0001 is current'
    """

    component: str
    healthy: bool
    latency_ms: float | None
    detail: str
    facts: Mapping[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        state = "healthy" if self.healthy else "UNHEALTHY"
        timing = f" in {self.latency_ms:.1f} ms" if self.latency_ms is not None else ""
        return f"{self.component}: {state}{timing}, {self.detail}"
