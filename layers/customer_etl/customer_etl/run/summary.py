"""What a run tells operators: its summary, its `etl_runs` row and its failure alert.

Built from the manifest alone (ids, counts, reason codes, error classes): no record values.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from customer_etl.alerting import messages
from customer_etl.config.model import AlertsSettings
from customer_etl.core.api_stats import ApiReport
from customer_etl.core.manifest import RunManifest
from customer_etl.core.ports import Alert, RunRecord
from customer_etl.quality.drift import profiles_json, profiles_of
from customer_etl.run.quality_gate import quality_warnings, run_quality


def summary(manifest: RunManifest, warehouse_url: str) -> dict[str, Any]:
    reasons: Counter[str] = Counter()
    for report in manifest.stages.values():
        reasons.update(report.reasons)
    return {
        "run_id": manifest.run_id,
        "status": manifest.status,
        "source_file": manifest.source_file,
        "started_at": manifest.started_at.isoformat(),
        "finished_at": manifest.finished_at.isoformat() if manifest.finished_at else None,
        "rows_in": manifest.rows_in,
        "rows_loaded": manifest.rows_loaded,
        "rows_quarantined": manifest.rows_quarantined,
        "reconciled": manifest.rows_in == manifest.rows_loaded + manifest.rows_quarantined,
        "warehouse": warehouse_url,
        "file": manifest.file.model_dump() if manifest.file else None,
        "quarantine_reasons": dict(sorted(reasons.items())),
        **_quality(manifest),
        **_performance(manifest),
        "stages": {
            name: report.model_dump(mode="json", exclude={"checkpoint_uri"})
            | {"checkpoint": report.checkpoint_uri}
            for name, report in manifest.stages.items()
        },
        "error": manifest.error,
        "incident": manifest.incident,
    }


def _performance(manifest: RunManifest) -> dict[str, Any]:
    """The run's duration, its highest stage peak memory and each API's response figures."""
    ended = manifest.finished_at
    peaks = [r.peak_memory_mb for r in manifest.stages.values() if r.peak_memory_mb is not None]
    apis = {
        api: {
            "calls": report.calls,
            "success_rate": round(report.successes / report.calls, 4) if report.calls else None,
            "latency_ms_p50": report.latency_ms_p50,
            "latency_ms_p95": report.latency_ms_p95,
            "latency_ms_max": report.latency_ms_max,
        }
        for stage in manifest.stages.values()
        for api, report in stage.apis.items()
    }
    return {
        "duration_seconds": (
            round((ended - manifest.started_at).total_seconds(), 3) if ended else None
        ),
        "peak_memory_mb": max(peaks, default=None),
        "apis": apis,
    }


def _quality(manifest: RunManifest) -> dict[str, Any]:
    scores = run_quality(manifest)
    recovered = len(manifest.recovered_source_rows)
    return {
        "quality_score": scores.quality_score,
        "quality_dimensions": scores.dimensions,
        "quality_warnings": quality_warnings(manifest),
        "quality_drift": list(manifest.drift),
        "recovered": {
            "rows": recovered,
            "still_quarantined": manifest.rows_quarantined - recovered,
            "replays": [replay.model_dump() for replay in manifest.replays],
        },
    }


def run_record(manifest: RunManifest) -> RunRecord:
    return RunRecord(
        run_id=manifest.run_id,
        kind="replay" if manifest.replay_of else "pipeline",
        source_file=manifest.source_file,
        status=manifest.status,
        rows_in=manifest.rows_in,
        rows_loaded=manifest.rows_loaded,
        rows_quarantined=manifest.rows_quarantined,
        started_at=manifest.started_at,
        finished_at=manifest.finished_at,
        error=manifest.error,
        attempts=manifest.attempts,
        triggered_by=manifest.triggered_by,
        incident=manifest.incident,
        api_calls=sum(api.calls for api in _apis(manifest)),
        api_errors=sum(sum(api.errors.values()) for api in _apis(manifest)),
        column_profiles=_profiles(manifest),
        api_latency_ms=max(
            (api.latency_ms_p95 for api in _apis(manifest) if api.calls), default=None
        ),
    )


def _profiles(manifest: RunManifest) -> str | None:
    transform = manifest.stages.get("transform")
    if transform is None or transform.profile is None:
        return None
    return profiles_json(profiles_of(transform.profile))


def _apis(manifest: RunManifest) -> list[ApiReport]:
    return [api for report in manifest.stages.values() for api in report.apis.values()]


def failure_alert(
    manifest: RunManifest, stage: str | None, error_class: str, settings: AlertsSettings
) -> Alert:
    """The one alert of a failed run, from its template (customer_etl/alerting/templates)."""
    return messages.run_failed(manifest, stage, error_class, settings)


def finished(manifest: RunManifest, error: str | None = None) -> RunManifest:
    """The manifest of a run that has ended, successfully when `error` is None."""
    return manifest.model_copy(
        update={
            "status": "failed" if error else "succeeded",
            "error": error,
            "finished_at": datetime.now(UTC),
        }
    )
