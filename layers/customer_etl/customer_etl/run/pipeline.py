"""Run a stage of a run: extract once over the file, the other stages once per chunk; write
each chunk's checkpoint, quarantine and report; and sum the chunks' reports into the manifest.

The chunk is the unit of work (run/chunks.py). `run_extract` reads the file once, checks and
classifies it, marks the records that repeat an earlier chunk's key, and writes numbered
chunks with their list. `run_chunk` runs transform, enrich or load on one chunk and is
idempotent on (run id, stage, chunk): a chunk with a report is not run again, and a chunk's
load is its own transaction, recorded in the warehouse with its rows. `complete_stage` sums a
stage's chunk reports into the manifest once every chunk has one.

The local runner calls these for each stage in turn (its worker processes run the chunks);
in the cloud, the extract function runs `run_extract`, the state machine's Distributed Maps
call `run_chunk` per chunk, and each stage function's last call is `complete_stage`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from time import perf_counter

import pandas as pd
import pyarrow as pa

from customer_etl.config.privacy import ClassificationSettings
from customer_etl.core.context import ChunkOutcome, RunContext
from customer_etl.core.errors import ChunkMissingError, InputChangedError
from customer_etl.core.manifest import FileReport, RunManifest, StageReport
from customer_etl.core.mapping import SourceMapping
from customer_etl.core.ports import (
    CheckpointStore,
    InputStore,
    LineageEmitter,
    LineageEvent,
    LineageEventKind,
    NoLineage,
    Notifier,
    QuarantineBatch,
    QuarantineSink,
    Warehouse,
)
from customer_etl.observability.peak_memory import PeakMemory
from customer_etl.observability.telemetry import logger, start_timings
from customer_etl.privacy.classification import classify, refuse_unexpected, roles_of
from customer_etl.privacy.envelope import FieldProtection
from customer_etl.quality.rules import RuleSet, UniqueRule, required_fields
from customer_etl.run import checkpoint_schemas
from customer_etl.run.chunks import (
    CHUNK_LIST_DOCUMENT,
    chunk_list,
    chunk_name,
    chunk_reports,
    previous_stage,
    read_report,
    report_name,
    sum_reports,
)
from customer_etl.run.source import content_sha256, source_identity
from customer_etl.stages.duplicates import REPEATED_KEYS, EarlierKeys
from customer_etl.stages.enrich import EnrichmentSources, check_fallback_ceiling, enrich
from customer_etl.stages.extract import FileFacts, RawSample, extract, inspect_file, read_chunks
from customer_etl.stages.load import load
from customer_etl.stages.settings import StageSettings
from customer_etl.stages.transform import transform


@dataclass(frozen=True)
class Ports:
    """The adapters a run uses. The warehouse is built on first use: only load needs it."""

    inputs: InputStore
    checkpoints: CheckpointStore
    quarantine: QuarantineSink
    warehouse: Callable[[], Warehouse]
    enrichment: Callable[[], EnrichmentSources]
    """The enrichment APIs, built on first use: only enrich needs them (and their secrets)."""
    notifier: Notifier
    protection: Callable[[], FieldProtection | None]
    """Field encryption and blind indexes for the load (None: values load in plaintext),
    built on first use: only load needs the key provider."""
    lineage: LineageEmitter = field(default_factory=NoLineage)
    """Where the run's and its stages' lineage events go (OpenLineage; best-effort)."""


CLASSIFICATION_DOCUMENT = "classification.json"
"""Personal-data classes of the source's columns and the review list (docs/data-protection.md)."""

_OUTPUT_SCHEMAS: dict[str, pa.Schema] = {
    "extract": checkpoint_schemas.RAW,
    "transform": checkpoint_schemas.CLEAN,
    "enrich": checkpoint_schemas.ENRICHED,
    "load": checkpoint_schemas.LOADED,
}


def run_stage(
    stage: str,
    manifest: RunManifest,
    ports: Ports,
    chunk_rows: int,
    settings: StageSettings | None = None,
    on_rows: Callable[[int], None] | None = None,
) -> RunManifest:
    """Run `stage` of the run described by `manifest`, every chunk in this process, and
    return the updated manifest; `on_rows` hears how many rows each chunk held.

    Idempotent on (run id, stage): a stage the manifest shows as done is not run again, nor
    is a chunk that has its report.
    """
    if stage in manifest.stages:
        logger.info("stage already done", extra={"stage": stage, "run_id": manifest.run_id})
        return manifest
    chosen = settings or StageSettings()

    def work() -> RunManifest:
        if stage == "extract":
            return run_extract(manifest, ports, chunk_rows, chosen, on_rows)
        logger.info("stage started", extra={"stage": stage, "run_id": manifest.run_id})
        for chunk in manifest.chunk_range():
            run_chunk(stage, manifest, chunk, ports, chosen, on_rows)
        return complete_stage(stage, manifest, ports)

    return with_lineage(stage, manifest, ports.lineage, work)


def with_lineage(
    stage: str, manifest: RunManifest, lineage: LineageEmitter, work: Callable[[], RunManifest]
) -> RunManifest:
    """Run `work` (the whole of a stage) between the stage's START and COMPLETE lineage
    events; FAIL (ABORT for Ctrl-C or SIGTERM) with the error's class if it raises."""
    lineage.emit(LineageEvent("START", stage, manifest))
    try:
        done = work()
    except BaseException as error:
        ended: LineageEventKind = "ABORT" if isinstance(error, KeyboardInterrupt) else "FAIL"
        lineage.emit(LineageEvent(ended, stage, manifest, type(error).__name__))
        raise
    lineage.emit(LineageEvent("COMPLETE", stage, done))
    return done


def complete_stage_with_lineage(stage: str, manifest: RunManifest, ports: Ports) -> RunManifest:
    """`complete_stage` where the stage's chunks ran elsewhere (the cloud's Distributed
    Map): its START is told once it is complete, at the time its first chunk started, then
    its COMPLETE; FAIL with the error's class when it cannot complete."""
    if stage in manifest.stages:
        return manifest
    try:
        done = complete_stage(stage, manifest, ports)
    except Exception as error:
        ports.lineage.emit(LineageEvent("FAIL", stage, manifest, type(error).__name__))
        raise
    started = done.stages[stage].started_at
    ports.lineage.emit(LineageEvent("START", stage, manifest, at=started))
    ports.lineage.emit(LineageEvent("COMPLETE", stage, done))
    return done


def run_extract(
    manifest: RunManifest,
    ports: Ports,
    chunk_rows: int,
    settings: StageSettings,
    on_rows: Callable[[int], None] | None = None,
) -> RunManifest:
    """Read the source once: check, classify, mark file-wide repeats of `unique` keys, and
    write numbered chunks of at most `chunk_rows` records with their reports and list."""
    if "extract" in manifest.stages:
        return manifest
    logger.info("stage started", extra={"stage": "extract", "run_id": manifest.run_id})
    updated = manifest.model_copy(deep=True)
    path, chunks = _source_chunks(updated, ports, chunk_rows, settings)
    earlier = EarlierKeys(unique_fields(settings.rules))
    reports: list[StageReport] = []
    for index, chunk in enumerate(chunks):
        measure = _Measure()
        context = RunContext(run_id=manifest.run_id, today=manifest.reference_date)
        outcome = extract(chunk, context, updated.mapping)
        passed = outcome.passed.assign(**{REPEATED_KEYS: earlier.mark(outcome.passed)})
        outcome = ChunkOutcome(passed=passed, quarantined=outcome.quarantined)
        report = _write_chunk("extract", index, len(chunk), outcome, context, ports, measure)
        reports.append(report)
        ports.checkpoints.put_document(
            manifest.run_id, report_name("extract", index), report.model_dump_json()
        )
        if on_rows is not None:
            on_rows(len(chunk))
    _check_unchanged(updated, path)
    ports.checkpoints.put_document(manifest.run_id, CHUNK_LIST_DOCUMENT, chunk_list(len(reports)))
    updated.chunks = len(reports)
    updated.stages["extract"] = sum_reports(reports)
    if updated.file is not None:
        updated.file.rows = updated.stages["extract"].rows_in
    _log_finished("extract", updated)
    return updated


def run_chunk(
    stage: str,
    manifest: RunManifest,
    chunk: int,
    ports: Ports,
    settings: StageSettings | None = None,
    on_rows: Callable[[int], None] | None = None,
) -> StageReport:
    """Run `stage` (transform, enrich or load) on one chunk and return its report. A chunk
    that has a report returns it at once; a chunk's load is one transaction, and a chunk the
    warehouse already holds (committed, its report lost) is not loaded again."""
    run_id = manifest.run_id
    done = read_report(ports.checkpoints, run_id, stage, chunk)
    if done is not None:
        return done
    before = read_report(ports.checkpoints, run_id, previous_stage(stage), chunk)
    if before is None:
        raise ChunkMissingError(
            f"chunk {chunk} of run {run_id} has no {previous_stage(stage)} result, which "
            f"{stage} needs: run the run's earlier stages again"
        )
    settings = settings or StageSettings()
    measure = _Measure()
    context = RunContext(run_id=run_id, today=manifest.reference_date)
    # A chunk's file holds at most `chunk_rows` rows: one frame.
    frames = list(ports.checkpoints.read_chunks(before.checkpoint_uri, max(before.rows_out, 1)))
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if stage == "load":
        report = _load_chunk(chunk, frame, context, ports, measure)
    else:
        outcome = _processor(stage, context, ports, settings, manifest.mapping)(frame)
        if stage == "enrich":
            # Judged per chunk, before its report: a redrive runs the chunk again.
            check_fallback_ceiling(context, ports.enrichment())
        report = _write_chunk(stage, chunk, len(frame), outcome, context, ports, measure)
    ports.checkpoints.put_document(run_id, report_name(stage, chunk), report.model_dump_json())
    if on_rows is not None:
        on_rows(len(frame))
    return report


def complete_stage(stage: str, manifest: RunManifest, ports: Ports) -> RunManifest:
    """The manifest with `stage` done: its chunks' reports summed. ChunkMissingError when
    a chunk has none (a failed chunk, or a Map item that came back empty)."""
    if stage in manifest.stages:
        return manifest
    reports = chunk_reports(ports.checkpoints, manifest.run_id, stage, manifest.chunk_range())
    updated = manifest.model_copy(deep=True)
    updated.stages[stage] = sum_reports(reports)
    _log_finished(stage, updated)
    return updated


def _load_chunk(
    chunk: int, frame: pd.DataFrame, context: RunContext, ports: Ports, measure: _Measure
) -> StageReport:
    protection = ports.protection()
    with ports.warehouse().loading(context.run_id, chunk) as unit:
        if unit.recorded_report is not None:
            # Committed before, its report document lost: the warehouse's record stands.
            logger.info("chunk already loaded", extra={"chunk": chunk, "run_id": context.run_id})
            return StageReport.model_validate_json(unit.recorded_report)
        # One data key per run, whatever the chunk count: the first chunk makes it.
        sealer = protection.sealer_for(unit) if protection else None
        outcome = load(frame, unit, sealer)
        context.counters.update(unit.action_counts())
        report = _write_chunk("load", chunk, len(frame), outcome, context, ports, measure)
        unit.record_chunk(report.model_dump_json())
    if unit.result is not None:
        report.counters.update(unit.result.database)
    return report


def _write_chunk(
    stage: str,
    chunk: int,
    rows_in: int,
    outcome: ChunkOutcome,
    context: RunContext,
    ports: Ports,
    measure: _Measure,
) -> StageReport:
    """Write a chunk's checkpoint, quarantine and scores; its report."""
    if outcome.rows_in != rows_in:
        raise AssertionError(f"stage {stage} lost rows of chunk {chunk}")
    run_id = context.run_id
    name = chunk_name(stage, chunk)
    writer = ports.checkpoints.writer(run_id, name, _OUTPUT_SCHEMAS[stage])
    writer.write(outcome.passed)
    checkpoint_uri = writer.close()
    quarantine = _quarantine(stage, name, run_id, outcome.quarantined, ports)
    if outcome.scores is not None:
        scores = ports.checkpoints.writer(
            run_id, chunk_name("scores", chunk), checkpoint_schemas.SCORES
        )
        scores.write(outcome.scores)
        scores.close()
    return StageReport(
        rows_in=rows_in,
        rows_out=len(outcome.passed),
        rows_quarantined=len(outcome.quarantined),
        duration_seconds=round(perf_counter() - measure.started, 3),
        checkpoint_uri=checkpoint_uri,
        quarantine_uri=quarantine.uri if quarantine else None,
        reasons=dict(quarantine.reasons) if quarantine else {},
        counters=dict(context.counters),
        apis={api: stats.report() for api, stats in context.api_stats.items()},
        # Transform scores the rules' dimensions; enrich, accuracy alone.
        quality=context.quality
        if outcome.scores is not None or context.quality.accuracy_records
        else None,
        profile=context.profile,
        started_at=measure.started_at,
        finished_at=datetime.now(UTC),
        peak_memory_mb=measure.memory.peak_mb(),
        timings=measure.timings.totals(),
    )


def _quarantine(
    stage: str, name: str, run_id: str, rows: pd.DataFrame, ports: Ports
) -> QuarantineBatch | None:
    """Write a chunk's quarantined rows (with their run, stage and reasons) and announce
    them; None when the chunk had none."""
    if not len(rows):
        return None
    reasons: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    for codes in rows["reason_codes"]:
        reasons.update(str(codes).split(";"))
    rows = rows.assign(run_id=run_id, stage=stage)
    for column in checkpoint_schemas.QUARANTINE.names:
        if column not in rows:
            rows[column] = None  # bookkeeping a stage has no use for (a line, a rule)
    for names in rows["rules"].dropna():
        rules.update(str(names).split(";"))
    writer = ports.quarantine.writer(run_id, name, checkpoint_schemas.QUARANTINE)
    writer.write(rows)
    batch = QuarantineBatch(
        uri=writer.close(), rows=len(rows), reasons=dict(reasons), rules=dict(rules)
    )
    ports.quarantine.announce(run_id, stage, batch)
    return batch


def _check_unchanged(manifest: RunManifest, path: Path) -> None:
    """Refuse a source that changed while extract read it (its size, time or inode)."""
    facts = manifest.file
    if facts is None or facts.modified_ns is None:
        return
    if source_identity(path) != (facts.size_bytes, facts.modified_ns, facts.inode):
        raise InputChangedError(
            f"input file {manifest.source_file} changed while the run read it: nothing of "
            "it was loaded; start a new run once the file is complete"
        )


def _log_finished(stage: str, manifest: RunManifest) -> None:
    report = manifest.stages[stage]
    logger.info(
        "stage finished",
        extra={
            "stage": stage,
            "run_id": manifest.run_id,
            "chunks": report.chunks,
            "rows_in": report.rows_in,
            "rows_out": report.rows_out,
            "rows_quarantined": report.rows_quarantined,
            "duration_seconds": report.duration_seconds,
            "peak_memory_mb": report.peak_memory_mb,
            "reasons": report.reasons,
        },
    )


class _Measure:
    """When a chunk's work started, its function timings and its peak memory."""

    def __init__(self) -> None:
        self.started = perf_counter()
        self.started_at = datetime.now(UTC)
        self.timings = start_timings()
        self.memory = PeakMemory()


def _source_chunks(
    manifest: RunManifest, ports: Ports, chunk_rows: int, settings: StageSettings
) -> tuple[Path, Iterator[pd.DataFrame]]:
    """The source's path and its records in chunks; the file's facts and identity are set
    on `manifest`. A file whose content is not the one a run's earlier attempt read is
    refused (InputChangedError)."""
    path = ports.inputs.fetch(manifest.source_uri, manifest.source_version)
    _, modified_ns, inode = source_identity(path)
    sha256 = content_sha256(path)
    if manifest.file is not None and manifest.file.sha256 not in (None, sha256):
        raise InputChangedError(
            f"input file {manifest.source_file} is not the file this run started on (its "
            "content changed): start a new run for it"
        )
    facts = inspect_file(
        path,
        manifest.mapping,
        settings.encoding,
        settings.delimiter,
        settings.max_columns,
        required_fields(settings.rules),
    )
    manifest.file = FileReport(
        size_bytes=facts.size_bytes,
        encoding=facts.encoding,
        delimiter=facts.delimiter,
        sha256=sha256,
        modified_ns=modified_ns,
        inode=inode,
        version=manifest.source_version,
        columns_found=list(facts.columns_found),
        columns_missing=list(facts.header.columns_missing),
        columns_ignored=list(facts.columns_ignored),
        columns_dropped=list(facts.header.columns_dropped),
    )
    limit = settings.max_field_bytes
    if not settings.classification.enabled:
        return path, read_chunks(path, chunk_rows, facts, max_field_bytes=limit)
    sample = RawSample(rows=settings.classification.sample_rows)
    chunks = read_chunks(path, chunk_rows, facts, sample, limit)
    publish = partial(ports.checkpoints.put_document, manifest.run_id, CLASSIFICATION_DOCUMENT)
    return path, _classified(chunks, sample, facts, manifest, settings.classification, publish)


def _classified(
    chunks: Iterator[pd.DataFrame],
    sample: RawSample,
    facts: FileFacts,
    manifest: RunManifest,
    settings: ClassificationSettings,
    publish: Callable[[str], str],
) -> Iterator[pd.DataFrame]:
    """Classify the raw sample that reading the first chunk fills, before that chunk goes
    on: a file with an unexpected personal-data column fails before any row is passed.
    The report (classes and counts, never values) is published beside the run's
    checkpoints first, so that a refused file has one too."""
    for chunk in chunks:
        if sample.frame is not None and manifest.classification is None:
            roles = roles_of(
                facts.columns_found, facts.columns_ignored, facts.header.columns_dropped
            )
            report = classify(
                sample.frame, roles, settings, manifest.reference_date, _targets(facts)
            )
            manifest.classification = report
            publish(report.model_dump_json(indent=2) + "\n")
            refuse_unexpected(report, manifest.source_file)
        yield chunk


def _targets(facts: FileFacts) -> dict[str, str]:
    """Each read header's canonical field (a combined field's every source column)."""
    header = facts.columns_found
    plan = facts.header
    targets = {header[index]: name for name, index in plan.positions.items()}
    for name, places in plan.alternates.items():
        targets.update({header[index]: name for index in places})
    return targets


def unique_fields(rules: RuleSet) -> tuple[str, ...]:
    """The fields a `unique` rule checks: what extract marks across chunks."""
    return tuple(rule.field for rule in rules.rules if isinstance(rule, UniqueRule))


def _processor(
    stage: str,
    context: RunContext,
    ports: Ports,
    settings: StageSettings,
    mapping: SourceMapping | None,
) -> Callable[[pd.DataFrame], ChunkOutcome]:
    if stage == "extract":
        return lambda chunk: extract(chunk, context, mapping)
    if stage == "transform":
        return lambda chunk: transform(chunk, context, settings.rules, settings.masking)
    if stage == "enrich":
        return lambda chunk: enrich(chunk, context, ports.enrichment())
    raise ValueError(f"unknown stage {stage}")
