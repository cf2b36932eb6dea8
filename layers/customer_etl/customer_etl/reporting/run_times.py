"""What the reports read off an `etl_runs` row the same way: its kind, its times in UTC and
its duration."""

from __future__ import annotations

from datetime import UTC, datetime

from customer_etl.core.ports import RunRecord

RETENTION_KIND = "retention"
"""The `kind` of a retention job's row, kept apart from the pipeline runs."""


def utc(moment: datetime) -> datetime:
    # Naive times are the warehouse's, which writes UTC.
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def duration_seconds(record: RunRecord) -> float | None:
    """How long the run took, to the millisecond; None while it has not finished."""
    if record.finished_at is None:
        return None
    return round((utc(record.finished_at) - utc(record.started_at)).total_seconds(), 3)
