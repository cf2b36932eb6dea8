"""How a failed run ends: its `etl_runs` row, whatever else has gone wrong, and in the cloud
the end of the state machine's Catch path.

The run-failed function gets the input of the state that failed, with the error Step Functions
caught under `error` (`{"Error": ..., "Cause": ...}`). From it alone this module rebuilds the
failed run, so that the cloud ends a failed run as the local runner does: one `etl_runs` row,
one templated alert (summary.failure_alert) and one `RunsFailed` metric, however many times
Step Functions retried the stage before it gave up.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from customer_etl.config.model import AlertsSettings
from customer_etl.core.errors import CustomerEtlError
from customer_etl.core.manifest import RunManifest
from customer_etl.core.ports import Notifier, Warehouse
from customer_etl.observability.telemetry import logger
from customer_etl.run.metrics import emit_run_failed
from customer_etl.run.summary import failure_alert, finished, run_record

ERROR_KEY = "error"
"""Where the state machine's Catch puts the caught error (`ResultPath: $.error`)."""

StartEventReader = Callable[[dict[str, Any]], RunManifest]
"""Reads the first stage's input (the S3 start event) as that stage's handler does."""


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
    return CaughtError(
        error_class,
        f"unexpected {error_class} in stage {stage}: see the function's log, then resume "
        "the run (docs/runbook.md)",
    )


def failed_manifest(event: Mapping[str, Any], read_start_event: StartEventReader) -> RunManifest:
    """The manifest the failed stage was given; its `next_stage()` is the stage that failed.
    The first stage's input is the S3 start event (`run_id`, `bucket`, `key`), the others'
    a manifest, whose own `error` field the caught error has taken the place of."""
    state_input = {key: value for key, value in event.items() if key != ERROR_KEY}
    if "source_uri" not in state_input:  # no manifest yet: the start event
        return read_start_event(state_input)
    return RunManifest.model_validate(state_input)


def report_run_failure(
    event: Mapping[str, Any],
    notifier: Notifier,
    warehouse: Callable[[], Warehouse],
    settings: AlertsSettings,
    read_start_event: StartEventReader,
) -> RunManifest:
    """Count, announce and record the failed run of `event`; return it as it ended.

    The metric and the alert go first: a warehouse that is down or slow must neither stop
    nor delay the one message that tells the on-call engineer (record_failed_run logs, never
    raises, when the warehouse cannot take the row).
    """
    manifest = failed_manifest(event, read_start_event)
    stage = manifest.next_stage()
    logger.append_keys(run_id=manifest.run_id, stage=stage)
    error = caught_error(event.get(ERROR_KEY) or {}, stage)
    failed = finished(manifest, error=error.message)
    emit_run_failed()
    notifier.send(failure_alert(failed, stage, error.error_class, settings))
    logger.error("run failed", extra={"stage": stage, "error_class": error.error_class})
    record_failed_run(warehouse, failed)
    return failed


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
    """Record `failed` in its own transaction, so that it outlives the load's rollback. The
    failure being reported matters more than this one: an error here is logged, not raised."""
    try:
        warehouse().record_run(run_record(failed))
    except Exception as error:
        logger.error("could not record the failed run", extra={"error_class": type(error).__name__})
