"""The warehouse side of data subject requests: finding a person by customer id or blind
index (never by decrypting the table), the register `subject_requests`, the flags
`subject_flags`, and erasure of their rows.

What it returns about people is ids, counts and digests; decrypted values come only from
`customer_records` (the export). Its errors name ids and tables, never values.

Example:
    >>> store = SubjectStore(warehouse)  # doctest: +SKIP
    >>> store.customer_ids("email_bidx", digest)  # doctest: +SKIP
    ['CUST-000042']
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Connection

from customer_etl.adapters.warehouse.tables import (
    INDEX_COLUMNS,
    customer_changes,
    customers,
    subject_flags,
    subject_requests,
)
from customer_etl.core.schema import BUSINESS_KEY, PERSONAL_COLUMNS
from customer_etl.privacy.subject_requests import (
    CLOSED,
    OPEN,
    SubjectFlags,
    SubjectRef,
)

if TYPE_CHECKING:  # the package imports the load unit, which imports `read_flags` from here
    from customer_etl.adapters.warehouse import SqlWarehouse


@dataclass(frozen=True)
class RequestRow:
    """One row of the register."""

    request_id: str
    kind: str
    requested_by: str
    requested_at: datetime
    subject_ref: str
    subject_ref_kind: str
    status: str
    outcome: str | None
    closed_at: datetime | None


@dataclass(frozen=True)
class AuditTrail:
    """A customer's rows in `customer_changes`: how many, from which runs."""

    rows: int
    run_ids: tuple[str, ...]


@dataclass(frozen=True)
class Erased:
    """What an erasure did in the warehouse, in counts."""

    customers: int
    audit_rows: int
    mode: str


def read_flags(connection: Connection) -> SubjectFlags:
    """Every flag: the suppression list, restrictions and objections. Read whole, once per
    load unit: it grows by a few rows per request, not per record."""
    query = select(subject_flags.c.flag, subject_flags.c.match_column, subject_flags.c.match_value)
    return SubjectFlags.from_rows((str(a), str(b), str(c)) for a, b, c in connection.execute(query))


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


class SubjectStore:
    """Subject requests against one warehouse."""

    def __init__(self, warehouse: SqlWarehouse) -> None:
        self._warehouse = warehouse

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        self._warehouse.check_schema()
        with self._warehouse.connect() as connection, connection.begin():
            yield connection

    def customer_ids(self, ref: SubjectRef) -> list[str]:
        """The customer ids a reference names: the id itself if the customer is stored, or
        the customers whose blind index equals the digest."""
        column = customers.c[ref.kind]
        query = select(customers.c[BUSINESS_KEY]).where(column == ref.value)
        with self._transaction() as connection:
            return sorted(str(row[0]) for row in connection.execute(query))

    def indexes(self, customer_id: str) -> dict[str, str]:
        """The blind indexes stored for a customer (none for a row loaded unencrypted)."""
        query = select(*(customers.c[name] for name in INDEX_COLUMNS)).where(
            customers.c[BUSINESS_KEY] == customer_id
        )
        with self._transaction() as connection:
            row = connection.execute(query).mappings().first()
        return {name: str(value) for name, value in (row or {}).items() if value}

    def last_run_id(self, customer_id: str) -> str | None:
        """The run that last loaded the customer (None if not stored)."""
        query = select(customers.c.last_run_id).where(customers.c[BUSINESS_KEY] == customer_id)
        with self._transaction() as connection:
            found = connection.execute(query).scalar_one_or_none()
        return None if found is None else str(found)

    def audit_trail(self, customer_id: str) -> AuditTrail:
        query = (
            select(customer_changes.c.run_id)
            .where(customer_changes.c[BUSINESS_KEY] == customer_id)
            .order_by(customer_changes.c.run_id)
        )
        with self._transaction() as connection:
            runs = tuple(str(row[0]) for row in connection.execute(query))
        return AuditTrail(len(runs), runs)

    def flags_of(self, match_values: dict[str, str]) -> list[str]:
        """The flags set on any of a person's match values (column -> value)."""
        if not match_values:
            return []
        conditions = [
            (subject_flags.c.match_column == column) & (subject_flags.c.match_value == value)
            for column, value in match_values.items()
        ]
        condition = conditions[0]
        for other in conditions[1:]:
            condition = condition | other
        query = select(subject_flags.c.flag).where(condition).distinct()
        with self._transaction() as connection:
            return sorted(str(row[0]) for row in connection.execute(query))

    def set_flag(self, flag: str, match_values: dict[str, str], request_id: str) -> int:
        """Set a flag on each match value (idempotent); how many were new."""
        now = datetime.now(UTC)
        added = 0
        with self._transaction() as connection:
            for column, value in match_values.items():
                exists = connection.execute(
                    select(func.count())
                    .select_from(subject_flags)
                    .where(
                        subject_flags.c.flag == flag,
                        subject_flags.c.match_column == column,
                        subject_flags.c.match_value == value,
                    )
                ).scalar_one()
                if not exists:
                    connection.execute(
                        insert(subject_flags).values(
                            flag=flag,
                            match_column=column,
                            match_value=value,
                            request_id=request_id,
                            flagged_at=now,
                        )
                    )
                    added += 1
        return added

    def force_marketing_off(self, customer_id: str) -> int:
        """An objection applies to the stored record at once, not only to later loads."""
        with self._transaction() as connection:
            result = connection.execute(
                update(customers)
                .where(customers.c[BUSINESS_KEY] == customer_id)
                .values(marketing_consent=False)
            )
            return int(result.rowcount)

    def erase(self, customer_id: str, mode: str) -> Erased:
        """Delete the customer's row and audit rows, or anonymise: personal columns and blind
        indexes set to NULL and the customer id replaced by a random one (unlinkable to the
        source system), keeping the non-personal facts for statistics. One transaction."""
        with self._transaction() as connection:
            audit = connection.execute(
                delete(customer_changes).where(customer_changes.c[BUSINESS_KEY] == customer_id)
            ).rowcount
            row = customers.c[BUSINESS_KEY] == customer_id
            if mode == "anonymise":
                cleared: dict[str, Any] = dict.fromkeys((*PERSONAL_COLUMNS, *INDEX_COLUMNS))
                cleared[BUSINESS_KEY] = f"anon-{secrets.token_hex(8)}"
                changed = connection.execute(update(customers).where(row).values(cleared))
            else:
                changed = connection.execute(delete(customers).where(row))
        return Erased(int(changed.rowcount), int(audit), mode)

    def open_request(self, kind: str, ref: SubjectRef, requested_by: str) -> str:
        """Record a new request; its id."""
        now = datetime.now(UTC)
        request_id = f"SR-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"
        with self._transaction() as connection:
            connection.execute(
                insert(subject_requests).values(
                    request_id=request_id,
                    kind=kind,
                    requested_by=requested_by,
                    requested_at=now,
                    subject_ref=ref.value,
                    subject_ref_kind=ref.kind,
                    status=OPEN,
                )
            )
        return request_id

    def close_request(self, request_id: str, outcome: str, status: str = CLOSED) -> None:
        """Close a request with its outcome (ids and counts only)."""
        with self._transaction() as connection:
            connection.execute(
                update(subject_requests)
                .where(subject_requests.c.request_id == request_id)
                .values(status=status, outcome=outcome, closed_at=datetime.now(UTC))
            )

    def requests(self, *, open_only: bool = False) -> list[RequestRow]:
        """The register, oldest first."""
        query = select(subject_requests).order_by(subject_requests.c.requested_at)
        if open_only:
            query = query.where(subject_requests.c.status == OPEN)
        with self._transaction() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            RequestRow(
                **{
                    **row,
                    "requested_at": _utc(row["requested_at"]),
                    "closed_at": _utc(row["closed_at"]),
                }
            )
            for row in rows
        ]
