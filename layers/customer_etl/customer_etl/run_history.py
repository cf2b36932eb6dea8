"""Write a failed run's row to `etl_runs`, whatever else has gone wrong."""

from __future__ import annotations

from collections.abc import Callable

from customer_etl.manifest import RunManifest
from customer_etl.observability import logger
from customer_etl.ports import Warehouse
from customer_etl.reports import run_record


def record_failed_run(warehouse: Callable[[], Warehouse], failed: RunManifest) -> None:
    """Record `failed` in its own transaction, so that it outlives the load's rollback. The
    failure being reported matters more than this one: an error here is logged, not raised."""
    try:
        warehouse().record_run(run_record(failed))
    except Exception as error:
        logger.error("could not record the failed run", extra={"error_class": type(error).__name__})
