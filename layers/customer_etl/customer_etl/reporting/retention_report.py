"""The retention report: by class and store, the records within and past their period, those
a legal hold keeps, what the jobs did (from the audit), and the last job and last successful
job; with the alert it calls for. Counts only.

"Past their period" comes from a dry run of the retention job itself, so the report and the
job cannot disagree about what is due.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from customer_etl.adapters import run_artefacts
from customer_etl.alerting.messages import retention_overdue
from customer_etl.config.model import AlertsSettings
from customer_etl.config.retention import RetentionSettings
from customer_etl.core.ports import Alert, Notifier, RunRecord, Warehouse
from customer_etl.observability.telemetry import logger
from customer_etl.run.retention import CACHE, CUSTOMERS, LocalStores, apply_retention
from customer_etl.stages.retention import retention_cutoff

HISTORY_DAYS = 400
"""How far back the report looks for the last jobs and the actions taken."""


@dataclass(frozen=True)
class ClassStatus:
    retention_class: str
    store: str
    period_days: int
    action: str
    rule: str
    total: int | None
    """Records or files in the store (None where it cannot be counted: the cache)."""
    past: int
    """Past their period, held ones included."""
    held: int
    acted: Mapping[str, int] = field(default_factory=dict)
    """Records acted on by the jobs of the report's window, by action."""

    @property
    def within(self) -> int | None:
        return None if self.total is None else max(0, self.total - self.past)

    @property
    def overdue(self) -> int:
        """Past their period and not held: what should have gone."""
        return self.past - self.held


@dataclass(frozen=True)
class RetentionReport:
    generated_at: datetime
    classes: tuple[ClassStatus, ...]
    last_job: RunRecord | None
    last_success: RunRecord | None

    @property
    def overdue(self) -> dict[str, int]:
        counts: Counter[str] = Counter()
        for status in self.classes:
            counts[status.retention_class] += status.overdue
        return dict(counts)

    @property
    def needs_alert(self) -> bool:
        failed = self.last_job is not None and self.last_job.status != "succeeded"
        return failed or any(self.overdue.values())

    def alert(self, settings: AlertsSettings) -> Alert:
        last_id = self.last_job.run_id if self.last_job else None
        return retention_overdue(
            self.overdue, last_id, _job(self.last_job), _job(self.last_success), settings
        )

    def as_json(self) -> dict[str, object]:
        return {
            "generated_at": self.generated_at.isoformat(),
            "alert": self.needs_alert,
            "last_job": _job_json(self.last_job),
            "last_successful_job": _job_json(self.last_success),
            "classes": [
                {
                    "retention_class": s.retention_class,
                    "store": s.store,
                    "period_days": s.period_days,
                    "action": s.action,
                    "rule": s.rule,
                    "total": s.total,
                    "within": s.within,
                    "past": s.past,
                    "held": s.held,
                    "overdue": s.overdue,
                    "acted": dict(s.acted),
                }
                for s in self.classes
            ],
        }


def build_retention_report(
    warehouse: Warehouse,
    settings: RetentionSettings,
    now: datetime,
    *,
    local: LocalStores | None = None,
    covered: Mapping[str, frozenset[str]] | None = None,
) -> RetentionReport:
    due = apply_retention(warehouse, settings, now, local=local, covered=covered, dry_run=True)
    since = now - timedelta(days=HISTORY_DAYS)
    acted: dict[tuple[str, str], Counter[str]] = {}
    for _job_id, _at, outcome in warehouse.retention_actions(since):
        if outcome.action != "skip":
            key = (outcome.retention_class, outcome.store)
            acted.setdefault(key, Counter())[outcome.action] += outcome.records
    classes = settings.effective_classes()
    statuses = tuple(
        ClassStatus(
            retention_class=o.retention_class,
            store=o.store,
            period_days=classes[o.retention_class].period_days,
            action=classes[o.retention_class].action,
            rule=o.rule,
            total=_total(warehouse, local, o.store, classes[o.retention_class].runs_from, now),
            past=o.records + o.held,
            held=o.held,
            acted=dict(acted.get((o.retention_class, o.store), Counter())),
        )
        for o in due.outcomes
    )
    jobs = [
        r
        for r in warehouse.runs_between(since, now + timedelta(seconds=1))
        if r.kind == "retention"
    ]
    succeeded = [r for r in jobs if r.status == "succeeded"]
    return RetentionReport(
        generated_at=now,
        classes=statuses,
        last_job=jobs[-1] if jobs else None,
        last_success=succeeded[-1] if succeeded else None,
    )


def alert_if_overdue(report: RetentionReport, notifier: Notifier, settings: AlertsSettings) -> bool:
    """Send the report's alert when records are overdue or the last job failed; whether it
    was sent. The log line carries the count only."""
    if not report.needs_alert:
        return False
    notifier.send(report.alert(settings))
    logger.warning("retention overdue", extra={"records": sum(report.overdue.values())})
    return True


def _total(
    warehouse: Warehouse, local: LocalStores | None, store: str, runs_from: str, now: datetime
) -> int | None:
    if store == CUSTOMERS:
        return warehouse.customer_counts(runs_from, retention_cutoff(now, 0))[0]
    if store == CACHE or local is None:
        return None
    return len(run_artefacts.artefacts(store, local.runs, local.reports, local.logs))


def _job(record: RunRecord | None) -> str:
    if record is None:
        return "none on record"
    return f"{record.run_id} {record.status} at {record.started_at:%Y-%m-%d %H:%M}Z"


def _job_json(record: RunRecord | None) -> dict[str, object] | None:
    if record is None:
        return None
    return {
        "run_id": record.run_id,
        "status": record.status,
        "started_at": record.started_at.isoformat(),
        "rows_deleted": record.rows_deleted,
    }


def render_text(report: RetentionReport) -> list[str]:
    """The report's lines for people."""
    lines = [
        f"{'class':<16} {'store':<19} {'period':>7} {'within':>7} {'past':>6} {'held':>6} "
        f"{'overdue':>7}  acted"
    ]
    for s in report.classes:
        within = "-" if s.within is None else str(s.within)
        acted = ", ".join(f"{a} {n}" for a, n in sorted(s.acted.items())) or "none"
        lines.append(
            f"{s.retention_class:<16} {s.store:<19} {s.period_days:>6}d {within:>7} "
            f"{s.past:>6} {s.held:>6} {s.overdue:>7}  {acted}"
        )
    lines.append(f"last job: {_job(report.last_job)}")
    lines.append(f"last successful job: {_job(report.last_success)}")
    if report.needs_alert:
        lines.append("alert: sent (records past their period, or the last job failed)")
    return lines
