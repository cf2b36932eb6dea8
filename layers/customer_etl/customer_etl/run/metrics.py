"""The run-level metrics the CloudWatch alarms watch (names in observability/metric_names.py),
emitted by the Lambda runtime as Powertools EMF.

Each is a `single_metric` with its dimensions given in full: CloudWatch matches an alarm's
dimension set exactly, so these metrics must not pick up the stage dimension that the
handler's per-stage metrics carry. Powertools adds a `service` dimension of its own only
when none is given, so the one given here (metric_names.SERVICE) is the one that counts.
"""

from __future__ import annotations

from collections.abc import Mapping

from aws_lambda_powertools.metrics import MetricUnit

from customer_etl.core.api_stats import ApiReport
from customer_etl.core.manifest import RunManifest
from customer_etl.observability import metric_names
from customer_etl.observability.metrics import emit_metric
from customer_etl.run.quality_gate import run_quality

_OPENED = "->open"
"""How a circuit breaker's transition into the open state ends (`closed->open`)."""


def emit_stage_outcome(stage: str, manifest: RunManifest) -> None:
    """What a finished stage tells the alarms: transform the run's quality score (before the
    quality gate can stop the run), enrich how many times each API's circuit opened."""
    if stage == "transform":
        score = run_quality(manifest).quality_score
        if score is not None:
            emit_metric(metric_names.RUN_QUALITY_SCORE, MetricUnit.NoUnit, score)
    if stage == "enrich" and "enrich" in manifest.stages:
        emit_breaker_openings(manifest.stages["enrich"].apis)


def emit_breaker_openings(apis: Mapping[str, ApiReport]) -> None:
    """How many times each API's circuit opened during the enrich stage; also called when
    the stage failed on its fallback ceiling, the case the breaker alarm is for."""
    for api, report in apis.items():
        opened = sum(
            count
            for transition, count in report.breaker_state_changes.items()
            if transition.endswith(_OPENED)
        )
        if opened:
            emit_metric(metric_names.BREAKER_OPENED, MetricUnit.Count, opened, api=api)


def emit_run_finished(manifest: RunManifest) -> None:
    """A run that has ended (after its load): its quarantine share and its duration."""
    if manifest.rows_in:
        share = 100 * manifest.rows_quarantined / manifest.rows_in
        emit_metric(metric_names.RUN_QUARANTINE_PERCENT, MetricUnit.Percent, round(share, 3))
    if manifest.finished_at is not None:
        duration = (manifest.finished_at - manifest.started_at).total_seconds()
        emit_metric(metric_names.RUN_DURATION, MetricUnit.Seconds, round(duration, 3))


def emit_run_failed() -> None:
    """One failed run, from the run-failed function at the end of the state machine's Catch
    path (a stage attempt that Step Functions retries is not a failed run)."""
    emit_metric(metric_names.RUNS_FAILED, MetricUnit.Count, 1)
