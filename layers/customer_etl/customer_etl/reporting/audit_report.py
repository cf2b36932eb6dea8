"""The audit report of a period: every run (pipeline, replay, retention) started in it, who
started it, what it did to records by kind of change, and which quality rules fired.

Where each figure comes from (docs/reports.md, "Audit report"):

- runs and who started them: `etl_runs` (`triggered_by`: `local:<account>` locally, the S3
  requester or an operator's identity in the cloud; "not recorded" for rows before 0012);
- inserted, updated, unchanged: `customer_changes`, the load's audit trail;
- deleted, anonymised: a retention job's `retention_actions` rows on the warehouse's
  customers (by action), else its `etl_runs.rows_deleted`;
- erased: `customer_changes` rows of action `erased`. No writer records them in this version
  (subject erasure will), so they show 0, and the report says where they would come from;
- rules applied: the reason codes each run's stages raised (one per failed rule), from the
  run's manifest where it is still kept (the runs folder, or the checkpoint bucket).

Counts, ids, reason codes and operators' identities only: never a record's values.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from customer_etl.core.ports import RunRecord
from customer_etl.reporting.render import render
from customer_etl.reporting.run_times import RETENTION_KIND

CHANGE_KINDS: tuple[str, ...] = (
    "inserted",
    "updated",
    "unchanged",
    "deleted",
    "anonymised",
    "erased",
)
KIND_SOURCES: dict[str, str] = {
    "inserted": "customer_changes, written by each load",
    "updated": "customer_changes, written by each load",
    "unchanged": "customer_changes, written by each load",
    "deleted": "retention jobs: retention_actions (delete), else etl_runs.rows_deleted",
    "anonymised": "retention jobs: retention_actions (anonymise) on the customers",
    "erased": "customer_changes rows of action erased (subject erasure): none are written yet",
}
NOT_RECORDED = "not recorded"


@dataclass(frozen=True)
class AuditWindow:
    """The days a report covers, both included: runs started from `first` 00:00 UTC to the
    end of `last`."""

    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError(f"--to {self.last} is before --from {self.first}")

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), tzinfo=UTC)


@dataclass(frozen=True)
class AuditRun:
    record: RunRecord
    changes: dict[str, int]
    """Records changed, by kind (every kind of CHANGE_KINDS present, 0 when none)."""
    reasons: dict[str, int] | None
    """Reason codes its stages raised, with counts; None when its manifest is not kept."""

    @property
    def triggered_by(self) -> str:
        return self.record.triggered_by or NOT_RECORDED


@dataclass(frozen=True)
class Trigger:
    """What one identity started in the period."""

    identity: str
    kinds: dict[str, int]
    runs: int
    failed: int


@dataclass(frozen=True)
class AuditReport:
    window: AuditWindow
    runs: list[AuditRun]
    generated_at: datetime

    @property
    def changes(self) -> dict[str, int]:
        totals = Counter[str]()
        for run in self.runs:
            totals.update(run.changes)
        others = sorted(set(totals) - set(CHANGE_KINDS))  # actions a later writer records
        return {kind: totals[kind] for kind in (*CHANGE_KINDS, *others)}

    @property
    def rules(self) -> dict[str, int]:
        """Reason codes over every run whose manifest is kept, most frequent first."""
        totals = Counter[str]()
        for run in self.runs:
            totals.update(run.reasons or {})
        return dict(sorted(totals.items(), key=lambda item: (-item[1], item[0])))

    @property
    def runs_with_rules(self) -> int:
        return sum(run.reasons is not None for run in self.runs)

    @property
    def triggers(self) -> list[Trigger]:
        by_identity: dict[str, list[AuditRun]] = {}
        for run in self.runs:
            by_identity.setdefault(run.triggered_by, []).append(run)
        return [
            Trigger(
                identity=identity,
                kinds=dict(Counter(run.record.kind for run in runs)),
                runs=len(runs),
                failed=sum(run.record.status == "failed" for run in runs),
            )
            for identity, runs in sorted(by_identity.items())
        ]


def _changes(record: RunRecord, counted: Mapping[str, int]) -> dict[str, int]:
    changes = {kind: counted.get(kind, 0) for kind in CHANGE_KINDS}
    changes.update({kind: n for kind, n in counted.items() if kind not in CHANGE_KINDS})
    if record.kind == RETENTION_KIND and "deleted" not in counted:
        changes["deleted"] = record.rows_deleted
    return changes


def audit_report(
    window: AuditWindow,
    records: Sequence[RunRecord],
    changes: Mapping[str, Mapping[str, int]],
    reasons: Callable[[str], dict[str, int] | None],
    now: datetime | None = None,
) -> AuditReport:
    """The report of `records` (the window's `etl_runs` rows), with each run's changes by
    kind (`adapters/warehouse/audit.changes_by_run`) and its reason codes (`reasons`, from
    its manifest; None when the manifest is gone)."""
    runs = [
        AuditRun(record, _changes(record, changes.get(record.run_id, {})), reasons(record.run_id))
        for record in records
    ]
    return AuditReport(window, runs, now or datetime.now(UTC))


def render_audit_html(report: AuditReport) -> str:
    return render(
        "audit_report.html.j2",
        report=report,
        kind_sources=KIND_SOURCES,
        generated_at=report.generated_at.isoformat(timespec="seconds"),
    )


CSV_COLUMNS: tuple[str, ...] = (
    "run_id",
    "kind",
    "status",
    "triggered_by",
    "source_file",
    "started_at",
    "finished_at",
    "rows_in",
    "rows_loaded",
    "rows_quarantined",
    *CHANGE_KINDS,
    "reason_codes",
)


_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _as_text(value: str) -> str:
    """A cell a spreadsheet would run as a formula (a file named `=cmd...`) gets a leading
    `'`, shown as text (OWASP: CSV injection)."""
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def render_audit_csv(report: AuditReport) -> str:
    """One line per run; `reason_codes` is `code=count` joined by `;` (empty when none,
    `not kept` when the run's manifest is gone)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for run in report.runs:
        record = run.record
        reasons = (
            ";".join(f"{code}={count}" for code, count in sorted(run.reasons.items()))
            if run.reasons is not None
            else "not kept"
        )
        writer.writerow(
            [
                record.run_id,
                record.kind,
                record.status,
                _as_text(run.triggered_by),
                _as_text(record.source_file),
                record.started_at.isoformat(),
                record.finished_at.isoformat() if record.finished_at else "",
                record.rows_in,
                record.rows_loaded,
                record.rows_quarantined,
                *(run.changes[kind] for kind in CHANGE_KINDS),
                reasons,
            ]
        )
    return buffer.getvalue()
