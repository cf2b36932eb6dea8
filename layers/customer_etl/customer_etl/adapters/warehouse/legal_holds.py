"""Legal holds in the warehouse: place, list and release them, each with its audit row in
`legal_hold_events`, and answer "which of these are held at instant T" in SQL."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.sql.elements import ColumnElement

from customer_etl.adapters.warehouse.tables import legal_hold_events, legal_holds
from customer_etl.adapters.warehouse.times import utc
from customer_etl.core.errors import LegalHoldError
from customer_etl.core.legal_holds import HeldTargets, HoldScope, LegalHold, NewLegalHold

_IN_CHUNK = 500
"""Targets per `IN (...)` list: under every dialect's parameter limit (SQL Server: 2100)."""


def add(connection: Connection, hold: NewLegalHold, now: datetime) -> LegalHold:
    """Insert the hold and its `added` event in the caller's transaction."""
    values = {
        "scope": hold.scope.value,
        "target": hold.target,
        "reason": hold.reason,
        "owner": hold.owner,
        "created_at": now,
        # In UTC: SQLite keeps the text of a time without its zone.
        "until": hold.until.astimezone(UTC) if hold.until else None,
    }
    result = connection.execute(insert(legal_holds).values(**values))
    [hold_id] = result.inserted_primary_key or (None,)
    assert hold_id is not None
    _event(connection, int(hold_id), "added", hold.owner, hold.reason, now)
    return get(connection, int(hold_id))


def get(connection: Connection, hold_id: int) -> LegalHold:
    row = (
        connection.execute(select(legal_holds).where(legal_holds.c.hold_id == hold_id))
        .mappings()
        .one_or_none()
    )
    if row is None:
        raise LegalHoldError(
            f"there is no legal hold {hold_id}: see `customer-etl hold list --all`"
        )
    return _hold(row)


def listed(connection: Connection, at: datetime | None) -> list[LegalHold]:
    """Every hold, oldest first; with `at`, only those in force then."""
    rows = connection.execute(select(legal_holds).order_by(legal_holds.c.hold_id)).mappings()
    holds = [_hold(row) for row in rows]
    return holds if at is None else [hold for hold in holds if hold.active_at(at)]


def release(
    connection: Connection, hold_id: int, by: str, reason: str | None, now: datetime
) -> LegalHold:
    """Mark the hold released at `now` (its row stays, for the record) with its event."""
    hold = get(connection, hold_id)
    if hold.released_at is not None:
        raise LegalHoldError(f"legal hold {hold_id} was already released")
    connection.execute(
        update(legal_holds)
        .where(legal_holds.c.hold_id == hold_id)
        .values(released_at=now, released_by=by, release_reason=reason)
    )
    _event(connection, hold_id, "released", by, reason, now)
    return get(connection, hold_id)


def held_at(
    connection: Connection,
    at: datetime,
    customer_ids: Iterable[str],
    data_classes: Iterable[str],
    run_ids: Iterable[str],
) -> HeldTargets:
    """Of the targets asked about, those an active hold covers at `at`: the database picks
    the holds of those targets, `HeldTargets.from_holds` applies the instant."""
    asked = {
        HoldScope.CUSTOMER: sorted(set(customer_ids)),
        HoldScope.DATA_CLASS: sorted(set(data_classes)),
        HoldScope.RUN: sorted(set(run_ids)),
    }
    at = at.astimezone(UTC)
    holds: list[LegalHold] = []
    for scope, targets in asked.items():
        for start in range(0, len(targets), _IN_CHUNK):
            chunk = targets[start : start + _IN_CHUNK]
            query = select(legal_holds).where(
                legal_holds.c.scope == scope.value,
                legal_holds.c.target.in_(chunk),
                _in_force(at),
            )
            holds += [_hold(row) for row in connection.execute(query).mappings()]
    return HeldTargets.from_holds(
        holds,
        at,
        customer_ids=asked[HoldScope.CUSTOMER],
        data_classes=asked[HoldScope.DATA_CLASS],
        run_ids=asked[HoldScope.RUN],
    )


def active_targets(connection: Connection, scope: HoldScope, at: datetime) -> frozenset[str]:
    """Every target of `scope` an active hold covers at `at` (for jobs that look at all
    records of a store, such as retention)."""
    query = select(legal_holds).where(legal_holds.c.scope == scope.value, _in_force(at))
    rows = connection.execute(query).mappings()
    return frozenset(hold.target for hold in map(_hold, rows) if hold.active_at(at))


def _in_force(at: datetime) -> ColumnElement[bool]:
    """The SQL half of `LegalHold.active_at` (SQLite compares the UTC text of the times)."""
    return and_(
        legal_holds.c.created_at <= at,
        or_(legal_holds.c.until.is_(None), legal_holds.c.until > at),
        or_(legal_holds.c.released_at.is_(None), legal_holds.c.released_at > at),
    )


def _event(
    connection: Connection, hold_id: int, event: str, actor: str, reason: str | None, at: datetime
) -> None:
    connection.execute(
        insert(legal_hold_events).values(
            hold_id=hold_id, event=event, actor=actor, reason=reason, recorded_at=at
        )
    )


def events(connection: Connection) -> list[dict[str, Any]]:
    """The audit rows, oldest first."""
    rows = connection.execute(select(legal_hold_events).order_by(legal_hold_events.c.event_id))
    return [{**row, "recorded_at": utc(row["recorded_at"])} for row in rows.mappings()]


def _hold(row: RowMapping) -> LegalHold:
    return LegalHold(
        hold_id=int(row["hold_id"]),
        scope=HoldScope(row["scope"]),
        target=row["target"],
        reason=row["reason"],
        owner=row["owner"],
        created_at=utc(row["created_at"]),
        until=utc(row["until"]) if row["until"] else None,
        released_at=utc(row["released_at"]) if row["released_at"] else None,
        released_by=row["released_by"],
        release_reason=row["release_reason"],
    )
