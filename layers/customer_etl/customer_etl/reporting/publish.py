"""The period report from the warehouse, and its scheduled publication: stored, then
announced to operators (counts and a link, nothing else)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from customer_etl.core.ports import Alert, Notifier, ReportStore, Warehouse
from customer_etl.reporting.charts import number
from customer_etl.reporting.forecast import Limits
from customer_etl.reporting.period_report import (
    PeriodReport,
    Window,
    build_period_report,
    render_period_report,
)
from customer_etl.reporting.periods import Period


def period_report(
    warehouse: Warehouse,
    period: Period,
    end: datetime,
    now: datetime,
    limits: Limits | None = None,
) -> PeriodReport:
    """The report of the `period` that ends at `end`, with its baseline runs read too."""
    window = Window.ending(period, end)
    records = warehouse.runs_between(window.baseline_start, window.end)
    return build_period_report(records, window, now, limits)


@dataclass(frozen=True)
class PublishedReport:
    uri: str
    report: PeriodReport


def publish_period_report(
    warehouse: Warehouse,
    store: ReportStore,
    notifier: Notifier,
    period: Period,
    now: datetime,
    limits: Limits | None = None,
) -> PublishedReport:
    """Store the report of the period ending `now` as `<period>/<YYYY-MM-DD>.html` and
    announce it."""
    report = period_report(warehouse, period, now, now, limits)
    uri = store.put(f"{period}/{now.date().isoformat()}.html", render_period_report(report))
    notifier.send(announcement(report, uri))
    return PublishedReport(uri, report)


def announcement(report: PeriodReport, uri: str) -> Alert:
    """Counts and where the report is: no run's file name or error text."""
    window = report.window
    rate = number(report.success_rate, "%") if report.success_rate is not None else "n/a"
    return Alert(
        subject=(
            f"customer-etl {window.period} report: {len(report.runs)} run(s), {rate} succeeded"
        ),
        body=(
            f"Runs started from {window.start.isoformat(timespec='minutes')} "
            f"to {window.end.isoformat(timespec='minutes')}:\n"
            f"{report.succeeded} succeeded, {report.failed} failed, "
            f"{report.unfinished} unfinished; {len(report.anomalies)} unusual; "
            f"{len(report.incidents)} with an incident; "
            f"{len(report.predictions)} likely to breach a limit soon.\n"
            f"Rows in {report.total('rows_in')}, loaded {report.total('rows_loaded')}, "
            f"quarantined {report.total('rows_quarantined')}.\n"
            f"Report: {uri}"
        ),
    )
