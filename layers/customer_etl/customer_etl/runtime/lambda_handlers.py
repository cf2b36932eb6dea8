"""What every stage's Lambda handler does: read the event and the configuration, build the
AWS adapters, run one stage, emit metrics, return the manifest.

Each `functions/<stage>/handler.py` is one line that picks its stage from here.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from customer_etl.adapters.aws import SnsNotifier
from customer_etl.adapters.report_store import S3ReportStore
from customer_etl.adapters.warehouse.configured import build_warehouse
from customer_etl.adapters.warehouse.metrics import database_metrics
from customer_etl.config import Config, load_config
from customer_etl.core.errors import CustomerEtlError, UnexpectedStageError
from customer_etl.core.manifest import RunManifest, StageReport
from customer_etl.health.checks import cloud_health
from customer_etl.observability import metric_names
from customer_etl.observability.api_metrics import emit_api_metrics
from customer_etl.observability.metrics import emit_metric
from customer_etl.observability.telemetry import logger, metrics, raised_at, tracer
from customer_etl.reporting.period_report import PERIODS
from customer_etl.reporting.publish import publish_period_report
from customer_etl.run.failure import report_run_failure
from customer_etl.run.metrics import emit_breaker_openings, emit_run_finished, emit_stage_outcome
from customer_etl.run.pipeline import run_stage
from customer_etl.run.quality_gate import VALIDATING_STAGES, enforce
from customer_etl.run.retention import apply_retention
from customer_etl.run.settings import stage_settings
from customer_etl.run.summary import finished, run_record
from customer_etl.runtime.factory import cloud_ports
from customer_etl.runtime.protection import key_provider
from customer_etl.stages.enrich import EnrichmentDegradedError

ENV_VARIABLE = "CUSTOMER_ETL_ENV"
Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def _config() -> Config:
    return load_config(os.environ.get(ENV_VARIABLE, "dev"))


def manifest_from_event(stage: str, event: dict[str, Any]) -> RunManifest:
    """The first stage gets `{run_id, bucket, key}` (from the S3 event); the others get the
    manifest the previous stage returned.

    The first stage also takes a whole manifest: a resume is a new execution whose input is
    the failed state's input, with the error Step Functions caught under `error` (a mapping,
    where the manifest's own `error` is a text). That caught error is left out here, so
    operators can pass the input on as the execution history or the quarantine message shows
    it; the stages the manifest shows as done then return at once (pipeline.run_stage)."""
    if isinstance(event.get("error"), Mapping):
        event = {name: value for name, value in event.items() if name != "error"}
    if stage == "extract" and "source_uri" not in event:
        # S3 event keys arrive URL-encoded (a space is '+').
        key = unquote_plus(event["key"])
        return RunManifest.start(event["run_id"], f"s3://{event['bucket']}/{key}")
    return RunManifest.model_validate(event)


def run_stage_in_lambda(stage: str, event: dict[str, Any]) -> dict[str, Any]:
    # Before anything can fail, so that every line of the invocation names its run.
    logger.append_keys(run_id=event.get("run_id"), stage=stage)
    config = _config()
    manifest = manifest_from_event(stage, event)
    ports = cloud_ports(config)
    # A failure goes on to Step Functions as it is: the failed run's `etl_runs` row, its
    # alert and its RunsFailed come once, from the run-failed function that the state
    # machine's Catch path ends in, whatever the stage (run_failed_handler).
    # Only transform masks: the other stages neither need nor may read the masking key.
    settings = stage_settings(config, masking=stage == "transform")
    # A resumed run passes through the stages it finished: they return at once and their
    # figures, already emitted by the first attempt, are not emitted again.
    already_done = stage in manifest.stages
    manifest = run_stage(stage, manifest, ports, config.pipeline.chunk_rows, settings)
    if not already_done:
        emit_stage_outcome(stage, manifest)
    if stage == VALIDATING_STAGES[-1] and not already_done:
        # Judged when transform finishes; a resume passing through does not alert again.
        enforce(manifest, config.quality, ports.notifier, config.alerts)
    if stage == "load":
        manifest = finished(manifest)
        ports.warehouse().record_run(run_record(manifest))
        emit_run_finished(manifest)
    if not already_done:
        _emit_stage_metrics(stage, manifest.stages[stage])
    return manifest.model_dump(mode="json")


def _emit_stage_metrics(stage: str, report: StageReport) -> None:
    metrics.add_dimension(name="stage", value=stage)
    metrics.add_metric(name="RowsIn", unit=MetricUnit.Count, value=report.rows_in)
    metrics.add_metric(name="RowsOut", unit=MetricUnit.Count, value=report.rows_out)
    metrics.add_metric(name="RowsQuarantined", unit=MetricUnit.Count, value=report.rows_quarantined)
    metrics.add_metric(name="StageDuration", unit=MetricUnit.Seconds, value=report.duration_seconds)
    if report.peak_memory_mb is not None:
        metrics.add_metric(
            name="StagePeakMemory", unit=MetricUnit.Megabytes, value=report.peak_memory_mb
        )
    emit_api_metrics(report.apis)
    for name, (unit, value) in database_metrics(report.counters).items():
        metrics.add_metric(name=name, unit=unit, value=value)


def stage_handler(stage: str) -> Handler:
    """The Lambda handler of `stage`, with Powertools logging, tracing and metrics."""

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        try:
            return run_stage_in_lambda(stage, event)
        except Exception as error:
            # The exception goes on to Step Functions (Retry, Catch); the metric feeds alarms.
            metrics.add_dimension(name="stage", value=stage)
            # Per attempt: a retry may still succeed. The run's one RunsFailed comes from the
            # run-failed function at the end of the Catch path (run_failed_handler).
            metrics.add_metric(name="StageFailures", unit=MetricUnit.Count, value=1)
            logger.error(
                "stage failed",
                extra={"error_class": type(error).__name__, "raised_at": raised_at(error)},
            )
            if isinstance(error, EnrichmentDegradedError):
                # The stage did not finish, but its API figures are what the alarms need.
                emit_api_metrics(error.apis)
                emit_breaker_openings(error.apis)
            if not isinstance(error, CustomerEtlError):
                # The Lambda runtime logs an error's message and Step Functions passes it on
                # to the quarantine queue: an unexpected one may quote a record's value.
                raise UnexpectedStageError(
                    f"unexpected {type(error).__name__} in stage {stage}: see the function's "
                    "log, fix the cause, then resume the run (docs/runbook.md)"
                ) from None
            raise

    return handler


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def retention_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Scheduled daily: apply the retention period to the warehouse."""
    config = _config()
    record = apply_retention(build_warehouse(config), config.retention.customer_retention_days)
    metrics.add_metric(name="RowsDeleted", unit=MetricUnit.Count, value=record.rows_deleted)
    return {"run_id": record.run_id, "rows_deleted": record.rows_deleted}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def run_failed_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The end of the state machine's Catch path: the failed stage's input with the caught
    error under `error`. Records the failed run, sends its one templated alert and counts
    it (run/failure.py); returns the run's id and status."""
    config = _config()
    ports = cloud_ports(config)
    failed = report_run_failure(
        event,
        ports.notifier,
        ports.warehouse,
        config.alerts,
        partial(manifest_from_event, "extract"),
    )
    return {"run_id": failed.run_id, "status": failed.status}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def health_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Scheduled: the deployment's health in its JSON form, and the number of unhealthy
    components as a metric for the alarm (0 when all is well, so the alarm sees data)."""
    # As the stage functions build it: KMS, never a key file that dies with the container.
    report = cloud_health(_config, partial(key_provider, cloud=True))
    emit_metric(metric_names.HEALTH_UNHEALTHY, MetricUnit.Count, report.unhealthy_count)
    return report.as_json()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def report_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Scheduled daily and weekly with `{"period": ...}`: the period report to S3 (the
    reports bucket, else the checkpoint bucket, under `aws.reports_prefix`), announced on
    the alert topic."""
    period = event.get("period")
    if period not in PERIODS:
        raise CustomerEtlError(f"report period {period!r} is not one of: {', '.join(PERIODS)}")
    config = _config()
    aws = config.aws
    store = S3ReportStore(aws.reports_bucket or aws.checkpoint_bucket, aws.reports_prefix)
    warehouse = build_warehouse(config)
    try:
        published = publish_period_report(
            warehouse, store, SnsNotifier(aws.alert_topic_arn), period, datetime.now(UTC)
        )
    finally:
        warehouse.dispose()
    report = published.report
    logger.info("period report published", extra={"period": period, "runs": len(report.runs)})
    return {
        "period": period,
        "uri": published.uri,
        "runs": len(report.runs),
        "success_rate": report.success_rate,
        "unusual_runs": len(report.anomalies),
    }
