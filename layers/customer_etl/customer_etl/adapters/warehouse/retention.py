"""The retention job's SQL: the customers past a class's period, their deletion, and the
job's audit rows in `retention_actions` (counts, never values)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from customer_etl.adapters.warehouse.tables import INDEX_COLUMNS, customers, retention_actions
from customer_etl.adapters.warehouse.times import utc
from customer_etl.core.retention import Expired, RetentionOutcome

_IN_CHUNK = 500
"""Ids per `IN (...)` list: under every dialect's parameter limit (SQL Server: 2100)."""


def _past(event: str, cutoff: datetime) -> ColumnElement[bool]:
    """Rows whose event is before `cutoff` (a customer without a signup date never expires
    by signup: nothing says when it was)."""
    if event == "last_seen":
        return customers.c.last_seen_at < cutoff
    if event == "signup":
        return and_(customers.c.signup_date.is_not(None), customers.c.signup_date < cutoff.date())
    raise ValueError(f"the warehouse records no {event} time")


PSEUDONYM_CHARS = 26
"""`p_` and 24 hex digits (privacy/masking.py `pseudonymise`)."""


def _not_anonymised() -> ColumnElement[bool]:
    """Rows whose last name is not a pseudonym (an encryption token starts with its version,
    never `p_`): an anonymised customer is not anonymised again every day."""
    return ~and_(
        customers.c.last_name.like("p\\_%", escape="\\"),
        func.length(customers.c.last_name) == PSEUDONYM_CHARS,
    )


def expired_customers(
    connection: Connection, event: str, cutoff: datetime, *, skip_anonymised: bool = False
) -> list[Expired]:
    condition = _past(event, cutoff)
    if skip_anonymised:
        condition = and_(condition, _not_anonymised())
    query = select(customers.c.customer_id, customers.c.last_run_id).where(condition)
    return [
        Expired(key=row.customer_id, customer_id=row.customer_id, run_id=row.last_run_id)
        for row in connection.execute(query.order_by(customers.c.customer_id))
    ]


def count_customers(connection: Connection, event: str, cutoff: datetime) -> tuple[int, int]:
    """(all customers, those past the period)."""
    total = connection.execute(select(func.count()).select_from(customers)).scalar_one()
    past = connection.execute(
        select(func.count()).select_from(customers).where(_past(event, cutoff))
    ).scalar_one()
    return int(total), int(past)


def delete_customers(
    connection: Connection, ids: Sequence[str], event: str, cutoff: datetime
) -> int:
    """Delete these customers, each only if still past the period (a load since the list was
    read may have seen them again)."""
    deleted = 0
    for start in range(0, len(ids), _IN_CHUNK):
        chunk = list(ids[start : start + _IN_CHUNK])
        result = connection.execute(
            delete(customers).where(customers.c.customer_id.in_(chunk), _past(event, cutoff))
        )
        deleted += int(result.rowcount)
    return deleted


def anonymise_customers(
    connection: Connection,
    values: Mapping[str, Mapping[str, str | None]],
    event: str,
    cutoff: datetime,
    now: datetime,
) -> int:
    """Replace each customer's personal columns by the values given (keyed pseudonyms, or
    NULL), clear the blind indexes (the person can no longer be found by email or phone),
    each only if still past the period; how many rows changed."""
    changed = 0
    for customer_id, columns in values.items():
        result = connection.execute(
            update(customers)
            .where(customers.c.customer_id == customer_id, _past(event, cutoff))
            .values(**columns, **dict.fromkeys(INDEX_COLUMNS), last_updated_at=now)
        )
        changed += int(result.rowcount)
    return changed


def record_actions(
    connection: Connection, job_run_id: str, at: datetime, outcomes: Sequence[RetentionOutcome]
) -> None:
    if not outcomes:
        return
    connection.execute(
        insert(retention_actions),
        [
            {
                "job_run_id": job_run_id,
                "recorded_at": at,
                "retention_class": outcome.retention_class,
                "store": outcome.store,
                "rule": outcome.rule,
                "action": outcome.action,
                "records": outcome.records,
                "held": outcome.held,
            }
            for outcome in outcomes
        ],
    )


def actions(
    connection: Connection, since: datetime | None
) -> list[tuple[str, datetime, RetentionOutcome]]:
    """The audit rows (job run id, time, outcome), oldest first; with `since`, from then on."""
    query = select(retention_actions).order_by(retention_actions.c.action_id)
    if since is not None:
        query = query.where(retention_actions.c.recorded_at >= since)
    return [
        (
            row["job_run_id"],
            utc(row["recorded_at"]),
            RetentionOutcome(
                retention_class=row["retention_class"],
                store=row["store"],
                rule=row["rule"],
                action=row["action"],
                records=int(row["records"]),
                held=int(row["held"]),
            ),
        )
        for row in connection.execute(query).mappings()
    ]
