"""How an error class is handled by the alerting: its category, severity and escalation.

Kept apart from `model.py` because the built-in classification (in
`customer_etl.alerting.classification`) and the configuration's overrides share this shape.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["P1", "P2", "P3"]
"""P1: act now (data at risk, or every run blocked). P2: act today (this run is not loaded).
P3: for information, or for the file's sender to act (the pipeline itself is healthy)."""

Category = Literal[
    "input",
    "data_quality",
    "dependency",
    "warehouse",
    "configuration",
    "privacy",
    "reporting",
    "pipeline",
]


class ErrorClassRule(BaseModel):
    """One row of the incident-response matrix (docs/incident-response.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: Category = Field(description="What kind of failure this is.")
    severity: Severity = Field(description="How urgently a person must act: P1, P2 or P3.")
    escalation: str = Field(min_length=1, description="Who is told, and who acts on it.")
    anchor: str | None = Field(
        None,
        pattern=r"^[a-z0-9-]+$",
        description="Section of docs/incident-response.md with the symptoms and the steps; "
        "unset keeps the built-in section of the class.",
    )
