"""The chunk as the unit of work: where a chunk's checkpoint and report live, and how a
stage's chunk reports add up to the stage's report in the run manifest.

Extract reads the file once and writes it as numbered chunks; transform, enrich and load run
once per chunk, each chunk's result recorded in its own small report document beside the
checkpoints. A stage is done when every chunk has a report; its report in the manifest is
their sum. So a chunk is what a retry, a resume or a Step Functions redrive runs again, and a
chunk with a report is never run twice.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence

from customer_etl.core.api_stats import ApiReport
from customer_etl.core.column_counts import ProfileCounts
from customer_etl.core.errors import ChunkMissingError
from customer_etl.core.manifest import STAGES, StageReport
from customer_etl.core.ports import CheckpointStore
from customer_etl.core.quality_totals import QualityTotals

CHUNK_LIST_DOCUMENT = "chunks.json"
"""The run's chunks as a JSON list of `{"chunk": n}`: what the state machine's Distributed
Map reads (ItemReader) to fan the chunks out."""


def chunk_name(stage: str, chunk: int) -> str:
    """The checkpoint (and quarantine) name of a chunk of a stage: `transform/chunk-00003`."""
    return f"{stage}/chunk-{chunk:05d}"


def report_name(stage: str, chunk: int) -> str:
    """Where a chunk's report of a stage lies among the run's documents."""
    return f"chunks/{stage}-{chunk:05d}.json"


def chunk_list(count: int) -> str:
    return json.dumps([{"chunk": chunk} for chunk in range(count)]) + "\n"


def previous_stage(stage: str) -> str:
    position = STAGES.index(stage)
    if position == 0:
        raise ValueError("extract reads the source file, not a chunk")
    return STAGES[position - 1]


def read_report(
    checkpoints: CheckpointStore, run_id: str, stage: str, chunk: int
) -> StageReport | None:
    text = checkpoints.get_document(run_id, report_name(stage, chunk))
    return StageReport.model_validate_json(text) if text is not None else None


def chunk_reports(
    checkpoints: CheckpointStore, run_id: str, stage: str, chunks: range
) -> list[StageReport]:
    """Every chunk's report of `stage`; ChunkMissingError naming the chunks without one."""
    reports = [read_report(checkpoints, run_id, stage, chunk) for chunk in chunks]
    missing = [chunk for chunk, report in zip(chunks, reports, strict=True) if report is None]
    if missing:
        shown = ", ".join(str(chunk) for chunk in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise ChunkMissingError(
            f"stage {stage} of run {run_id} has no result for {len(missing)} of "
            f"{len(chunks)} chunks ({shown}{more}): run them again (redrive the execution, "
            "or `customer-etl resume` locally)"
        )
    return [report for report in reports if report is not None]


def sum_reports(reports: Sequence[StageReport]) -> StageReport:
    """A stage's report from its chunks' reports: counts, reasons, counters and timings
    added up; the time span from the first start to the last finish; the highest peak
    memory; the chunks' folder as the checkpoint (and quarantine) URI."""
    if not reports:
        raise ValueError("a stage has at least one chunk")
    started = [r.started_at for r in reports if r.started_at is not None]
    finished = [r.finished_at for r in reports if r.finished_at is not None]
    if started and finished:
        duration = (max(finished) - min(started)).total_seconds()
    else:
        duration = sum(r.duration_seconds for r in reports)
    peaks = [r.peak_memory_mb for r in reports if r.peak_memory_mb is not None]
    qualities = [r.quality for r in reports if r.quality is not None]
    quarantines = [r.quarantine_uri for r in reports if r.quarantine_uri]
    apis: dict[str, list[ApiReport]] = {}
    for report in reports:
        for api, figures in report.apis.items():
            apis.setdefault(api, []).append(figures)
    profiles = [r.profile for r in reports if r.profile is not None]
    profile = None
    if profiles:
        profile = ProfileCounts()
        for counts in profiles:
            profile = profile.merged(counts)
    quality = None
    if qualities:
        quality = QualityTotals()
        for totals in qualities:
            quality = quality.merged(totals)
    return StageReport(
        rows_in=sum(r.rows_in for r in reports),
        rows_out=sum(r.rows_out for r in reports),
        rows_quarantined=sum(r.rows_quarantined for r in reports),
        duration_seconds=round(duration, 3),
        checkpoint_uri=_folder(reports[0].checkpoint_uri),
        quarantine_uri=_folder(quarantines[0]) if quarantines else None,
        chunks=sum(r.chunks for r in reports),
        reasons=dict(_summed(r.reasons for r in reports)),
        counters=dict(_summed(r.counters for r in reports)),
        apis={api: merge_api_reports(figures) for api, figures in apis.items()},
        quality=quality,
        profile=profile,
        started_at=min(started) if started else None,
        finished_at=max(finished) if finished else None,
        peak_memory_mb=max(peaks) if peaks else None,
        timings={
            name: round(seconds, 6)
            for name, seconds in _summed_floats(r.timings for r in reports).items()
        },
    )


def merge_api_reports(reports: Sequence[ApiReport]) -> ApiReport:
    """One API's figures over several chunks. Counts add up and the maximum latency is the
    highest; the median and 95th percentile are the chunks' weighted by their calls (an
    approximation: the chunks' own latencies are not kept)."""
    calls = sum(r.calls for r in reports)

    def weighted(values: Iterable[tuple[float, int]]) -> float:
        pairs = list(values)
        weight = sum(count for _, count in pairs)
        return round(sum(value * count for value, count in pairs) / weight, 3) if weight else 0.0

    return ApiReport(
        calls=calls,
        rows_per_call=weighted((r.rows_per_call, r.calls) for r in reports),
        cache_hits=sum(r.cache_hits for r in reports),
        latency_ms_p50=weighted((r.latency_ms_p50, r.calls) for r in reports),
        latency_ms_p95=weighted((r.latency_ms_p95, r.calls) for r in reports),
        latency_ms_max=max((r.latency_ms_max for r in reports), default=0.0),
        successes=sum(r.successes for r in reports),
        errors=dict(_summed(r.errors for r in reports)),
        retries=sum(r.retries for r in reports),
        breaker_state_changes=dict(_summed(r.breaker_state_changes for r in reports)),
        rows=sum(r.rows for r in reports),
        unknown_rows=sum(r.unknown_rows for r in reports),
        fallback_rows=sum(r.fallback_rows for r in reports),
        deferred_rows=sum(r.deferred_rows for r in reports),
    )


def _summed(counts: Iterable[dict[str, int]]) -> Counter[str]:
    total: Counter[str] = Counter()
    for each in counts:
        total.update(each)
    return total


def _summed_floats(values: Iterable[dict[str, float]]) -> dict[str, float]:
    total: dict[str, float] = {}
    for each in values:
        for name, value in each.items():
            total[name] = total.get(name, 0.0) + value
    return total


def _folder(uri: str) -> str:
    """The folder of a chunk's file: `.../transform/chunk-00000.parquet` -> `.../transform/`."""
    head, separator, _ = uri.rpartition("/")
    return f"{head}{separator}" if separator else uri
