"""How a failed run ends, and how a recovered one is told: its `etl_runs` row, whatever else
has gone wrong, its one alert, its `RunsFailed`; in the cloud, from Step Functions' own
execution status events.

The cloud's state machine has no Catch: a stage that fails fails the execution at that
stage, where a redrive starts it again. EventBridge delivers the execution's "Step Functions
Execution Status Change" event (FAILED, TIMED_OUT, ABORTED, and SUCCEEDED) to the run-status
function, which ends a failed run as the local runner does and, when a redriven execution
succeeds, sends one "recovered" notice. The run's last manifest is the one the stages keep
beside its checkpoints (`manifest.json`); before extract has finished there is none, and the
execution's input (the landed object) gives the run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from customer_etl.alerting import messages
from customer_etl.config.model import AlertsSettings
from customer_etl.core.errors import CustomerEtlError
from customer_etl.core.manifest import RunManifest
from customer_etl.core.ports import CheckpointStore, Notifier, QuarantineSink, Warehouse
from customer_etl.observability.telemetry import logger
from customer_etl.run.incidents import IncidentDesk, open_incident, resolve_incident
from customer_etl.run.metrics import emit_run_failed
from customer_etl.run.summary import failure_alert, finished, run_record

MANIFEST_DOCUMENT = "manifest.json"
"""The run's last manifest beside its checkpoints, written by each stage's completion."""
FAILED_STATUSES = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
_ERROR_OF_STATUS = {"TIMED_OUT": "States.Timeout", "ABORTED": "ExecutionAborted"}

StartEventReader = Callable[[dict[str, Any]], RunManifest]
"""Reads the execution's input (the landed object) as the extract function does."""


@dataclass(frozen=True)
class ExecutionStatus:
    """The parts of a "Step Functions Execution Status Change" event that a run needs."""

    run_id: str
    status: str
    execution_arn: str
    error: str | None
    cause: str | None
    redrive_count: int
    input: dict[str, Any]

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> ExecutionStatus:
        detail = event.get("detail", event)
        raw_input = detail.get("input") or "{}"
        parsed = json.loads(raw_input) if isinstance(raw_input, str) else dict(raw_input)
        return cls(
            run_id=str(detail["name"]),
            status=str(detail["status"]),
            execution_arn=str(detail.get("executionArn", "")),
            error=detail.get("error"),
            cause=detail.get("cause"),
            redrive_count=int(detail.get("redriveCount") or 0),
            input=parsed if isinstance(parsed, dict) else {},
        )

    @property
    def attempts(self) -> int:
        return self.redrive_count + 1


@dataclass(frozen=True)
class CaughtError:
    """The class of the error a stage ended with and the message operators may see."""

    error_class: str
    message: str


def caught_error(error: Mapping[str, Any], stage: str | None) -> CaughtError:
    """The error as Step Functions caught it. Its `Cause` is the Lambda service's JSON
    (`errorType`, `errorMessage`, `stackTrace`) or, for a service error or a timeout, plain
    text. Only our own errors' messages are used: they say what went wrong without a record's
    values, by design. Any other message may quote a value, so it gives way to a generic text
    (as the local runner does), and the stack trace is never read."""
    cause = _lambda_error(error.get("Cause"))
    error_class = str(cause.get("errorType") or error.get("Error") or "UnknownError")
    message = cause.get("errorMessage")
    if _is_ours(error_class) and isinstance(message, str) and message:
        return CaughtError(error_class, message)
    if error_class in _ERROR_OF_STATUS.values():
        return CaughtError(
            error_class,
            f"the execution ended {error_class} in stage {stage}: find the cause in the "
            "execution history, then redrive it (docs/runbook.md)",
        )
    return CaughtError(
        error_class,
        f"unexpected {error_class} in stage {stage}: see the function's log, then redrive "
        "the execution (docs/runbook.md)",
    )


def last_manifest(
    status: ExecutionStatus,
    stored: str | None,
    read_start_event: StartEventReader,
) -> RunManifest:
    """The run as far as it got: the manifest its stages last kept, or (before extract had
    finished) the run the execution's input starts."""
    if stored is not None:
        return RunManifest.model_validate_json(stored)
    return read_start_event({"run_id": status.run_id, "source": status.input})


def report_run_failure(
    status: ExecutionStatus,
    manifest: RunManifest,
    notifier: Notifier,
    warehouse: Callable[[], Warehouse],
    settings: AlertsSettings,
    quarantine: QuarantineSink,
    incidents: IncidentDesk | None = None,
    documents: CheckpointStore | None = None,
) -> RunManifest:
    """Count, announce and record the failed run, open its incident where its severity
    needs one (given the desk and the run's documents), and leave its `run_failed` message
    (how to redrive it) on the quarantine queue; return it as it ended.

    The metric and the alert go first: a warehouse that is down or slow must neither stop
    nor delay the one message that tells the on-call engineer (record_failed_run logs, never
    raises, when the warehouse cannot take the row), and neither may an incident tool.
    """
    stage = manifest.next_stage()
    logger.append_keys(run_id=manifest.run_id, stage=stage)
    error = caught_error(
        {"Error": status.error or _ERROR_OF_STATUS.get(status.status), "Cause": status.cause},
        stage,
    )
    failed = finished(
        manifest.model_copy(update={"attempts": status.attempts}), error=error.message
    )
    emit_run_failed()
    alert = failure_alert(failed, stage, error.error_class, settings)
    notifier.send(alert)
    logger.error("run failed", extra={"stage": stage, "error_class": error.error_class})
    if incidents is not None and documents is not None:
        opened = open_incident(incidents, alert, failed.run_id, error.error_class, documents)
        if opened is not None:
            failed = failed.model_copy(update={"incident": opened.number})
    quarantine.announce_failed_run(
        failed.run_id, stage, error.error_class, failed.error, status.execution_arn, status.status
    )
    record_failed_run(warehouse, failed)
    return failed


def report_recovery(
    status: ExecutionStatus,
    manifest: RunManifest,
    notifier: Notifier,
    warehouse: Callable[[], Warehouse],
    settings: AlertsSettings,
    incidents: IncidentDesk | None = None,
    documents: CheckpointStore | None = None,
) -> RunManifest | None:
    """For a redriven execution that succeeded: its `etl_runs` row with the attempts it
    took, its incident resolved, and one "recovered" notice. None (and nothing done) for a
    first-time success."""
    if status.redrive_count == 0:
        return None
    recovered = manifest.model_copy(update={"attempts": status.attempts})
    if incidents is not None and documents is not None:
        resolved = resolve_incident(incidents, recovered.run_id, status.attempts, documents)
        if resolved is not None:
            recovered = recovered.model_copy(update={"incident": resolved.number})
    notifier.send(messages.run_recovered(recovered, settings))
    logger.info("run recovered", extra={"run_id": manifest.run_id, "attempts": status.attempts})
    record_failed_run(warehouse, recovered)
    return recovered


def _lambda_error(cause: Any) -> dict[str, Any]:
    if not isinstance(cause, str):
        return {}
    try:
        parsed = json.loads(cause)
    except ValueError:  # a service error or a timeout: plain text, possibly anything
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _is_ours(error_class: str) -> bool:
    """Whether `error_class` names one of our error classes. The Lambda service reports the
    class by its name only, so the name is looked up among the subclasses loaded here (the
    handler module imports every module whose errors a stage can raise)."""
    return error_class in _subclass_names(CustomerEtlError)


def _subclass_names(cls: type[BaseException]) -> set[str]:
    names = {cls.__name__}
    for subclass in cls.__subclasses__():
        names |= _subclass_names(subclass)
    return names


def record_failed_run(warehouse: Callable[[], Warehouse], failed: RunManifest) -> None:
    """Record `failed` (or a recovered run) in its own transaction, so that it outlives the
    load's rollback. The failure being reported matters more than this one: an error here is
    logged, not raised."""
    try:
        warehouse().record_run(run_record(failed))
    except Exception as error:
        logger.error("could not record the failed run", extra={"error_class": type(error).__name__})
