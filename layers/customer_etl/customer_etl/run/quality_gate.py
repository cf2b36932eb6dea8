"""A run's quality verdict, from its manifest alone: its scores, and whether its thresholds
let it go on. Runtimes call `enforce` after the stages that quarantine records."""

from __future__ import annotations

from customer_etl.alerting import messages
from customer_etl.config.model import AlertsSettings, QualitySettings
from customer_etl.core.manifest import RunManifest
from customer_etl.core.ports import Notifier
from customer_etl.core.quality_totals import QualityTotals
from customer_etl.observability.telemetry import logger
from customer_etl.quality.scores import RunScores, run_scores
from customer_etl.quality.thresholds import QualityThresholdError, judge

VALIDATING_STAGES = ("extract", "transform")
"""The stages that judge records; the run's quality is known once the last has run."""


def run_quality(manifest: RunManifest) -> RunScores:
    """The run's scores; records quarantined by extract (unreadable) score 0."""
    totals = QualityTotals()
    for report in manifest.stages.values():
        if report.quality is not None:
            totals = totals.merged(report.quality)
    extract = manifest.stages.get("extract")
    return run_scores(totals, extract.rows_quarantined if extract else 0)


def quality_warnings(manifest: RunManifest) -> dict[str, int]:
    """Reason code -> records that failed a `warn` rule (scored, loaded all the same)."""
    counts: dict[str, int] = {}
    for report in manifest.stages.values():
        for name, count in report.counters.items():
            if name.startswith("warning:"):
                code = name.removeprefix("warning:")
                counts[code] = counts.get(code, 0) + count
    return dict(sorted(counts.items()))


def enforce(
    manifest: RunManifest,
    thresholds: QualitySettings,
    notifier: Notifier,
    alerts: AlertsSettings,
) -> None:
    """Once the validating stages have run: alert on each warning threshold crossed, or
    raise QualityThresholdError when the run must not load (its rows stay quarantined).

    A replay (a steward's corrections) is judged record by record, not by its share.
    `alerts` gives the warnings' severities and runbook links.
    """
    if manifest.replay_of or not set(VALIDATING_STAGES) <= set(manifest.stages):
        return
    verdict = judge(
        manifest.rows_in,
        manifest.rows_quarantined,
        run_quality(manifest).quality_score,
        thresholds,
    )
    for warning in verdict.warnings:
        logger.warning("quality warning", extra={"run_id": manifest.run_id, "warning": warning})
        if not verdict.failure:
            # A run that fails sends one alert, its failure's, which carries the same counts.
            notifier.send(
                messages.quality_warning(manifest, VALIDATING_STAGES[-1], warning, alerts)
            )
    if verdict.failure:
        raise QualityThresholdError(verdict.failure)
