"""Stage reports written before the timing and memory figures existed still load."""

from __future__ import annotations

from customer_etl.core.manifest import StageReport

BEFORE_TIMINGS = """{"rows_in": 10, "rows_out": 9, "rows_quarantined": 1,
"duration_seconds": 0.5, "checkpoint_uri": "runs/r/extract.parquet"}"""


def test_a_stage_report_without_times_memory_or_timings_still_loads() -> None:
    report = StageReport.model_validate_json(BEFORE_TIMINGS)
    assert (report.started_at, report.finished_at, report.peak_memory_mb) == (None, None, None)
    assert report.timings == {}
