"""The downtime cost model of the failure impact assessment (docs/failure-impact.md).

Each error class of the classification is priced from figures an organisation sets for
itself in config/downtime-cost.yaml: how often it is expected a year (the probability), how
many hours the day's data is late and how many engineer hours it costs (the impact), priced
at a cost per hour late and per engineer hour. Defaults go by severity, so a class added to
the classification is priced the day it ships; a class may override any figure.

`scripts/impact_figures.py` writes the result to docs/figures/impact.json, and a test fails
when that file is not the model of the current inputs and classification.

Example:
    >>> inputs = CostInputs(cost_per_hour_late=100, engineer_hour_cost=50,
    ...     severity_defaults={s: ClassFigures(per_year=1, hours_late=1, engineer_hours=1)
    ...                        for s in ("P1", "P2", "P3")})
    >>> downtime_costs(inputs)["classes"]["ConfigError"]["cost_per_occurrence"]
    150.0
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from customer_etl.alerting.classification import BUILT_IN
from customer_etl.config.error_classes import Severity

# Probability and impact on the five-point scales of a risk register: the bands' lower bounds.
PROBABILITY_BANDS = ((12.0, 5), (4.0, 4), (1.0, 3), (0.2, 2))
"""Occurrences a year: monthly or more is 5, quarterly 4, yearly 3, every five years 2."""


class ClassFigures(BaseModel):
    """What one occurrence of a failure costs, and how often it is expected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_year: float = Field(ge=0, description="Expected occurrences a year.")
    hours_late: float = Field(ge=0, description="Hours the day's data is late or missing.")
    engineer_hours: float = Field(ge=0, description="Hours of people's work to recover.")
    fixed_cost: float = Field(0, ge=0, description="Any other cost of one occurrence.")


class ClassOverride(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    per_year: float | None = Field(None, ge=0)
    hours_late: float | None = Field(None, ge=0)
    engineer_hours: float | None = Field(None, ge=0)
    fixed_cost: float | None = Field(None, ge=0)


class CostInputs(BaseModel):
    """The figures of config/downtime-cost.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    currency: str = "GBP"
    cost_per_hour_late: float = Field(ge=0)
    engineer_hour_cost: float = Field(ge=0)
    impact_bands: tuple[float, float, float, float] = Field(
        (5000.0, 1000.0, 250.0, 50.0),
        description="Cost of one occurrence from which impact is 5, 4, 3 and 2 (else 1).",
    )
    severity_defaults: dict[Severity, ClassFigures]
    classes: dict[str, ClassOverride] = Field(default_factory=dict)


def downtime_costs(inputs: CostInputs) -> dict[str, Any]:
    """Every classified error class priced, the largest expected annual costs first."""
    unknown = set(inputs.classes) - set(BUILT_IN)
    if unknown:
        raise ValueError(f"config/downtime-cost.yaml prices unclassified classes: {unknown}")
    priced: dict[str, dict[str, Any]] = {}
    for name, rule in BUILT_IN.items():
        base = inputs.severity_defaults[rule.severity]
        override = inputs.classes.get(name, ClassOverride())
        figures = base.model_copy(update=override.model_dump(exclude_none=True))
        occurrence = (
            figures.hours_late * inputs.cost_per_hour_late
            + figures.engineer_hours * inputs.engineer_hour_cost
            + figures.fixed_cost
        )
        probability = _band(figures.per_year, PROBABILITY_BANDS)
        impact = _band(occurrence, tuple(zip(inputs.impact_bands, (5, 4, 3, 2), strict=True)))
        priced[name] = {
            "severity": rule.severity,
            "category": rule.category,
            "per_year": figures.per_year,
            "hours_late": figures.hours_late,
            "engineer_hours": figures.engineer_hours,
            "cost_per_occurrence": round(occurrence, 2),
            "expected_annual_cost": round(occurrence * figures.per_year, 2),
            "probability": probability,
            "impact": impact,
            "risk": probability * impact,
        }
    ranked = sorted(priced, key=lambda name: (-priced[name]["expected_annual_cost"], name))
    return {
        "currency": inputs.currency,
        "cost_per_hour_late": inputs.cost_per_hour_late,
        "engineer_hour_cost": inputs.engineer_hour_cost,
        "expected_annual_cost": round(sum(c["expected_annual_cost"] for c in priced.values()), 2),
        "ranked": ranked,
        "classes": priced,
    }


def _band(value: float, bands: tuple[tuple[float, int], ...]) -> int:
    return next((score for bound, score in bands if value >= bound), 1)
