"""Health checks of the components a run depends on: configuration, warehouse, object
store, disk, key provider and enrichment APIs, one module each.

`checks.local_health` and `checks.cloud_health` pick and run them side by side
(`runner.run_checks`) and give a `report.HealthReport`, which `customer-etl health` prints
and the health function returns as JSON. `HealthResult` is the warehouse check's own
detailed answer (`database.check_database`).

May import: `run`, `adapters`, `stages` and the bands below them; never `runtime` (which
gives it the factories it needs) or `reporting`.
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
