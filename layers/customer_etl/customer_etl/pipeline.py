"""Run one stage of a run: read its input chunk by chunk, apply the stage, write its
checkpoint and quarantine, and record what happened in the manifest.

The local runner calls `run_stage` for each stage in turn; each Lambda handler calls it
for its own stage. Both therefore run the same code over the same ports.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from time import perf_counter

import pandas as pd
import pyarrow as pa

from customer_etl import checkpoint_schemas
from customer_etl.manifest import FileReport, RunManifest, StageReport
from customer_etl.observability import logger
from customer_etl.ports import (
    CheckpointStore,
    CheckpointWriter,
    InputStore,
    Notifier,
    QuarantineBatch,
    QuarantineSink,
    Warehouse,
)
from customer_etl.stages.context import ChunkOutcome, RunContext
from customer_etl.stages.enrich import EnrichmentSources, check_fallback_ceiling, enrich
from customer_etl.stages.extract import extract, inspect_file, read_chunks
from customer_etl.stages.load import load
from customer_etl.stages.mapping import SourceMapping
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
) -> RunManifest:
    """Run `stage` of the run described by `manifest` and return the updated manifest.

    Idempotent on (run id, stage): a stage the manifest shows as done is not run again, and
    running a stage again after a failure rewrites the same checkpoint.
    """
    if stage in manifest.stages:
        logger.info("stage already done", extra={"stage": stage, "run_id": manifest.run_id})
        return manifest
    started = perf_counter()
    context = RunContext(run_id=manifest.run_id, today=manifest.reference_date)
    updated = manifest.model_copy(deep=True)
    settings = settings or StageSettings()
    chunks = _input_chunks(stage, updated, ports, chunk_rows, settings)
    tally = _Tally(stage, manifest.run_id, ports)
    writer = ports.checkpoints.writer(manifest.run_id, stage, _OUTPUT_SCHEMAS[stage])
    if stage == "load":
        # One load unit for every chunk: rows the warehouse refuses come back through the
        # tally, so they are quarantined and counted like any other stage's.
        with ports.warehouse().loading(manifest.run_id) as unit:
            _drain(tally.stream(chunks, lambda chunk: load(chunk, unit), writer))
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
        },
    )
    return updated


def _input_chunks(
    stage: str, manifest: RunManifest, ports: Ports, chunk_rows: int, settings: StageSettings
) -> Iterator[pd.DataFrame]:
    if stage != "extract":
        return ports.checkpoints.read_chunks(manifest.input_of(stage), chunk_rows)
    path = ports.inputs.fetch(manifest.source_uri)
    facts = inspect_file(path, manifest.mapping, settings.encoding, settings.delimiter)
    manifest.file = FileReport(
        size_bytes=facts.size_bytes,
        encoding=facts.encoding,
        delimiter=facts.delimiter,
        columns_found=list(facts.columns_found),
        columns_missing=list(facts.header.columns_missing),
        columns_ignored=list(facts.columns_ignored),
        columns_dropped=list(facts.header.columns_dropped),
    )
    return read_chunks(path, chunk_rows, facts)


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
        return lambda chunk: transform(chunk, context, settings.rules)
    if stage == "enrich":
        return lambda chunk: enrich(chunk, context, ports.enrichment())
    raise ValueError(f"unknown stage {stage}")


def _drain(chunks: Iterator[pd.DataFrame]) -> None:
    for _ in chunks:
        pass


class _Tally:
    """Counts rows through a stage and writes its quarantine, created on the first bad row."""

    def __init__(self, stage: str, run_id: str, ports: Ports) -> None:
        self._stage = stage
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
