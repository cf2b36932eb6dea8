"""The warehouse's health: can it be reached, does it answer `SELECT 1` and how fast, and is
its schema the revision this version needs."""

from __future__ import annotations

from time import perf_counter

from sqlalchemy import text

from customer_etl.adapters.warehouse import SqlWarehouse, schema
from customer_etl.errors import CustomerEtlError
from customer_etl.health import HealthResult

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
