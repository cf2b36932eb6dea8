"""Apply the retention period to the warehouse and record it in `etl_runs`."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from customer_etl.config.retention import DEPRECATED_CUSTOMER_DAYS, RetentionSettings
from customer_etl.core.errors import CustomerEtlError
from customer_etl.core.ports import RunRecord, Warehouse
from customer_etl.observability.telemetry import logger
from customer_etl.stages.retention import retention_cutoff


def new_run_id(now: datetime | None = None) -> str:
    """Sortable by start time, unique without coordination."""
    now = now or datetime.now(UTC)
    return f"{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def apply_retention(
    warehouse: Warehouse, settings: RetentionSettings, now: datetime | None = None
) -> RunRecord:
    """Delete customers not seen in a source file for longer than the period of the class
    applied to the warehouse's customers (none: nothing is deleted)."""
    if settings.customer_retention_days is not None:
        logger.warning("deprecated setting", extra={"setting": DEPRECATED_CUSTOMER_DAYS})
    started = now or datetime.now(UTC)
    run_id = new_run_id(started)
    retention_days = settings.customer_period_days()
    try:
        deleted = 0
        if retention_days is not None:
            cutoff = retention_cutoff(started, retention_days)
            deleted = warehouse.delete_customers_last_seen_before(cutoff)
    except Exception as error:
        # The period report counts failed retention jobs: record this one if the warehouse
        # still answers. Only our own errors' messages are kept (others may quote values).
        message = str(error) if isinstance(error, CustomerEtlError) else type(error).__name__
        try:
            warehouse.record_run(_record(run_id, started, "failed", 0, message))
        except Exception as unrecorded:  # the original error is the one that matters
            logger.warning(
                "failed retention job not recorded",
                extra={"error_class": type(unrecorded).__name__},
            )
        raise
    record = _record(run_id, started, "succeeded", deleted, None)
    warehouse.record_run(record)
    logger.info("retention applied", extra={"rows_deleted": deleted})
    return record


def _record(
    run_id: str, started: datetime, status: str, deleted: int, error: str | None
) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        kind="retention",
        source_file="-",
        status=status,
        rows_in=0,
        rows_loaded=0,
        rows_quarantined=0,
        rows_deleted=deleted,
        started_at=started,
        finished_at=datetime.now(UTC),
        error=error,
    )
