"""What every stage's Lambda handler does: read the event and the configuration, build the
AWS adapters, run one stage, emit metrics, return the manifest.

Each `functions/<stage>/handler.py` is one line that picks its stage from here.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from typing import Any
from urllib.parse import unquote_plus

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from customer_etl.adapters.aws import SnsNotifier, StepFunctionsStarter
from customer_etl.adapters.aws_errors import aws_failure
from customer_etl.adapters.report_store import S3ReportStore
from customer_etl.adapters.warehouse.configured import build_warehouse
from customer_etl.adapters.warehouse.metrics import database_metrics
from customer_etl.config import Config, load_config
from customer_etl.core.errors import CustomerEtlError, UnexpectedStageError
from customer_etl.core.manifest import RunManifest, StageReport
from customer_etl.core.ports import RUN_JOB, LineageEvent
from customer_etl.observability import metric_names
from customer_etl.observability.api_metrics import emit_api_metrics
from customer_etl.observability.metrics import emit_metric
from customer_etl.observability.telemetry import logger, metrics, raised_at, tracer
from customer_etl.reporting.periods import PERIODS
from customer_etl.reporting.retention_report import alert_if_overdue, build_retention_report
from customer_etl.run.failure import (
    FAILED_STATUSES,
    MANIFEST_DOCUMENT,
    ExecutionStatus,
    last_manifest,
    report_recovery,
    report_run_failure,
)
from customer_etl.run.metrics import emit_breaker_openings, emit_run_finished, emit_stage_outcome
from customer_etl.run.pipeline import (
    Ports,
    complete_stage_with_lineage,
    run_chunk,
    run_extract,
    with_lineage,
)
from customer_etl.run.quality_gate import VALIDATING_STAGES, enforce
from customer_etl.run.retention import apply_retention, covered_classes
from customer_etl.run.settings import stage_settings
from customer_etl.run.source import run_id_for_object
from customer_etl.run.summary import finished, run_record
from customer_etl.runtime.breach_notice import notify_likely_breaches
from customer_etl.runtime.drift_notice import check_drift
from customer_etl.runtime.factory import cloud_ports
from customer_etl.runtime.identity import cloud_identity
from customer_etl.runtime.incidents import incident_desk
from customer_etl.runtime.protection import key_provider
from customer_etl.runtime.report_command import forecast_limits
from customer_etl.stages.enrich import EnrichmentDegradedError

ENV_VARIABLE = "CUSTOMER_ETL_ENV"
Handler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def _config() -> Config:
    return load_config(os.environ.get(ENV_VARIABLE, "dev"))


def manifest_from_event(stage: str, event: dict[str, Any]) -> RunManifest:
    """The run an event is about. Extract gets the run id (the execution's name) and the
    landed object: `{"run_id", "source": {"bucket", "key", "version_id"?}}` from the start
    function, or `source` as the S3 "Object Created" event itself; the other stages get the
    manifest, or `{"manifest", "chunk"}` for one chunk."""
    if "manifest" in event:
        event = event["manifest"]
    if stage == "extract" and "source_uri" not in event:
        source = event.get("source", event)
        if "detail" in source:  # the S3 event itself
            detail = source["detail"]
            source = {
                "bucket": detail["bucket"]["name"],
                "key": detail["object"]["key"],
                "version_id": detail["object"].get("version-id"),
                "requester": detail.get("requester"),
            }
        # S3 event keys arrive URL-encoded (a space is '+').
        key = unquote_plus(source["key"])
        manifest = RunManifest.start(event["run_id"], f"s3://{source['bucket']}/{key}")
        version = source.get("version_id") or source.get("etag")
        return manifest.model_copy(
            update={"source_version": version, "triggered_by": cloud_identity(source)}
        )
    return RunManifest.model_validate(event)


def run_stage_in_lambda(stage: str, event: dict[str, Any]) -> dict[str, Any]:
    """One step of the state machine: extract; one chunk of a stage (an item of its
    Distributed Map, `{"manifest", "chunk"}`); or a stage's completion (the manifest), which
    sums the chunks' reports, judges the thresholds after transform and ends the run after
    load. A failure goes on to Step Functions as it is: the failed run's `etl_runs` row, its
    alert and its RunsFailed come once, from the run-status function."""
    manifest_event = event.get("manifest", event)
    # Before anything can fail, so that every line of the invocation names its run.
    logger.append_keys(run_id=manifest_event.get("run_id"), stage=stage, chunk=event.get("chunk"))
    config = _config()
    manifest = manifest_from_event(stage, event)
    ports = cloud_ports(config)
    # Only transform masks: the other stages neither need nor may read the masking key.
    settings = stage_settings(config, masking=stage == "transform")
    if "chunk" in event:
        report = run_chunk(stage, manifest, int(event["chunk"]), ports, settings)
        return {"chunk": event["chunk"], "rows_in": report.rows_in, "rows_out": report.rows_out}
    # A redriven completion whose stage is recorded returns at once and emits nothing again.
    already_done = stage in manifest.stages
    if stage == "extract" and not already_done:
        ports.lineage.emit(LineageEvent("START", RUN_JOB, manifest, at=manifest.started_at))
        chunk_rows = config.pipeline.chunk_rows
        manifest = with_lineage(
            stage,
            manifest,
            ports.lineage,
            lambda: run_extract(manifest, ports, chunk_rows, settings),
        )
    elif stage != "extract":
        manifest = complete_stage_with_lineage(stage, manifest, ports)
    if not already_done:
        emit_stage_outcome(stage, manifest)
    if stage == VALIDATING_STAGES[-1] and not already_done:
        # Judged once every chunk is transformed, before any is loaded.
        enforce(manifest, config.quality, ports.notifier, config.alerts)
    if stage == "load":
        manifest = finished(manifest)
        ports.warehouse().record_run(run_record(manifest))
        emit_run_finished(manifest)
        ports.lineage.emit(LineageEvent("COMPLETE", RUN_JOB, manifest))
    ports.checkpoints.put_document(
        manifest.run_id, MANIFEST_DOCUMENT, manifest.model_dump_json(indent=2)
    )
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
            # The exception goes on to Step Functions (the task's Retry, then the execution
            # fails at the task); the metric feeds alarms.
            metrics.add_dimension(name="stage", value=stage)
            # Per attempt: a retry may still succeed. The run's one RunsFailed comes from the
            # run-status function, on the execution's FAILED status event.
            metrics.add_metric(name="StageFailures", unit=MetricUnit.Count, value=1)
            logger.error(
                "stage failed",
                extra={"error_class": type(error).__name__, "raised_at": raised_at(error)},
            )
            if isinstance(error, EnrichmentDegradedError):
                # The stage did not finish, but its API figures are what the alarms need.
                emit_api_metrics(error.apis)
                emit_breaker_openings(error.apis)
            if (failure := aws_failure(error)) is not None:
                # Throttled or failing AWS services are retried by the task, under a name
                # its Retry can match; a refused call says where to look.
                raise failure from None
            if not isinstance(error, CustomerEtlError):
                # The Lambda runtime logs an error's message and Step Functions passes it on
                # to the quarantine queue: an unexpected one may quote a record's value.
                raise UnexpectedStageError(
                    f"unexpected {type(error).__name__} in stage {stage}: see the function's "
                    "log, fix the cause, then redrive the execution (docs/runbook.md)"
                ) from None
            raise

    return handler


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def retention_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Scheduled daily: apply the retention classes to the warehouse (S3 lifecycle rules
    expire the objects), then alert when records are still past their period."""
    config = _config()
    warehouse = build_warehouse(config)
    covered = covered_classes(config)
    record = apply_retention(warehouse, config.retention, covered=covered)
    metrics.add_metric(name="RowsDeleted", unit=MetricUnit.Count, value=record.rows_deleted)
    report = build_retention_report(warehouse, config.retention, datetime.now(UTC), covered=covered)
    alerted = alert_if_overdue(report, SnsNotifier(config.aws.alert_topic_arn), config.alerts)
    overdue = sum(report.overdue.values())
    return {
        "run_id": record.run_id,
        "rows_deleted": record.rows_deleted,
        "overdue": overdue,
        "alerted": alerted,
    }


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def start_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """The target of the landing bucket's "Object Created" rule: start the run of the object,
    once. The execution's name is the run id derived from the object's identity
    (run/source.py), so a second delivery of the same event starts nothing, and a new
    version of the key starts a run of its own, which reads that version."""
    detail = event["detail"]
    obj = detail["object"]
    # S3 event keys arrive URL-encoded (a space is '+').
    key = unquote_plus(obj["key"])
    version = obj.get("version-id") or obj.get("sequencer") or obj.get("etag")
    run_id = run_id_for_object(detail["bucket"]["name"], key, version)
    logger.append_keys(run_id=run_id)
    source = {
        "bucket": detail["bucket"]["name"],
        "key": key,
        # The version the run reads: its version id where the bucket keeps versions, else
        # its ETag (the run refuses an object whose ETag no longer matches).
        "version_id": obj.get("version-id") or (f'"{obj["etag"]}"' if obj.get("etag") else None),
        # Who uploaded it (an account id or service principal), for the audit trail.
        "requester": detail.get("requester"),
    }
    started = StepFunctionsStarter(_config().aws.state_machine_arn).start(run_id, source)
    logger.info("run started" if started else "object already has its run; nothing started")
    return {"run_id": run_id, "started": started}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def run_status_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """A "Step Functions Execution Status Change" event of the pipeline's state machine:
    a failed, timed-out or aborted execution ends its run as failed (its `etl_runs` row, its
    one alert, RunsFailed, a `run_failed` message on the quarantine queue saying how to
    redrive); a redriven execution that succeeded sends one "recovered" notice (run/failure.py);
    any that succeeded, the "likely to breach" notice when its source trends toward a limit.
    Returns the run's id and what was done."""
    status = ExecutionStatus.from_event(event)
    logger.append_keys(run_id=status.run_id)
    config = _config()
    ports = cloud_ports(config)
    stored = ports.checkpoints.get_document(status.run_id, MANIFEST_DOCUMENT)
    manifest = last_manifest(status, stored, partial(manifest_from_event, "extract"))
    if status.status in FAILED_STATUSES:
        failed = report_run_failure(
            status,
            manifest,
            ports.notifier,
            ports.warehouse,
            config.alerts,
            ports.quarantine,
            incident_desk(config.alerts.incidents),
            ports.checkpoints,
        )
        error_class = status.error or status.status
        ports.lineage.emit(LineageEvent("FAIL", RUN_JOB, failed, error_class))
        return {"run_id": failed.run_id, "action": "recorded_failure"}
    if status.status == "SUCCEEDED":
        recovered = report_recovery(
            status,
            manifest,
            ports.notifier,
            ports.warehouse,
            config.alerts,
            incident_desk(config.alerts.incidents),
            ports.checkpoints,
        )
        # The load recorded the run's row: the trend of its source includes it.
        notify_likely_breaches(ports.warehouse, ports.notifier, recovered or manifest, config)
        _keep_drift(check_drift(ports.warehouse, ports.notifier, manifest, config.alerts), ports)
        return {"run_id": status.run_id, "action": "recovered" if recovered else "none"}
    return {"run_id": status.run_id, "action": "none"}


def _keep_drift(manifest: RunManifest, ports: Ports) -> None:
    """The manifest document with the drift found, when there was any."""
    if manifest.drift:
        ports.checkpoints.put_document(
            manifest.run_id, MANIFEST_DOCUMENT, manifest.model_dump_json(indent=2)
        )


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
def health_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Scheduled: the deployment's health in its JSON form, and the number of unhealthy
    components as a metric for the alarm (0 when all is well, so the alarm sees data)."""
    # As the stage functions build it: KMS, never a key file that dies with the container.
    # Imported here: the stage functions share this module and never check health.
    from customer_etl.health.checks import cloud_health

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
    # Imported here: the stage functions share this module and never write reports.
    from customer_etl.reporting.publish import publish_period_report

    config = _config()
    aws = config.aws
    store = S3ReportStore(aws.reports_bucket or aws.checkpoint_bucket, aws.reports_prefix)
    warehouse = build_warehouse(config)
    try:
        published = publish_period_report(
            warehouse,
            store,
            SnsNotifier(aws.alert_topic_arn),
            period,
            datetime.now(UTC),
            forecast_limits(config),
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
