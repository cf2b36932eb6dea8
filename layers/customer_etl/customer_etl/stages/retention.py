"""Retention: decide which records have outlived their purpose."""

from __future__ import annotations

from datetime import datetime, timedelta


def retention_cutoff(now: datetime, retention_days: int) -> datetime:
    """Records last seen before this instant are past their retention period."""
    if retention_days < 1:
        raise ValueError("retention_days must be at least 1")
    return now - timedelta(days=retention_days)
