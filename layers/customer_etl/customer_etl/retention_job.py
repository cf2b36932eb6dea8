"""Apply the retention period to the warehouse and record it in `etl_runs`."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from customer_etl.observability import logger
from customer_etl.ports import RunRecord, Warehouse
from customer_etl.stages.retention import retention_cutoff


def new_run_id(now: datetime | None = None) -> str:
    """Sortable by start time, unique without coordination."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def apply_retention(
    warehouse: Warehouse, retention_days: int, now: datetime | None = None
) -> RunRecord:
    """Delete customers not seen in a source file for longer than `retention_days`."""
    started = now or datetime.now(UTC)
    cutoff = retention_cutoff(started, retention_days)
    deleted = warehouse.delete_customers_last_seen_before(cutoff)
    record = RunRecord(
        run_id=new_run_id(started),
        kind="retention",
        source_file="-",
        status="succeeded",
        rows_in=0,
        rows_loaded=0,
        rows_quarantined=0,
        rows_deleted=deleted,
        started_at=started,
        finished_at=datetime.now(UTC),
        error=None,
    )
    warehouse.record_run(record)
    logger.info("retention applied", extra={"rows_deleted": deleted, "cutoff": cutoff.isoformat()})
    return record
