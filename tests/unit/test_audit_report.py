"""The audit report's arithmetic: changes by kind per run and in total, a retention job's
deletions, who started what, reason codes, and a CSV safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest

from customer_etl.core.ports import RunRecord
from customer_etl.reporting.audit_report import AuditWindow, audit_report, render_audit_csv

START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def record(run_id: str, kind: str = "pipeline", **changes: object) -> RunRecord:
    values: dict[str, object] = {
        "run_id": run_id,
        "kind": kind,
        "source_file": "customers.csv",
        "status": "succeeded",
        "rows_in": 10,
        "rows_loaded": 9,
        "rows_quarantined": 1,
        "started_at": START,
        "finished_at": START,
        "error": None,
        "triggered_by": "local:ana",
    }
    values.update(changes)
    return RunRecord(**values)  # type: ignore[arg-type]


def test_changes_rules_and_triggers_are_summed_over_the_runs() -> None:
    records = [
        record("r1"),
        record("r2", triggered_by="s3:123456789012", status="failed"),
        record("job-old", kind="retention", rows_deleted=3, triggered_by=None),
        record("job-new", kind="retention", rows_deleted=3, triggered_by=None),
    ]
    changes = {
        "r1": {"inserted": 9},
        "r2": {"updated": 2, "unchanged": 7, "restricted": 1},
        "job-new": {"deleted": 5, "anonymised": 2},
    }
    reasons = {"r1": {"invalid_email": 1}, "r2": {"invalid_email": 2, "invalid_postcode": 1}}
    report = audit_report(
        AuditWindow(date(2026, 12, 1), date(2026, 12, 1)), records, changes, reasons.get
    )

    assert report.changes == {
        "inserted": 9,
        "updated": 2,
        "unchanged": 7,
        "deleted": 3 + 5,  # rows_deleted where no audit row says more; the audit rows otherwise
        "anonymised": 2,
        "erased": 0,
        "restricted": 1,  # an action of a later writer, under its own name
    }
    assert report.rules == {"invalid_email": 3, "invalid_postcode": 1}
    assert report.runs_with_rules == 2
    triggers = {t.identity: (t.runs, t.failed, t.kinds) for t in report.triggers}
    assert triggers == {
        "local:ana": (1, 0, {"pipeline": 1}),
        "not recorded": (2, 0, {"retention": 2}),
        "s3:123456789012": (1, 1, {"pipeline": 1}),
    }


def test_the_csv_has_a_line_per_run_and_neutralises_formulas() -> None:
    records = [record("r1", source_file="=HYPERLINK(1)", triggered_by="@evil")]
    report = audit_report(
        AuditWindow(date(2026, 12, 1), date(2026, 12, 2)), records, {}, lambda _: None
    )
    [line] = list(csv.DictReader(io.StringIO(render_audit_csv(report))))
    assert (line["source_file"], line["triggered_by"]) == ("'=HYPERLINK(1)", "'@evil")
    assert (line["inserted"], line["reason_codes"]) == ("0", "not kept")


def test_a_window_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="before"):
        AuditWindow(date(2026, 12, 2), date(2026, 12, 1))
    window = AuditWindow(date(2026, 12, 1), date(2026, 12, 1))
    assert (window.end - window.start).days == 1
