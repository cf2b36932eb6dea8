"""Retention: decide which records and artefacts have outlived their purpose.

Pure decisions: the instant before which a class's data has expired, the rule in words for
the audit, and which expired items a legal hold keeps. The retention job (run/retention.py)
reads the stores, asks these, and acts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from customer_etl.core.legal_holds import HeldTargets
from customer_etl.core.retention import Expired

EVENT_COLUMNS = {"last_seen": "last_seen_at", "signup": "signup_date", "run_end": "run end"}
"""What each event is in the stores: a warehouse column, or the end of the run (the time
its artefact was last written)."""


def retention_cutoff(now: datetime, retention_days: int) -> datetime:
    """Data whose event is before this instant is past its retention period (a period of 0
    expires data at its event)."""
    if retention_days < 0:
        raise ValueError("retention_days must not be negative")
    return now - timedelta(days=retention_days)


def rule_text(runs_from: str, period_days: int, cutoff: datetime) -> str:
    """The rule applied, for people and the audit: "last_seen_at before 2020-12-05 (2190
    days)"."""
    return (
        f"{EVENT_COLUMNS.get(runs_from, runs_from)} before {cutoff:%Y-%m-%d} ({period_days} days)"
    )


@dataclass(frozen=True)
class Decision:
    """The expired items to act on, and how many a hold keeps."""

    act_on: tuple[Expired, ...]
    held: int


def decide(items: Iterable[Expired], held: HeldTargets, class_held: bool) -> Decision:
    """Split expired items into those to act on and those a hold keeps: a hold on the class
    (or a data class it covers) keeps them all; otherwise a hold on an item's customer or
    run keeps it."""
    expired = tuple(items)
    if class_held:
        return Decision((), len(expired))
    act_on = tuple(
        item
        for item in expired
        if item.customer_id not in held.customer_ids and item.run_id not in held.run_ids
    )
    return Decision(act_on, len(expired) - len(act_on))
