"""What the health checks report: a status per component and one for the whole.

The JSON form, `{"status", "components": [{"name", "status", "latency_ms", "message"}]}`, is
what `customer-etl health --json` prints and the health function returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    """Worst last: `max` of statuses by `rank` is the aggregate. `skipped` is a component's
    only (not configured, so not checked: Companies House without an API key, the key
    provider with encryption off); it counts as healthy in the aggregate, which is never
    `skipped`."""

    HEALTHY = "healthy"
    SKIPPED = "skipped"
    DEGRADED = "degraded"
    UNHEALTHY = "unhealthy"

    @property
    def rank(self) -> int:
        return _RANKS[self]


_RANKS = {Status.HEALTHY: 0, Status.SKIPPED: 0, Status.DEGRADED: 1, Status.UNHEALTHY: 2}


@dataclass(frozen=True)
class Finding:
    """What a check found, before the runner names and times it. The message is shown to
    operators: no secrets, no records' values, no raw driver errors."""

    status: Status
    message: str


@dataclass(frozen=True)
class ComponentHealth:
    name: str
    status: Status
    latency_ms: float | None
    """How long the check took; None when it did not run."""
    message: str

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "latency_ms": self.latency_ms,
            "message": self.message,
        }

    def summary(self) -> str:
        """One line for people; not-healthy statuses in capitals so they stand out."""
        quiet = (Status.HEALTHY, Status.SKIPPED)
        word = self.status.value if self.status in quiet else self.status.value.upper()
        timed = self.latency_ms is not None and self.status is not Status.SKIPPED
        timing = f" in {self.latency_ms:.1f} ms" if timed else ""
        return f"{self.name}: {word}{timing}, {self.message}"


@dataclass(frozen=True)
class HealthReport:
    """The components' health and the aggregate.

    Example:
        >>> report = HealthReport.of([ComponentHealth("disk", Status.DEGRADED, 0.1, "low")])
        >>> report.as_json()["status"]
        'degraded'
    """

    status: Status
    components: tuple[ComponentHealth, ...]

    @classmethod
    def of(cls, components: Sequence[ComponentHealth]) -> HealthReport:
        """The aggregate is the worst component status. Optional components never report
        worse than degraded (see `runner.Check`), so only a required one makes it
        unhealthy."""
        worst = max((c.status for c in components), key=lambda s: s.rank, default=Status.HEALTHY)
        return cls(Status.HEALTHY if worst is Status.SKIPPED else worst, tuple(components))

    @property
    def unhealthy_count(self) -> int:
        return sum(1 for c in self.components if c.status is Status.UNHEALTHY)

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "components": [component.as_json() for component in self.components],
        }
