"""`customer-etl quarantine`: list a run's quarantined records, export them for a steward
to correct, and replay the corrected file through the pipeline.

A replay is a run of its own (`<run id>.replay-<n>`, kind `replay` in `etl_runs`); the
original run's manifest and summary then show which of its quarantined records were
recovered. A record already recovered is skipped if it is replayed again, and the load
upserts on `customer_id`, so a replay never duplicates a customer.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pandas as pd

from customer_etl.adapters.parquet_crypto import LocalRunArtefacts
from customer_etl.adapters.private_files import private_file, private_folder
from customer_etl.core.context import SOURCE_ROW
from customer_etl.core.errors import CustomerEtlError, InputFileError
from customer_etl.core.manifest import RUN_ID_PATTERN, STAGES, ReplayReport, RunManifest
from customer_etl.core.schema import BUSINESS_KEY, CANONICAL_COLUMNS
from customer_etl.run.retention import new_run_id
from customer_etl.runtime.local_runner import LocalRunner
from customer_etl.stages.extract import RAW_RECORD, SOURCE_LINE
from customer_etl.stages.source_format import HEAD_BYTES, detect_encoding

EXPORT_COLUMNS: tuple[str, ...] = (
    "stage",
    SOURCE_ROW,
    SOURCE_LINE,
    "reason_codes",
    "rules",
    *CANONICAL_COLUMNS,
    RAW_RECORD,
)
# Spreadsheets run a cell starting with one of these as a formula (OWASP: CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NEUTRALISER = "'"
REPLAY_INPUT = "replay-input.csv"
DUPLICATE_CODE = f"duplicate_{BUSINESS_KEY}"


class QuarantineError(CustomerEtlError):
    """A quarantine command cannot do what was asked (no such run, unusable file)."""


def neutralise(values: pd.Series) -> pd.Series:
    """Cells a spreadsheet would run as a formula get a leading `'`, shown as text."""
    text = values.fillna("").astype(str)
    risky = text.str.startswith(_FORMULA_STARTS)
    return text.where(~risky, _NEUTRALISER + text)


def restore(values: pd.Series) -> pd.Series:
    """Undo `neutralise` (a steward's file comes back with the `'` still there)."""
    risky = values.str.startswith(tuple(_NEUTRALISER + s for s in _FORMULA_STARTS))
    return values.where(~risky, values.str[1:])


def quarantined_records(artefacts: LocalRunArtefacts, run_id: str) -> pd.DataFrame:
    """Every quarantined record of a run, stage by stage, in source order (decrypted with
    the run's key; files of runs made before encryption are read as they are)."""
    folder = artefacts.root / run_id / "quarantine"
    frames = [
        artefacts.read_frame(path) for stage in STAGES for path in _stage_files(folder, stage)
    ]
    if not frames:
        return pd.DataFrame(columns=list(EXPORT_COLUMNS))
    return pd.concat(frames, ignore_index=True).sort_values(SOURCE_ROW, kind="stable")


def _stage_files(folder: Path, stage: str) -> list[Path]:
    """A stage's quarantine files: one per chunk (`<stage>/chunk-00000.parquet`), or the one
    file of a run made before chunks were the unit of work (`<stage>.parquet`)."""
    legacy = folder / f"{stage}.parquet"
    return [legacy] if legacy.is_file() else sorted((folder / stage).glob("chunk-*.parquet"))


def describe(manifest: RunManifest) -> list[str]:
    """Lines saying what a run quarantined, where, why, and what was recovered (no values)."""
    recovered = len(manifest.recovered_source_rows)
    lines = [
        f"run {manifest.run_id}: {manifest.rows_quarantined} quarantined, {recovered} "
        f"recovered by {len(manifest.replays)} replay(s), "
        f"{manifest.rows_quarantined - recovered} still quarantined"
    ]
    for stage, report in manifest.stages.items():
        if not report.rows_quarantined:
            continue
        lines.append(f"  {stage}: {report.rows_quarantined} rows ({report.quarantine_uri})")
        lines += [f"    {code}: {count}" for code, count in sorted(report.reasons.items())]
    lines += [
        f"  replay {r.run_id}: {r.rows_replayed} replayed, {r.rows_recovered} recovered, "
        f"{r.rows_skipped} skipped"
        for r in manifest.replays
    ]
    return lines


def export(artefacts: LocalRunArtefacts, manifest: RunManifest, output: Path) -> int:
    """Write the run's still-quarantined records to `output` (CSV, UTF-8 with a byte-order
    mark so that spreadsheets show accents; owner-only, since it holds personal data in
    plaintext); returns how many."""
    records = quarantined_records(artefacts, manifest.run_id)
    records = records[~records[SOURCE_ROW].isin(manifest.recovered_source_rows)]
    table = pd.DataFrame({name: neutralise(records[name]) for name in EXPORT_COLUMNS})
    output.parent.mkdir(parents=True, exist_ok=True)
    _write_private_csv(table, output, encoding="utf-8-sig")
    return len(table)


def _write_private_csv(table: pd.DataFrame, path: Path, encoding: str) -> None:
    with os.fdopen(private_file(path), "w", encoding=encoding, newline="") as handle:
        table.to_csv(handle, index=False, quoting=csv.QUOTE_MINIMAL)


def replay(
    runner: LocalRunner, artefacts: LocalRunArtefacts, run_id: str, corrected: Path
) -> RunManifest:
    """Run the corrected records of `corrected` through the pipeline as a new run and record
    in run `run_id` which of its quarantined records that recovered."""
    original = runner.manifest(run_id)
    rows = _corrected_rows(corrected)
    records = quarantined_records(artefacts, run_id)
    pending = set(records[SOURCE_ROW].tolist()) - set(original.recovered_source_rows)
    todo = rows[rows[SOURCE_ROW].isin(pending) & ~_unchanged_duplicates(rows, records)]
    if todo.empty:
        raise QuarantineError(
            f"nothing to replay in {corrected.name}: its rows were recovered already or are "
            f"not quarantined records of run {run_id}"
        )
    replay_id = _replay_id(original)
    source = private_folder(artefacts.root / replay_id, base=artefacts.root) / REPLAY_INPUT
    _write_private_csv(todo.loc[:, list(CANONICAL_COLUMNS)], source, encoding="utf-8")
    result = runner.run(source, replay_id, replay_of=run_id)
    failed = set(quarantined_records(artefacts, replay_id)[SOURCE_ROW].tolist())
    # Row i of the replay input is the i-th record kept from the corrected file.
    recovered = [
        int(original_row)
        for position, original_row in enumerate(todo[SOURCE_ROW].tolist(), start=1)
        if position not in failed
    ]
    updated = original.model_copy(
        update={
            "replays": [
                *original.replays,
                ReplayReport(
                    run_id=replay_id,
                    rows_replayed=len(todo),
                    rows_recovered=len(recovered),
                    rows_skipped=len(rows) - len(todo),
                ),
            ],
            "recovered_source_rows": sorted({*original.recovered_source_rows, *recovered}),
        }
    )
    runner.save(updated)
    return result


def _unchanged_duplicates(rows: pd.DataFrame, records: pd.DataFrame) -> pd.Series:
    """Records quarantined as duplicates whose id the steward left as it was: replayed, they
    would replace the earlier record of that id (the load upserts on it), so they are
    skipped until given an id of their own."""
    duplicates = records[records["reason_codes"].str.contains(DUPLICATE_CODE, regex=False)]
    original_ids = dict(
        zip(duplicates[SOURCE_ROW], duplicates[BUSINESS_KEY].str.strip(), strict=True)
    )
    return rows[SOURCE_ROW].map(original_ids).eq(rows[BUSINESS_KEY].str.strip())


def _corrected_rows(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise QuarantineError(f"corrected file {path.name} not found: check the path")
    with path.open("rb") as handle:
        encoding = detect_encoding(path, handle.read(HEAD_BYTES))
    try:
        rows = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
        raise InputFileError(
            f"corrected file {path.name} is not a well-formed CSV: export it again and "
            "edit only the field cells"
        ) from None
    missing = [name for name in (SOURCE_ROW, *CANONICAL_COLUMNS) if name not in rows]
    if missing:
        raise QuarantineError(
            f"corrected file {path.name} lacks column(s) {', '.join(missing)}: start from "
            "`customer-etl quarantine export`"
        )
    rows = rows.apply(restore)
    numbers = pd.to_numeric(rows[SOURCE_ROW], errors="coerce")
    if numbers.isna().any():
        raise QuarantineError(f"corrected file {path.name} has rows without a source_row number")
    return rows.assign(**{SOURCE_ROW: numbers.astype("int64")})


def _replay_id(original: RunManifest) -> str:
    candidate = f"{original.run_id}.replay-{len(original.replays) + 1}"
    return candidate if RUN_ID_PATTERN.fullmatch(candidate) else f"replay-{new_run_id()}"
