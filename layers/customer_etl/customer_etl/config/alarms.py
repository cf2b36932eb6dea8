"""Thresholds of the CloudWatch alarms the stack sets on the pipeline's metrics."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class AlarmSettings(BaseModel):
    """What makes an alarm go off. The data-quality alarms follow the `quality` warning
    thresholds unless set here, so that by default the cloud alarms on exactly the runs
    that warn: an environment that changes a warning threshold moves its alarm with it.

    Example:
        >>> AlarmSettings().min_quality_score is None  # follows quality.warn_below_quality_score
        True
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    min_quality_score: float | None = Field(
        None,
        ge=0,
        le=100,
        description="Alarm when a run's quality score (0 to 100, metric `RunQualityScore`) "
        "is below this. Null (the default) uses `quality.warn_below_quality_score`; with "
        "that null too there is no quality-score alarm.",
    )
    max_quarantine_percent: float | None = Field(
        None,
        ge=0,
        le=100,
        description="Alarm when a run quarantines more than this percentage of its rows "
        "(metric `RunQuarantinePercent`). Null (the default) uses `quality.warn_bad_ratio` "
        "as a percentage; with that null too there is no quarantine alarm. Runs above "
        "`quality.max_bad_ratio` also fail, which raises the failed-execution alarm.",
    )
    duration_band_standard_deviations: float = Field(
        2.0,
        gt=0,
        le=10,
        description="Width of the anomaly-detection band on run duration, in standard "
        "deviations of the learned model; a run outside the band raises the alarm. Wider "
        "means fewer, surer alarms.",
    )
    max_run_duration_seconds: float = Field(
        3600.0,
        gt=0,
        description="The longest a run may take: the period report warns of a source whose "
        "runs' duration is trending toward it (reporting/forecast.py).",
    )
    health_failed_checks: int = Field(
        2,
        ge=1,
        le=12,
        description="Consecutive five-minute health checks that must find a component "
        "unhealthy (or not report at all) before the health alarm goes off.",
    )
    quarantine_max_messages: int = Field(
        1000,
        ge=1,
        description="Alarm when the quarantine queue holds this many notices: nobody is "
        "reading them (each is one batch of quarantined rows or one failed run).",
    )
    quarantine_max_age_hours: float = Field(
        72,
        gt=0,
        le=336,
        description="Alarm when the oldest quarantine notice is this old: SQS deletes "
        "notices after 14 days unread.",
    )
    dead_letter_max_age_hours: float = Field(
        24,
        gt=0,
        le=336,
        description="Alarm when a message has waited this long in a dead-letter queue "
        "(besides the alarm on the first message): it is still not dealt with.",
    )
