"""The audit report's counts from the warehouse: record changes by run and kind from
`customer_changes`, and a retention job's deletions and anonymisations from its
`retention_actions` rows (on every warehouse dialect the fixture gives)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert

from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.adapters.warehouse.audit import changes_by_run
from customer_etl.adapters.warehouse.tables import customer_changes, retention_actions

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def _change(run_id: str, customer: str, action: str) -> dict[str, object]:
    return {
        "run_id": run_id,
        "customer_id": customer,
        "action": action,
        "before_hash": None,
        "after_hash": "h" * 64,
        "recorded_at": NOW,
        "chunk": 0,
    }


def _action(job: str, store: str, action: str, records: int) -> dict[str, object]:
    return {
        "job_run_id": job,
        "recorded_at": NOW,
        "retention_class": "customer",
        "store": store,
        "rule": "last_seen older than 2190 days",
        "action": action,
        "records": records,
        "held": 0,
    }


def test_changes_are_counted_by_run_and_kind(warehouse: SqlWarehouse) -> None:
    rows = [_change("run-a", f"C-{n}", "inserted") for n in range(3)]
    rows += [_change("run-b", "C-0", "unchanged"), _change("run-b", "C-1", "updated")]
    rows += [_change("run-other", "C-2", "updated")]
    actions = [
        _action("job-1", "warehouse_customers", "delete", 4),
        _action("job-1", "warehouse_customers", "delete", 1),
        _action("job-1", "warehouse_customers", "anonymise", 2),
        _action("job-1", "quarantine", "delete", 9),  # files, not records: not counted
    ]
    with warehouse.engine.begin() as connection:
        connection.execute(insert(customer_changes), rows)
        connection.execute(insert(retention_actions), actions)

    ids = ["run-a", "run-b", "job-1", "run-none", *(f"run-{n}" for n in range(600))]
    assert changes_by_run(warehouse, ids) == {
        "run-a": {"inserted": 3},
        "run-b": {"unchanged": 1, "updated": 1},
        "job-1": {"deleted": 5, "anonymised": 2},
    }
