"""Legal holds: decide whether a record may be deleted, anonymised or erased.

A record is held when any hold in force at the instant of the decision covers it: a hold on
its customer id, on one of the data classes it holds (or the retention class being applied),
or on the run that produced it (for a warehouse customer, the run that last loaded it). A
held record is never acted on; the caller skips it and counts it.

Example:
    >>> from datetime import UTC, datetime
    >>> hold = LegalHold(1, HoldScope.CUSTOMER, "C-1", "litigation", "dpo",
    ...                  datetime(2026, 1, 1, tzinfo=UTC))
    >>> is_held([hold], datetime(2026, 6, 1, tzinfo=UTC), customer_id="C-1")
    True
    >>> is_held([hold], datetime(2026, 6, 1, tzinfo=UTC), customer_id="C-2")
    False
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from customer_etl.core.errors import LegalHoldError
from customer_etl.core.legal_holds import HeldTargets, HoldScope, LegalHold, NewLegalHold


def is_held(
    holds: Iterable[LegalHold],
    at: datetime,
    *,
    customer_id: str | None = None,
    data_classes: Iterable[str] = (),
    run_id: str | None = None,
) -> bool:
    """Whether any hold in force at `at` covers a record with this customer id, these data
    classes (its personal-data classes and the retention class in question) and this run."""
    classes = frozenset(data_classes)
    for hold in holds:
        if not hold.active_at(at):
            continue
        if hold.scope is HoldScope.CUSTOMER and hold.target == customer_id:
            return True
        if hold.scope is HoldScope.DATA_CLASS and hold.target in classes:
            return True
        if hold.scope is HoldScope.RUN and hold.target == run_id:
            return True
    return False


def validate_new_hold(hold: NewLegalHold, now: datetime) -> None:
    """Refuse a hold that could never be in force, or that does not say who placed it and
    why (LegalHoldError; the message never quotes the target, which may be a customer id)."""
    if not hold.target.strip():
        raise LegalHoldError(f"a {hold.scope.value} hold needs a target")
    if not hold.reason.strip() or not hold.owner.strip():
        raise LegalHoldError("a hold needs a non-empty --reason and --owner")
    if hold.until is not None and hold.until <= now:
        raise LegalHoldError("a hold's end (--until) must be in the future")


__all__ = ["HeldTargets", "HoldScope", "LegalHold", "NewLegalHold", "is_held", "validate_new_hold"]
