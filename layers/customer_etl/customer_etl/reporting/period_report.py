"""The daily or weekly report of the runs, from the warehouse's `etl_runs` rows: success
rate, processing times, rows, failures over time and the errors behind them, and the runs
whose duration or row count is unusual.

The figures are of pipeline runs (kinds `pipeline` and `replay`) only. The daily retention
job records its row in `etl_runs` too, but it moves no file through the stages: counted as a
run, one failed file and one retention job would make a success rate of 50%. Retention jobs
are reported on their own (how many, how many failed, rows deleted).

A run is unusual against the pipeline runs that succeeded in the BASELINE before the
period's end (the period's own runs included): a week of daily runs is too few to say what
is usual, four weeks is enough and still recent. See `anomalies` for the statistic.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from customer_etl.core.ports import RunRecord
from customer_etl.reporting.anomalies import modified_z_scores, outliers
from customer_etl.reporting.charts import Chart, bar_chart, line_chart, number
from customer_etl.reporting.forecast import Limits, Prediction, breach_predictions
from customer_etl.reporting.periods import Period
from customer_etl.reporting.render import render
from customer_etl.reporting.run_times import RETENTION_KIND, duration_seconds, utc

PERIOD_LENGTH: dict[Period, timedelta] = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
BUCKET_LENGTH: dict[Period, timedelta] = {"daily": timedelta(hours=1), "weekly": timedelta(days=1)}
"""The trends' resolution: hours of a day, days of a week."""
BASELINE = timedelta(days=28)
ERROR_TEXT_LENGTH = 160
"""The `etl_runs` kind of the retention job (run/retention.py): not a pipeline run."""


@dataclass(frozen=True)
class Window:
    """The period a report covers: runs started in [start, end)."""

    period: Period
    start: datetime
    end: datetime

    @classmethod
    def ending(cls, period: Period, end: datetime) -> Window:
        return cls(period, end - PERIOD_LENGTH[period], end)

    @property
    def baseline_start(self) -> datetime:
        return self.end - BASELINE

    def __contains__(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


def period_end(until: date | datetime | None, now: datetime) -> datetime:
    """A report's end: `now`, a given moment (UTC when naive), or the end of a given day."""
    if until is None:
        return now
    if isinstance(until, datetime):
        return until if until.tzinfo else until.replace(tzinfo=UTC)
    return datetime.combine(until + timedelta(days=1), time(), tzinfo=UTC)


@dataclass(frozen=True)
class RunLine:
    record: RunRecord
    duration_seconds: float | None
    flags: tuple[str, ...] = ()
    """Why the run is unusual, in words (empty for a usual run)."""


@dataclass(frozen=True)
class PeriodReport:
    window: Window
    runs: list[RunLine]
    """The period's pipeline runs (and replays): every figure but retention's is of these."""
    baseline_runs: int
    generated_at: str
    retention_jobs: list[RunRecord] = field(default_factory=list)
    """The period's retention jobs, kept apart from the runs."""
    charts: list[Chart] = field(default_factory=list)
    predictions: list[Prediction] = field(default_factory=list)
    """Sources whose runs trend toward a limit (reporting/forecast.py)."""

    @property
    def succeeded(self) -> int:
        return sum(line.record.status == "succeeded" for line in self.runs)

    @property
    def failed(self) -> int:
        return sum(line.record.status == "failed" for line in self.runs)

    @property
    def unfinished(self) -> int:
        return len(self.runs) - self.succeeded - self.failed

    @property
    def success_rate(self) -> float | None:
        """Percent of the finished runs that succeeded; None when none finished."""
        finished = self.succeeded + self.failed
        return round(100 * self.succeeded / finished, 1) if finished else None

    def total(self, column: Literal["rows_in", "rows_loaded", "rows_quarantined"]) -> int:
        return sum(getattr(line.record, column) for line in self.runs)

    @property
    def rows_deleted(self) -> int:
        """Customers the period's retention jobs deleted."""
        return sum(job.rows_deleted for job in self.retention_jobs)

    @property
    def retention_failed(self) -> int:
        return sum(job.status == "failed" for job in self.retention_jobs)

    @property
    def durations(self) -> dict[str, float]:
        """Median, 95th percentile (nearest rank) and longest duration of finished runs."""
        values = sorted(line.duration_seconds for line in self.runs if line.duration_seconds)
        if not values:
            return {}
        p95 = values[math.ceil(0.95 * len(values)) - 1]
        median = statistics.median(values)
        return {"median": round(median, 1), "p95": round(p95, 1), "max": round(values[-1], 1)}

    @property
    def errors(self) -> list[tuple[str, int]]:
        """The failed runs' error messages (their first line), most frequent first."""
        found = Counter(
            _error_text(line.record.error) for line in self.runs if line.record.status == "failed"
        )
        return found.most_common()

    @property
    def baseline_days(self) -> int:
        return BASELINE.days

    @property
    def anomalies(self) -> list[RunLine]:
        return [line for line in self.runs if line.flags]

    @property
    def incidents(self) -> list[RunLine]:
        """The runs whose failure opened an incident (its number is in `etl_runs`)."""
        return [line for line in self.runs if line.record.incident]


def build_period_report(
    records: Sequence[RunRecord],
    window: Window,
    now: datetime | None = None,
    limits: Limits | None = None,
) -> PeriodReport:
    """The report of `window` from `records`, which should reach back to the window's
    baseline start (the runs before the window only set what is usual); with `limits`,
    the sources likely to breach them."""
    records = sorted(records, key=lambda record: utc(record.started_at))
    flags = _unusual_runs(records)
    in_window = [record for record in records if utc(record.started_at) in window]
    runs = [
        RunLine(record, duration_seconds(record), flags.get(record.run_id, ()))
        for record in in_window
        if record.kind != RETENTION_KIND
    ]
    report = PeriodReport(
        window=window,
        runs=runs,
        baseline_runs=len(_usual_candidates(records)),
        generated_at=(now or datetime.now(UTC)).isoformat(timespec="seconds"),
        retention_jobs=[record for record in in_window if record.kind == RETENTION_KIND],
        predictions=breach_predictions(records, limits) if limits else [],
    )
    report.charts.extend(_charts(report))
    return report


def render_period_report(report: PeriodReport) -> str:
    return render("period_report.html.j2", report=report, generated_at=report.generated_at)


def _usual_candidates(records: Sequence[RunRecord]) -> list[RunRecord]:
    # Failed runs stop early and replays are small by nature: neither says what is usual.
    return [
        record
        for record in records
        if record.kind == "pipeline" and record.status == "succeeded" and record.finished_at
    ]


def _unusual_runs(records: Sequence[RunRecord]) -> dict[str, tuple[str, ...]]:
    candidates = _usual_candidates(records)
    flags: dict[str, list[str]] = {}
    measures = (
        ("duration", [duration_seconds(record) or 0.0 for record in candidates], "s"),
        ("rows in", [float(record.rows_in) for record in candidates], ""),
    )
    for name, values, unit in measures:
        if not values:
            continue
        scores = modified_z_scores(values)
        median = statistics.median(values)
        for index in outliers(values):
            direction = "above" if scores[index] > 0 else "below"
            flags.setdefault(candidates[index].run_id, []).append(
                f"{name} {number(round(values[index], 1), unit)} far {direction} the usual "
                f"{number(round(median, 1), unit)} (modified z-score {scores[index]:.1f})"
            )
    return {run_id: tuple(reasons) for run_id, reasons in flags.items()}


def _charts(report: PeriodReport) -> list[Chart]:
    window = report.window
    step = BUCKET_LENGTH[window.period]
    buckets = int(PERIOD_LENGTH[window.period] / step)
    label_format = "%H:00" if window.period == "daily" else "%a %d %b"
    labels = [(window.start + step * i).strftime(label_format) for i in range(buckets)]
    succeeded, failed = [0.0] * buckets, [0.0] * buckets
    loaded, quarantined = [0.0] * buckets, [0.0] * buckets
    for line in report.runs:
        bucket = min(int((utc(line.record.started_at) - window.start) / step), buckets - 1)
        if line.record.status == "failed":
            failed[bucket] += 1
        elif line.record.status == "succeeded":
            succeeded[bucket] += 1
        loaded[bucket] += line.record.rows_loaded
        quarantined[bucket] += line.record.rows_quarantined
    timed = [line for line in report.runs if line.duration_seconds is not None]
    return [
        bar_chart(
            "Runs over time", labels, {"succeeded": succeeded, "failed": failed}, stacked=True
        ),
        bar_chart(
            "Rows over time", labels, {"loaded": loaded, "quarantined": quarantined}, stacked=True
        ),
        line_chart(
            "Duration of each run (unusual runs marked)",
            [utc(line.record.started_at).strftime("%d %b %H:%M") for line in timed],
            [line.duration_seconds or 0.0 for line in timed],
            flagged={index for index, line in enumerate(timed) if line.flags},
            unit="s",
        ),
    ]


def _error_text(error: str | None) -> str:
    first_line = ((error or "").strip().splitlines() or ["no error recorded"])[0]
    if len(first_line) <= ERROR_TEXT_LENGTH:
        return first_line
    return first_line[: ERROR_TEXT_LENGTH - 1] + "…"
