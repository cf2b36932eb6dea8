"""What the audit report reads from the warehouse: the record changes each run made, by kind,
from the audit trail (`customer_changes`). Counts only, never values or hashes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection

from sqlalchemy import func, select

from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.adapters.warehouse.tables import customer_changes

_IDS_PER_QUERY = 500
"""Run ids per `IN` list: well under every dialect's limit on bound parameters."""


def changes_by_run(warehouse: SqlWarehouse, run_ids: Collection[str]) -> dict[str, dict[str, int]]:
    """For each of `run_ids` that changed records: how many, by `customer_changes.action`
    (inserted, updated, unchanged today; whatever other action a later writer of the audit
    trail records, counted as it is named)."""
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
    return dict(counts)
