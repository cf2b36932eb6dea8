"""What a run tells operators: its summary, its `etl_runs` row and its failure alert.

Built from the manifest alone (ids, counts, reason codes, error classes): no record values.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from customer_etl.manifest import RunManifest
from customer_etl.ports import Alert, RunRecord
from customer_etl.quality.gate import quality_warnings, run_quality


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
        "stages": {
            name: report.model_dump(exclude={"checkpoint_uri"})
            | {"checkpoint": report.checkpoint_uri}
            for name, report in manifest.stages.items()
        },
        "error": manifest.error,
    }


def _quality(manifest: RunManifest) -> dict[str, Any]:
    scores = run_quality(manifest)
    recovered = len(manifest.recovered_source_rows)
    return {
        "quality_score": scores.quality_score,
        "quality_dimensions": scores.dimensions,
        "quality_warnings": quality_warnings(manifest),
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
    )


def failure_alert(manifest: RunManifest, stage: str | None, error_class: str) -> Alert:
    where = f"in stage {stage}" if stage else "before its first stage"
    return Alert(
        subject=f"customer-etl run {manifest.run_id} failed ({error_class})",
        body=(
            f"Run {manifest.run_id} of file {manifest.source_file} failed {where} "
            f"with {error_class}.\n{manifest.error or ''}\n"
            f"Rows in: {manifest.rows_in}; quarantined so far: {manifest.rows_quarantined}.\n"
            f"Fix the cause, then: customer-etl resume {manifest.run_id}"
        ),
    )


def finished(manifest: RunManifest, error: str | None = None) -> RunManifest:
    """The manifest of a run that has ended, successfully when `error` is None."""
    return manifest.model_copy(
        update={
            "status": "failed" if error else "succeeded",
            "error": error,
            "finished_at": datetime.now(UTC),
        }
    )
