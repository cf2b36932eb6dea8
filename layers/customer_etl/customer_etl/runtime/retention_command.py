"""`customer-etl retention [--dry-run] [--json]`: apply the retention classes (run/retention.py)
and say, by class and store, what went (or, in a dry run, what would go) and what a legal
hold kept. Counts only: nothing of a record is shown."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from typing import TextIO

from customer_etl.config import Config
from customer_etl.core.ports import Warehouse
from customer_etl.reporting.retention_report import (
    alert_if_overdue,
    build_retention_report,
    render_text,
)
from customer_etl.run.retention import (
    LocalStores,
    RetentionResult,
    apply_retention,
    covered_classes,
)
from customer_etl.runtime.factory import local_notifier
from customer_etl.stages.retention import retention_cutoff


def retention_command(
    args: argparse.Namespace, config: Config, warehouse: Warehouse, out: TextIO
) -> int:
    if args.report:
        return report_command(args, config, warehouse, out)
    result = apply_retention(
        warehouse,
        config.retention,
        local=LocalStores.of(config),
        covered=covered_classes(config),
        dry_run=args.dry_run,
    )
    days = config.retention.customer_period_days()
    cutoff = retention_cutoff(result.started_at, days) if days is not None else None
    if args.json:
        print(json.dumps(as_json(result, days, cutoff), indent=2), file=out)
        return 0
    verb = "would be deleted" if result.dry_run else "deleted"
    head = f"retention {result.run_id}" + (" (dry run: nothing changed)" if result.dry_run else "")
    since = f", not seen since {cutoff:%Y-%m-%d} ({days} days)" if cutoff else ""
    print(f"{head}: {result.rows_deleted} customer(s) {verb}{since}", file=out)
    for o in result.outcomes:
        held = f", {o.held} held" if o.held else ""
        print(
            f"  {o.retention_class:<16} {o.store:<19} {o.action:<9} {o.records}{held}: {o.rule}",
            file=out,
        )
    return 0


def report_command(
    args: argparse.Namespace, config: Config, warehouse: Warehouse, out: TextIO
) -> int:
    """Print the retention report; send its alert when records are overdue or the last job
    failed (counts by class only)."""
    report = build_retention_report(
        warehouse,
        config.retention,
        datetime.now(UTC),
        local=LocalStores.of(config),
        covered=covered_classes(config),
    )
    alert_if_overdue(report, local_notifier(config), config.alerts)
    if args.json:
        print(json.dumps(report.as_json(), indent=2), file=out)
    else:
        print("\n".join(render_text(report)), file=out)
    return 0


def as_json(
    result: RetentionResult, days: int | None, cutoff: datetime | None
) -> dict[str, object]:
    return {
        "run_id": result.run_id,
        "status": result.status,
        "dry_run": result.dry_run,
        "rows_deleted": result.rows_deleted,
        "retention_days": days,
        "cutoff": cutoff.isoformat() if cutoff else None,
        "actions": [
            {
                "retention_class": o.retention_class,
                "store": o.store,
                "rule": o.rule,
                "action": o.action,
                "records": o.records,
                "held": o.held,
            }
            for o in result.outcomes
        ],
    }
