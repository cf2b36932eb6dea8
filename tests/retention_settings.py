"""Retention settings for tests: the default classes with one period changed."""

from __future__ import annotations

from customer_etl.config.retention import RetentionSettings


def with_period(name: str, days: int) -> RetentionSettings:
    """The default classes, with class `name` kept for `days` days."""
    defaults = RetentionSettings().classes
    changed = defaults[name].model_copy(update={"period_days": days})
    return RetentionSettings(classes={**defaults, name: changed})


def customer_days(days: int) -> RetentionSettings:
    """The default classes, with warehouse customers kept `days` days after last seen."""
    return with_period("customer", days)


def with_event(name: str, runs_from: str, days: int) -> RetentionSettings:
    """The default classes, with class `name` running `days` days from `runs_from`."""
    defaults = RetentionSettings().classes
    changed = defaults[name].model_copy(update={"period_days": days, "runs_from": runs_from})
    return RetentionSettings(classes={**defaults, name: changed})
