"""The period report's figures from `etl_runs` rows: window, success rate, durations,
errors and unusual runs."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from customer_etl.core.ports import RunRecord
from customer_etl.reporting.period_report import (
    Window,
    build_period_report,
    period_end,
    render_period_report,
)
from customer_etl.reporting.publish import announcement
from tests.unit.test_run_report import assert_loads_nothing

END = datetime(2026, 11, 21, tzinfo=UTC)


def _run(
    run_id: str,
    hours_before_end: float,
    seconds: float | None,
    *,
    status: str = "succeeded",
    rows: int = 1000,
    kind: str = "pipeline",
    error: str | None = None,
) -> RunRecord:
    started = END - timedelta(hours=hours_before_end)
    return RunRecord(
        run_id=run_id,
        kind=kind,
        source_file="customers.csv",
        status=status,
        rows_in=rows,
        rows_loaded=rows if status == "succeeded" else 0,
        rows_quarantined=0,
        started_at=started.replace(tzinfo=None),  # as SQLite gives them back
        finished_at=started + timedelta(seconds=seconds) if seconds is not None else None,
        error=error,
    )


def test_a_period_ends_now_at_a_given_time_or_at_the_end_of_a_given_day() -> None:
    now = datetime(2026, 11, 26, 1, 2, tzinfo=UTC)

    assert period_end(None, now) == now
    assert period_end(date(2026, 11, 20), now) == END
    assert period_end(datetime(2026, 11, 20, 6, 30), now) == datetime(
        2026, 11, 20, 6, 30, tzinfo=UTC
    )
    assert Window.ending("weekly", END).start == END - timedelta(days=7)


def test_the_figures_count_the_period_s_runs_only() -> None:
    records = [
        _run("old", 24 * 10, 30),  # baseline only
        _run("a", 30, 20),
        _run("b", 20, 40),
        _run("c", 10, 60),
        _run("d", 5, 5, status="failed", error="warehouse unreachable\ndetails"),
        _run("e", 4, 5, status="failed", error="warehouse unreachable"),
        _run("f", 1, None, status="running"),
    ]

    report = build_period_report(records, Window.ending("weekly", END))

    assert [line.record.run_id for line in report.runs] == ["a", "b", "c", "d", "e", "f"]
    assert (report.succeeded, report.failed, report.unfinished) == (3, 2, 1)
    assert report.success_rate == 60.0
    assert report.durations == {"median": 20.0, "p95": 60.0, "max": 60.0}
    assert report.errors == [("warehouse unreachable", 2)]
    assert report.total("rows_in") == 6000 and report.total("rows_loaded") == 3000


def test_runs_far_from_the_usual_are_flagged_with_the_reason() -> None:
    usual = [_run(f"u{i}", 24 * i + 1, 30 + i % 3, rows=1000 + i) for i in range(8)]
    small = _run("small", 2, 31, rows=12)
    replay = _run("replay", 3, 2, kind="replay", rows=3)

    report = build_period_report([*usual, small, replay], Window.ending("weekly", END))

    assert [line.record.run_id for line in report.anomalies] == ["small"]
    [reason] = report.anomalies[0].flags
    assert reason.startswith("rows in 12 far below the usual")
    html = render_period_report(report)
    assert 'id="anomaly-count">1<' in html and "<td>small</td>" in html
    assert_loads_nothing(html)


def test_no_finished_run_gives_no_rate_and_the_announcement_links_the_report() -> None:
    report = build_period_report([], Window.ending("daily", END))
    alert = announcement(report, "s3://bucket/reports/daily/2026-11-21.html")

    assert report.success_rate is None and report.durations == {}
    assert "0 run(s), n/a succeeded" in alert.subject
    assert "s3://bucket/reports/daily/2026-11-21.html" in alert.body
    assert 'id="success-rate">n/a<' in render_period_report(report)


def test_retention_jobs_are_counted_apart_from_the_pipeline_runs() -> None:
    records = [
        _run("run", 5, 5, status="failed", error="warehouse unreachable"),
        _run("replay", 4, 2, kind="replay", rows=3),
        _run("retention", 3, 1, kind="retention", rows=0),
    ]
    records[2] = replace(records[2], rows_deleted=7)

    report = build_period_report(records, Window.ending("daily", END))

    assert [line.record.run_id for line in report.runs] == ["run", "replay"]
    assert (report.succeeded, report.failed, report.unfinished) == (1, 1, 0)
    assert report.success_rate == 50.0  # the replay and the failed run, not the retention job
    assert report.durations == {"median": 3.5, "p95": 5.0, "max": 5.0}
    assert [job.run_id for job in report.retention_jobs] == ["retention"]
    assert (report.rows_deleted, report.retention_failed) == (7, 0)
    html = render_period_report(report)
    assert 'id="runs">2<' in html and 'id="retention-jobs">1<' in html
    assert 'id="rows-deleted">7<' in html and "<td>retention</td>" not in html


def test_a_failed_retention_job_neither_lowers_the_success_rate_nor_goes_unseen() -> None:
    records = [
        _run("run", 5, 5),
        _run("retention", 3, 1, kind="retention", status="failed", error="database locked"),
    ]

    report = build_period_report(records, Window.ending("daily", END))

    assert report.success_rate == 100.0 and report.errors == []
    assert report.retention_failed == 1
    assert 'id="retention-failed">1<' in render_period_report(report)


def test_a_run_s_incident_is_named_in_the_runs_table_and_counted_in_the_announcement() -> None:
    failed = replace(
        _run("broken", 3, 20, status="failed", error="WarehouseUnavailableError: down"),
        incident="INC0010042",
    )
    records = [_run("fine", 5, 30), failed]
    report = build_period_report(records, Window.ending("daily", END))

    assert [line.record.run_id for line in report.incidents] == ["broken"]
    html = render_period_report(report)
    assert '<dd id="incident-count">1</dd>' in html
    assert '<td class="incident">INC0010042</td>' in html
    assert "1 with an incident" in announcement(report, "s3://reports/daily.html").body
