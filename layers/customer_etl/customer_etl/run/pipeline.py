"""Run one stage of a run: read its input chunk by chunk, apply the stage, write its
checkpoint and quarantine, and record what happened in the manifest.

The local runner calls `run_stage` for each stage in turn; each Lambda handler calls it
for its own stage. Both therefore run the same code over the same ports.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from time import perf_counter

import pandas as pd
import pyarrow as pa

from customer_etl.config.privacy import ClassificationSettings
from customer_etl.core.context import ChunkOutcome, RunContext
from customer_etl.core.manifest import FileReport, RunManifest, StageReport
from customer_etl.core.mapping import SourceMapping
from customer_etl.core.ports import (
    CheckpointStore,
    CheckpointWriter,
    InputStore,
    Notifier,
    QuarantineBatch,
    QuarantineSink,
    Warehouse,
)
from customer_etl.observability.peak_memory import PeakMemory
from customer_etl.observability.telemetry import logger, start_timings
from customer_etl.privacy.classification import classify, refuse_unexpected, roles_of
from customer_etl.privacy.envelope import FieldProtection
from customer_etl.run import checkpoint_schemas
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
    """Run `stage` of the run described by `manifest` and return the updated manifest;
    `on_rows` hears how many rows each chunk held (a progress bar).

    Idempotent on (run id, stage): a stage the manifest shows as done is not run again, and
    running a stage again after a failure rewrites the same checkpoint.
    """
    if stage in manifest.stages:
        logger.info("stage already done", extra={"stage": stage, "run_id": manifest.run_id})
        return manifest
    logger.info("stage started", extra={"stage": stage, "run_id": manifest.run_id})
    started, started_at = perf_counter(), datetime.now(UTC)
    timings, memory = start_timings(), PeakMemory()
    context = RunContext(run_id=manifest.run_id, today=manifest.reference_date)
    updated = manifest.model_copy(deep=True)
    settings = settings or StageSettings()
    chunks = _input_chunks(stage, updated, ports, chunk_rows, settings)
    tally = _Tally(stage, manifest.run_id, ports, on_rows)
    writer = ports.checkpoints.writer(manifest.run_id, stage, _OUTPUT_SCHEMAS[stage])
    if stage == "load":
        # One load unit for every chunk: rows the warehouse refuses come back through the
        # tally, so they are quarantined and counted like any other stage's.
        protection = ports.protection()
        with ports.warehouse().loading(manifest.run_id) as unit:
            # One data key per run, whatever the row count: one key-provider call.
            sealer = protection.start_run(unit.store_data_key) if protection else None
            _drain(tally.stream(chunks, lambda chunk: load(chunk, unit, sealer), writer))
        if unit.result is not None:
            context.counters.update(unit.result.counters())
    else:
        process = _processor(stage, context, ports, settings, updated.mapping)
        _drain(tally.stream(chunks, process, writer))
    if stage == "enrich":
        check_fallback_ceiling(context, ports.enrichment())
    checkpoint_uri = writer.close()
    quarantine = tally.close()
    updated.stages[stage] = StageReport(
        rows_in=tally.rows_in,
        rows_out=tally.rows_out,
        rows_quarantined=tally.rows_quarantined,
        duration_seconds=round(perf_counter() - started, 3),
        checkpoint_uri=checkpoint_uri,
        quarantine_uri=quarantine.uri if quarantine else None,
        reasons=dict(quarantine.reasons) if quarantine else {},
        counters=dict(context.counters),
        apis={api: stats.report() for api, stats in context.api_stats.items()},
        quality=context.quality if tally.scored else None,
        started_at=started_at,
        finished_at=datetime.now(UTC),
        peak_memory_mb=memory.peak_mb(),
        timings=timings.totals(),
    )
    if stage == "extract" and updated.file is not None:
        updated.file.rows = tally.rows_in
    report = updated.stages[stage]
    logger.info(
        "stage finished",
        extra={
            "stage": stage,
            "run_id": manifest.run_id,
            "rows_in": report.rows_in,
            "rows_out": report.rows_out,
            "rows_quarantined": report.rows_quarantined,
            "duration_seconds": report.duration_seconds,
            "peak_memory_mb": report.peak_memory_mb,
            "reasons": report.reasons,
        },
    )
    return updated


def _input_chunks(
    stage: str, manifest: RunManifest, ports: Ports, chunk_rows: int, settings: StageSettings
) -> Iterator[pd.DataFrame]:
    if stage != "extract":
        return ports.checkpoints.read_chunks(manifest.input_of(stage), chunk_rows)
    path = ports.inputs.fetch(manifest.source_uri)
    facts = inspect_file(
        path, manifest.mapping, settings.encoding, settings.delimiter, settings.max_columns
    )
    manifest.file = FileReport(
        size_bytes=facts.size_bytes,
        encoding=facts.encoding,
        delimiter=facts.delimiter,
        columns_found=list(facts.columns_found),
        columns_missing=list(facts.header.columns_missing),
        columns_ignored=list(facts.columns_ignored),
        columns_dropped=list(facts.header.columns_dropped),
    )
    if not settings.classification.enabled:
        return read_chunks(path, chunk_rows, facts)
    sample = RawSample(rows=settings.classification.sample_rows)
    chunks = read_chunks(path, chunk_rows, facts, sample)
    publish = partial(ports.checkpoints.put_document, manifest.run_id, CLASSIFICATION_DOCUMENT)
    return _classified(chunks, sample, facts, manifest, settings.classification, publish)


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
            report = classify(sample.frame, roles, settings, manifest.reference_date)
            manifest.classification = report
            publish(report.model_dump_json(indent=2) + "\n")
            refuse_unexpected(report, manifest.source_file)
        yield chunk


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


def _drain(chunks: Iterator[pd.DataFrame]) -> None:
    for _ in chunks:
        pass


class _Tally:
    """Counts rows through a stage and writes its quarantine, created on the first bad row."""

    def __init__(
        self, stage: str, run_id: str, ports: Ports, on_rows: Callable[[int], None] | None
    ) -> None:
        self._stage = stage
        self._on_rows = on_rows
        self._run_id = run_id
        self._sink = ports.quarantine
        self._checkpoints = ports.checkpoints
        self._quarantine: CheckpointWriter | None = None
        self._scores: CheckpointWriter | None = None
        self._reasons: Counter[str] = Counter()
        self._rules: Counter[str] = Counter()
        self.rows_in = 0
        self.rows_out = 0
        self.rows_quarantined = 0

    def stream(
        self,
        chunks: Iterable[pd.DataFrame],
        process: Callable[[pd.DataFrame], ChunkOutcome],
        writer: CheckpointWriter,
    ) -> Iterator[pd.DataFrame]:
        for chunk in chunks:
            outcome = process(chunk)
            if outcome.rows_in != len(chunk):
                raise AssertionError(f"stage {self._stage} lost rows of a chunk")
            self.rows_in += len(chunk)
            self.rows_out += len(outcome.passed)
            if len(outcome.quarantined):
                self._quarantine_rows(outcome.quarantined)
            if outcome.scores is not None:
                self._score_rows(outcome.scores)
            writer.write(outcome.passed)
            if self._on_rows is not None:
                self._on_rows(len(chunk))
            yield outcome.passed

    def _quarantine_rows(self, rows: pd.DataFrame) -> None:
        if self._quarantine is None:
            self._quarantine = self._sink.writer(
                self._run_id, self._stage, checkpoint_schemas.QUARANTINE
            )
        self.rows_quarantined += len(rows)
        for codes in rows["reason_codes"]:
            self._reasons.update(str(codes).split(";"))
        rows = rows.assign(run_id=self._run_id, stage=self._stage)
        for name in checkpoint_schemas.QUARANTINE.names:
            if name not in rows:
                rows[name] = None  # bookkeeping a stage has no use for (a line, a rule)
        for names in rows["rules"].dropna():
            self._rules.update(str(names).split(";"))
        self._quarantine.write(rows)

    @property
    def scored(self) -> bool:
        return self._scores is not None

    def _score_rows(self, scores: pd.DataFrame) -> None:
        if self._scores is None:
            self._scores = self._checkpoints.writer(
                self._run_id, "scores", checkpoint_schemas.SCORES
            )
        self._scores.write(scores)

    def close(self) -> QuarantineBatch | None:
        if self._scores is not None:
            self._scores.close()
        if self._quarantine is None:
            return None
        batch = QuarantineBatch(
            uri=self._quarantine.close(),
            rows=self.rows_quarantined,
            reasons=dict(self._reasons),
            rules=dict(self._rules),
        )
        self._sink.announce(self._run_id, self._stage, batch)
        return batch
