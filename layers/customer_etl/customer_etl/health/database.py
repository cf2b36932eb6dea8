"""The warehouse's health: can it be reached, does it answer `SELECT 1` and how fast, and is
its schema the revision this version needs."""

from __future__ import annotations

import math
from time import perf_counter

from sqlalchemy import text

from customer_etl.adapters.warehouse import SqlWarehouse, schema
from customer_etl.adapters.warehouse.configured import build_warehouse
from customer_etl.config.model import Config
from customer_etl.core.errors import CustomerEtlError
from customer_etl.health import HealthResult
from customer_etl.health.report import Finding, Status

COMPONENT = "database"


def check_database(warehouse: SqlWarehouse) -> HealthResult:
    """One connection attempt, `SELECT 1` timed, and the schema revision compared with the
    one this version needs. Errors are reported by class only (their text may quote SQL)."""
    facts = {"url": warehouse.display_url, "expected_revision": schema.head_revision()}
    try:
        with warehouse.connect() as connection:
            started = perf_counter()
            connection.execute(text("SELECT 1")).scalar_one()
            latency_ms = (perf_counter() - started) * 1000
            revision = schema.current_revision(connection)
            state = schema.schema_state(connection, revision)
    except CustomerEtlError as error:
        return HealthResult(COMPONENT, False, None, str(error), facts)
    except Exception as error:
        detail = f"check failed ({type(error).__name__}): see the warehouse's own logs"
        return HealthResult(COMPONENT, False, None, detail, facts)
    facts |= {"schema_revision": revision or "none", "schema_state": state.value}
    if state is schema.SchemaState.CURRENT:
        return HealthResult(COMPONENT, True, latency_ms, f"schema {revision} is current", facts)
    return HealthResult(
        COMPONENT,
        False,
        latency_ms,
        str(schema.refusal(state, revision, warehouse.display_url)),
        facts,
    )


def check_warehouse(config: Config) -> Finding:
    """`check_database` on a warehouse built for one quick attempt: the run's retries and
    backoff would outlast the health check's timeout."""
    settings = config.warehouse
    quick = settings.model_copy(
        update={
            "connect_attempts": 1,
            "connect_timeout_seconds": min(
                settings.connect_timeout_seconds,
                max(1, math.floor(config.health.check_timeout_seconds)),
            ),
        }
    )
    try:
        warehouse = build_warehouse(config.model_copy(update={"warehouse": quick}))
    except CustomerEtlError as error:  # our messages hold no secrets (secret references)
        return Finding(Status.UNHEALTHY, str(error))
    try:
        result = check_database(warehouse)
    finally:
        warehouse.dispose()
    if result.healthy:
        return Finding(Status.HEALTHY, result.detail)
    state = result.facts.get("schema_state")
    if settings.auto_upgrade and state in {s.value for s in schema.UPGRADABLE}:
        revision = result.facts.get("schema_revision", "none")
        where = "no schema yet" if revision == "none" else f"schema {revision}"
        return Finding(
            Status.HEALTHY,
            f"{where}, {result.facts['expected_revision']} needed: the next run applies "
            "the migrations (warehouse.auto_upgrade)",
        )
    return Finding(Status.UNHEALTHY, result.detail)
