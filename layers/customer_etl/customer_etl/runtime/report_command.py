"""`customer-etl report`: the daily or weekly report of the runs, as an HTML or PDF file."""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from customer_etl.reporting.periods import PERIODS

if TYPE_CHECKING:
    from customer_etl.config import Config
    from customer_etl.reporting.forecast import Limits

FORMATS = ("html", "pdf")


def add_report_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--period", choices=PERIODS, required=True)
    command.add_argument("--format", choices=FORMATS, default="html")
    command.add_argument(
        "--output",
        dest="report_file",
        type=Path,
        help="file to write (default: reports/<period>-<date>.<format> beside the runs folder)",
    )
    command.add_argument(
        "--until",
        type=_moment,
        help="end of the period: an ISO date (through that day, UTC) or time (default: now)",
    )


def forecast_limits(config: Config) -> Limits:
    """What the predictions watch: the quality gate, the longest run, the API errors at
    which enrichment falls back too much (postcodes.io's `max_fallback_share`: a failed call
    leaves its rows to the fallback), and the latency at which calls start timing out (the
    shortest timeout of the APIs asked, since a run's latency is its slowest API's)."""
    from customer_etl.reporting.forecast import Limits

    enrichment = config.enrichment
    timeouts = [
        api.timeout_seconds * 1000
        for api in (enrichment.postcodes, enrichment.companies_house)
        if api.enabled
    ]
    return Limits(
        max_bad_ratio=config.quality.max_bad_ratio,
        max_duration_seconds=config.aws.alarms.max_run_duration_seconds,
        max_api_error_rate=enrichment.postcodes.max_fallback_share,
        max_api_latency_ms=min(timeouts, default=None),
    )


def write_period_report(args: argparse.Namespace, config: Config) -> str:
    """Write the report the arguments ask for; what to tell the user."""
    # Imported here: the parser that this module also serves must not load the reports.
    from customer_etl.adapters.warehouse.configured import build_warehouse
    from customer_etl.reporting.pdf import html_to_pdf
    from customer_etl.reporting.period_report import (
        period_end,
        render_period_report,
    )
    from customer_etl.reporting.publish import period_report

    now = datetime.now(UTC)
    end = period_end(args.until, now)
    warehouse = build_warehouse(config)
    try:
        report = period_report(warehouse, args.period, end, now, forecast_limits(config))
    finally:
        warehouse.dispose()
    target: Path = args.report_file or (
        config.pipeline.output_dir.parent
        / "reports"
        / f"{args.period}-{end.date().isoformat()}.{args.format}"
    )
    html = render_period_report(report)
    if args.format == "pdf":
        html_to_pdf(html, target)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
    rate = f"{report.success_rate}%" if report.success_rate is not None else "n/a"
    lines = [
        f"{args.period} report: {len(report.runs)} run(s), {rate} succeeded, "
        f"{len(report.anomalies)} unusual, {len(report.incidents)} with an incident, "
        f"{len(report.predictions)} likely to breach a limit; wrote {target}"
    ]
    lines += [
        f"  incident {line.record.incident}: run {line.record.run_id} ({line.record.status})"
        for line in report.incidents
    ]
    lines += [
        f"  likely to breach: {p.source} {p.measure} {p.latest:.3g} -> {p.forecast:.3g} "
        f"(limit {p.limit:.3g}) within {p.runs_ahead} run(s), confidence {100 * p.confidence:.0f}%"
        for p in report.predictions
    ]
    return "\n".join(lines)


def _moment(text: str) -> date | datetime:
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO date or time (2026-11-25 or 2026-11-25T06:00)"
        ) from None
