"""What the audit report reads from the warehouse: the record changes each run made, by kind,
from the audit trail (`customer_changes`) and, for retention jobs, from their audit rows
(`retention_actions` of the warehouse's customers). Counts only, never values or hashes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

from sqlalchemy import func, select

from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.adapters.warehouse.tables import customer_changes, retention_actions

RETENTION_KINDS = {"delete": "deleted", "anonymise": "anonymised"}
"""A retention action on the warehouse's customers, as a kind of record change."""
CUSTOMER_STORE = "warehouse_customers"
_IDS_PER_QUERY = 500
"""Run ids per `IN` list: well under every dialect's limit on bound parameters."""


def changes_by_run(warehouse: SqlWarehouse, run_ids: Collection[str]) -> dict[str, dict[str, int]]:
    """For each of `run_ids` that changed records: how many, by `customer_changes.action`
    (inserted, updated, unchanged; any other action a later writer of the audit trail
    records, counted as it is named), and for a retention job the customers it deleted or
    anonymised by its `retention_actions` rows."""
    warehouse.check_schema()
    ids = sorted(set(run_ids))
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    with warehouse.engine.connect() as connection:
        for start in range(0, len(ids), _IDS_PER_QUERY):
            batch = ids[start : start + _IDS_PER_QUERY]
            query = (
                select(customer_changes.c.run_id, customer_changes.c.action, func.count())
                .where(customer_changes.c.run_id.in_(batch))
                .group_by(customer_changes.c.run_id, customer_changes.c.action)
            )
            for run_id, action, count in connection.execute(query):
                counts[run_id][action] = int(count)
            retained = (
                select(
                    retention_actions.c.job_run_id,
                    retention_actions.c.action,
                    func.sum(retention_actions.c.records),
                )
                .where(
                    retention_actions.c.job_run_id.in_(batch),
                    retention_actions.c.store == CUSTOMER_STORE,
                    retention_actions.c.action.in_(list(RETENTION_KINDS)),
                )
                .group_by(retention_actions.c.job_run_id, retention_actions.c.action)
            )
            for run_id, action, records in connection.execute(retained):
                kind = RETENTION_KINDS[action]
                counts[run_id][kind] = counts[run_id].get(kind, 0) + int(records or 0)
    return dict(counts)
