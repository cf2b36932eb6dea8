"""What the compliance page reads from the warehouse: consent coverage and how many customers
are within or past a retention period. Counts only, never values."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.adapters.warehouse.tables import customers


def consent_counts(warehouse: SqlWarehouse) -> tuple[int, int]:
    """(customers, customers whose `marketing_consent` is true)."""
    warehouse.check_schema()
    with warehouse.engine.connect() as connection:
        total = int(connection.execute(select(func.count()).select_from(customers)).scalar_one())
        consented = int(
            connection.execute(
                select(func.count())
                .select_from(customers)
                .where(customers.c.marketing_consent.is_(True))
            ).scalar_one()
        )
    return total, consented


def customers_past(
    warehouse: SqlWarehouse, runs_from: str, period_days: int, now: datetime
) -> tuple[int, int]:
    """(within, past) the period counted from `last_seen` (`last_seen_at`) or `signup`
    (`signup_date`; a customer without one counts as within)."""
    warehouse.check_schema()
    cutoff = now - timedelta(days=period_days)
    if runs_from == "signup":
        past_clause = customers.c.signup_date < cutoff.date()
    else:
        past_clause = customers.c.last_seen_at < cutoff
    with warehouse.engine.connect() as connection:
        total = int(connection.execute(select(func.count()).select_from(customers)).scalar_one())
        past = int(
            connection.execute(
                select(func.count()).select_from(customers).where(past_clause)
            ).scalar_one()
        )
    return total - past, past
