"""Settings of `customer-etl health` and the health function."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class HealthSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    check_timeout_seconds: float = Field(
        5.0,
        gt=0,
        le=60,
        description="Longest wait for one component's check; the checks run side by side, "
        "so the whole health answers in about this time. A check still running then is "
        "reported as failed.",
    )
    min_free_disk_mb: int = Field(
        500,
        ge=0,
        description="Local runs: free space (MiB) on the filesystem of `pipeline.output_dir` "
        "below which the disk is unhealthy (a run's checkpoints may not fit).",
    )
    min_free_disk_percent: float = Field(
        10.0,
        ge=0,
        le=100,
        description="Local runs: free space, as a percentage of that filesystem, below which "
        "the disk is degraded (a warning to make room before it runs out).",
    )
