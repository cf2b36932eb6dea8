"""`customer-etl audit report --from DATE --to DATE [--format html|csv] [--out FILE]`: the
audit report of the runs started in those days (reporting/audit_report.py)."""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path

from pydantic import ValidationError

from customer_etl.adapters.local import LocalCheckpointStore
from customer_etl.adapters.private_files import write_private_text
from customer_etl.adapters.warehouse.audit import changes_by_run
from customer_etl.adapters.warehouse.configured import build_warehouse
from customer_etl.config import Config
from customer_etl.core.errors import CustomerEtlError
from customer_etl.core.manifest import RunManifest
from customer_etl.reporting.audit_report import (
    AuditReport,
    AuditWindow,
    audit_report,
    render_audit_csv,
    render_audit_html,
)
from customer_etl.runtime.local_runner import MANIFEST_FILE

FORMATS = ("html", "csv")


def add_audit_arguments(
    audit: argparse.ArgumentParser,
    with_config: Callable[[argparse.ArgumentParser], argparse.ArgumentParser],
) -> None:
    """`audit report`, under the `audit` command given (its options from `with_config`)."""
    commands = audit.add_subparsers(dest="audit_command", required=True)
    report = with_config(
        commands.add_parser("report", help="runs, record changes, rules and who triggered them")
    )
    report.add_argument("--from", dest="first", type=_day, required=True, help="first day (UTC)")
    report.add_argument("--to", dest="last", type=_day, required=True, help="last day (UTC)")
    report.add_argument(
        "--runs",
        type=Path,
        metavar="DIR",
        help="runs folder whose manifests give the rules applied (default pipeline.output_dir)",
    )
    report.add_argument("--format", choices=FORMATS, default="html")
    report.add_argument(
        "--out",
        dest="audit_file",
        type=Path,
        help="file to write (default: reports/audit-<from>-<to>.<format> beside the runs folder)",
    )


def manifest_reasons(store: LocalCheckpointStore, run_id: str) -> dict[str, int] | None:
    """The reason codes a run's stages raised, summed, from its manifest; None when the run
    folder (or its manifest) is not kept any more."""
    text = store.get_document(run_id, MANIFEST_FILE)
    if text is None:
        return None
    try:
        manifest = RunManifest.model_validate_json(text)
    except ValidationError:
        return None
    totals = Counter[str]()
    for report in manifest.stages.values():
        totals.update(report.reasons)
    return dict(totals)


def build_audit_report(config: Config, window: AuditWindow) -> AuditReport:
    warehouse = build_warehouse(config)
    try:
        records = warehouse.runs_between(window.start, window.end)
        changes = changes_by_run(warehouse, [record.run_id for record in records])
    finally:
        warehouse.dispose()
    store = LocalCheckpointStore(config.pipeline.output_dir)
    return audit_report(window, records, changes, lambda run_id: manifest_reasons(store, run_id))


def write_audit_report(args: argparse.Namespace, config: Config) -> str:
    """Write the report the arguments ask for (owner-only: it names operators); what to
    tell the user."""
    try:
        window = AuditWindow(args.first, args.last)
    except ValueError as error:
        raise CustomerEtlError(f"{error}: give --from the first day, --to the last") from None
    report = build_audit_report(config, window)
    target: Path = args.audit_file or (
        config.pipeline.output_dir.parent
        / "reports"
        / f"audit-{window.first.isoformat()}-{window.last.isoformat()}.{args.format}"
    )
    text = render_audit_csv(report) if args.format == "csv" else render_audit_html(report)
    write_private_text(target, text)
    changes = ", ".join(f"{count} {kind}" for kind, count in report.changes.items())
    return f"audit report: {len(report.runs)} run(s); records {changes}; wrote {target}"


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date (2026-11-25)") from None
