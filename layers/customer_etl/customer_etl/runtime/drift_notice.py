"""The drift check after a successful run: its columns' profile (transform's counts, in the
manifest) against the profiles of its source's recent successful runs (their `etl_runs`
rows), by quality/drift.py. A drift is a quality warning (P3, through the alert path), a log
line and a line of the run's summary, each naming the column, the measure and two figures,
never a value; the run stands as it is.

A check is a help, never a condition of the run: any failure here is logged by class and
left, as the "likely to breach" notice does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from customer_etl.alerting import messages
from customer_etl.config.model import AlertsSettings
from customer_etl.core.manifest import RunManifest
from customer_etl.core.ports import Notifier, RunRecord, Warehouse
from customer_etl.observability.telemetry import logger
from customer_etl.quality.drift import (
    ColumnProfile,
    DriftWarning,
    drift_warnings,
    profiles_from_json,
    profiles_of,
)
from customer_etl.reporting.forecast import source_of
from customer_etl.reporting.period_report import BASELINE

RECENT_RUNS = 20
"""The source's latest successful runs a profile is compared with (within the BASELINE)."""


def recent_profiles(
    records: list[RunRecord], manifest: RunManifest
) -> list[dict[str, ColumnProfile]]:
    """The profiles of the source's latest successful pipeline runs before this one."""
    source = source_of(manifest.source_file)
    kept = [
        record
        for record in records
        if record.run_id != manifest.run_id
        and record.kind == "pipeline"
        and record.status == "succeeded"
        and record.column_profiles
        and source_of(record.source_file) == source
    ]
    return [profiles_from_json(str(r.column_profiles)) for r in kept[-RECENT_RUNS:]]


def check_drift(
    warehouse: Callable[[], Warehouse],
    notifier: Notifier,
    manifest: RunManifest,
    alerts: AlertsSettings,
    now: datetime | None = None,
) -> RunManifest:
    """The manifest with the drift its columns show (`drift`); one quality warning when
    there is any. A replay, a failed run or a run without a profile is not judged."""
    transform = manifest.stages.get("transform")
    if manifest.replay_of or manifest.status != "succeeded" or transform is None:
        return manifest
    if transform.profile is None:
        return manifest
    try:
        now = now or datetime.now(UTC)
        records = warehouse().runs_between(now - BASELINE, now + timedelta(seconds=1))
        found = drift_warnings(profiles_of(transform.profile), recent_profiles(records, manifest))
    except Exception as error:  # the run succeeded: a check must not make it fail
        logger.error("no drift check", extra={"error_class": type(error).__name__})
        return manifest
    if not found:
        return manifest
    _warn(found, manifest, notifier, alerts)
    return manifest.model_copy(update={"drift": [str(warning) for warning in found]})


def _warn(
    found: list[DriftWarning], manifest: RunManifest, notifier: Notifier, alerts: AlertsSettings
) -> None:
    logger.warning(
        "columns drifted from the source's recent runs",
        extra={
            "run_id": manifest.run_id,
            "drifts": [f"{warning.column}:{warning.measure}" for warning in found],
        },
    )
    lines = "; ".join(str(warning) for warning in found)
    try:
        notifier.send(
            messages.quality_warning(
                manifest,
                "transform",
                f"{len(found)} column measure(s) drifted from the source's recent runs: {lines}",
                alerts,
            )
        )
    except Exception as error:  # the warning is in the log and the summary all the same
        logger.error("drift warning not sent", extra={"error_class": type(error).__name__})
