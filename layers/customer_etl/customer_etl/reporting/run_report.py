"""One run's report, `report.html` beside its manifest: counts, stage timings, quality by
dimension, quarantine reasons, API latency and circuit-breaker events, with charts.

Built from the manifest alone, like the summary: counts, reason codes, rule codes, timings
and error messages (which never carry record values), never a record.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from customer_etl.adapters.files import write_text_atomically
from customer_etl.core.api_stats import ApiReport
from customer_etl.core.manifest import STAGES, RunManifest, StageReport
from customer_etl.observability.telemetry import logger
from customer_etl.quality.scores import RunScores
from customer_etl.reporting.charts import Chart, bar_chart
from customer_etl.reporting.render import render
from customer_etl.run.quality_gate import quality_warnings, run_quality

REPORT_FILE = "report.html"


@dataclass(frozen=True)
class StageLine:
    name: str
    report: StageReport
    started_at: datetime | None
    finished_at: datetime | None
    peak_memory_mb: float | None


@dataclass(frozen=True)
class ReasonLine:
    stage: str
    code: str
    rows: int


@dataclass(frozen=True)
class ApiLine:
    stage: str
    name: str
    report: ApiReport


@dataclass(frozen=True)
class RunReport:
    manifest: RunManifest
    duration_seconds: float | None
    stages: list[StageLine]
    reasons: list[ReasonLine]
    reason_totals: list[tuple[str, int]]
    quality: RunScores
    warnings: dict[str, int]
    apis: list[ApiLine]
    charts: list[Chart]
    generated_at: str

    @property
    def reconciled(self) -> bool:
        m = self.manifest
        return m.rows_in == m.rows_loaded + m.rows_quarantined

    @property
    def has_stage_times(self) -> bool:
        return any(line.started_at or line.finished_at for line in self.stages)

    @property
    def has_peak_memory(self) -> bool:
        return any(line.peak_memory_mb is not None for line in self.stages)

    @property
    def breaker_events(self) -> list[tuple[str, str, int]]:
        """(API, transition, times) for every circuit-breaker state change."""
        return [
            (api.name, change, times)
            for api in self.apis
            for change, times in api.report.breaker_state_changes.items()
        ]


def build_run_report(manifest: RunManifest, now: datetime | None = None) -> RunReport:
    ordered = [name for name in STAGES if name in manifest.stages]
    stages = [_stage_line(name, manifest.stages[name]) for name in ordered]
    reasons = [
        ReasonLine(line.name, code, rows)
        for line in stages
        for code, rows in sorted(line.report.reasons.items(), key=lambda item: -item[1])
    ]
    totals: Counter[str] = Counter()
    for reason in reasons:
        totals[reason.code] += reason.rows
    apis = [
        ApiLine(line.name, api, report)
        for line in stages
        for api, report in sorted(line.report.apis.items())
    ]
    quality = run_quality(manifest)
    duration = (
        (manifest.finished_at - manifest.started_at).total_seconds()
        if manifest.finished_at
        else None
    )
    return RunReport(
        manifest=manifest,
        duration_seconds=duration,
        stages=stages,
        reasons=reasons,
        reason_totals=totals.most_common(),
        quality=quality,
        warnings=quality_warnings(manifest),
        apis=apis,
        charts=_charts(stages, totals, quality, apis),
        generated_at=(now or datetime.now(UTC)).isoformat(timespec="seconds"),
    )


def render_run_report(manifest: RunManifest, now: datetime | None = None) -> str:
    report = build_run_report(manifest, now)
    return render("run_report.html.j2", report=report, generated_at=report.generated_at)


def save_run_report(manifest: RunManifest, folder: Path) -> Path | None:
    """Write `report.html` into the run's folder. A report is a by-product: failing to write
    it is logged, never raised, so that it cannot fail the run it describes."""
    try:
        path = folder / REPORT_FILE
        write_text_atomically(path, render_run_report(manifest))
        return path
    except Exception as error:
        logger.warning(
            "could not write the run report", extra={"error_class": type(error).__name__}
        )
        return None


def _stage_line(name: str, report: StageReport) -> StageLine:
    # Stage start, end and peak memory are optional in the manifest (older runs lack them).
    return StageLine(
        name=name,
        report=report,
        started_at=report.started_at,
        finished_at=report.finished_at,
        peak_memory_mb=report.peak_memory_mb,
    )


def _charts(
    stages: list[StageLine], reasons: Counter[str], quality: RunScores, apis: list[ApiLine]
) -> list[Chart]:
    names = [line.name for line in stages]
    charts = [
        bar_chart(
            "Rows by stage",
            names,
            {
                "passed on": [line.report.rows_out for line in stages],
                "quarantined": [line.report.rows_quarantined for line in stages],
            },
            stacked=True,
        ),
        bar_chart(
            "Stage duration",
            names,
            {"duration": [line.report.duration_seconds for line in stages]},
            unit="s",
        ),
        bar_chart(
            "Quarantine reasons",
            [code for code, _ in reasons.most_common()],
            {"rows": [rows for _, rows in reasons.most_common()]},
        ),
    ]
    scored = {d: s for d, s in quality.dimensions.items() if s is not None}
    charts.append(
        bar_chart("Quality by dimension (0 to 100)", list(scored), {"score": list(scored.values())})
    )
    charts.append(
        bar_chart(
            "Enrichment API latency",
            [api.name for api in apis],
            {
                "p50": [api.report.latency_ms_p50 for api in apis],
                "p95": [api.report.latency_ms_p95 for api in apis],
                "max": [api.report.latency_ms_max for api in apis],
            },
            unit="ms",
        )
    )
    return charts
