"""Local run artefacts are protected like the warehouse: owner-only folders and files, and
checkpoint, quarantine and score Parquet encrypted at rest under a key of the run; a run
made before (plaintext files, no run key) still resumes."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from customer_etl.adapters.parquet_crypto import ARTEFACT_KEY_FILE, is_encrypted
from customer_etl.reference.sample import Sample, write_sample
from tests.e2e.local_workspace import (
    Workspace,
    read_run_parquet,
    warehouse_taken_after_enrich,
)

ROWS = 300


@pytest.fixture
def sample(tmp_path: Path) -> tuple[Path, Sample]:
    path = tmp_path / "customers.csv"
    return path, write_sample(path, rows=ROWS, seed=11, defect_rate=0.1)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def personal_values(generated: Sample) -> set[bytes]:
    """Values of the input that would show in a plaintext Parquet file (long enough not to
    turn up by chance in compressed or encrypted bytes)."""
    frame = generated.frame
    values = pd.concat([frame[c] for c in ("email", "phone", "last_name", "postcode")])
    return {value.encode() for value in values if len(value) >= 6}


def test_run_folders_are_owner_only_and_every_parquet_file_is_ciphertext(
    workspace: Workspace, sample: tuple[Path, Sample], log_dir: Path
) -> None:
    path, generated = sample
    assert workspace.pipeline(path, "--run-id", "guarded") == 0
    folder = workspace.runs / "guarded"

    assert mode(workspace.runs) == 0o700
    folders = [folder, *(p for p in folder.rglob("*") if p.is_dir())]
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {
        "manifest.json",
        "summary.json",
        "report.html",
        "classification.json",
        ARTEFACT_KEY_FILE,
    }
    assert {p.relative_to(folder).as_posix() for p in folders} >= {
        ".",
        "extract",
        "quarantine/transform",
        "scores",
        "chunks",
    }
    assert {p.relative_to(workspace.runs).as_posix(): mode(p) for p in folders} == {
        p.relative_to(workspace.runs).as_posix(): 0o700 for p in folders
    }
    assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
    logs = list(log_dir.glob("guarded-*.jsonl"))
    assert logs and all(mode(p) == 0o600 for p in logs) and mode(log_dir) == 0o700

    parquet = sorted(folder.rglob("*.parquet"))
    assert {p.parent.name for p in parquet} >= {"extract", "transform", "enrich", "load"}
    assert {"quarantine", "scores"} <= {p.parts[len(folder.parts)] for p in parquet}
    secrets = personal_values(generated)
    for file in parquet:
        raw = file.read_bytes()
        assert is_encrypted(file), file
        assert not [value for value in secrets if value in raw], file
        assert b"email" not in raw, "the footer (column names) is encrypted too"
        with pytest.raises(OSError, match="encrypted"):
            pq.ParquetFile(file)
    # Through the run's key, the same files hold the input's values.
    extracted = read_run_parquet(workspace.runs, folder / "extract")
    assert sorted(extracted["email"]) == sorted(generated.frame["email"])
    quarantined = read_run_parquet(workspace.runs, folder / "quarantine")
    assert len(quarantined) == len(generated.defects)


def test_an_earlier_runs_folder_is_tightened_when_the_pipeline_writes_into_it(
    workspace: Workspace, sample: tuple[Path, Sample], tmp_path: Path
) -> None:
    path, _ = sample
    state = tmp_path / ".etl"
    runs = state / "runs"
    (runs / "older").mkdir(parents=True, mode=0o755)
    for folder in (state, runs, runs / "older"):
        folder.chmod(0o755)
    assert workspace.run("run", str(path), "--runs", str(runs), "--run-id", "later") == 0
    assert (mode(state), mode(runs), mode(runs / "later")) == (0o700, 0o700, 0o700)


def plaintext_copy(runs: Path, folder: Path) -> None:
    """Rewrite every Parquet file of a run in plaintext and drop its key: the run as the
    version before encryption left it."""
    for file in folder.rglob("*.parquet"):
        table = pa.Table.from_pandas(read_run_parquet(runs, file), preserve_index=False)
        pq.write_table(table, file)
    (folder / ARTEFACT_KEY_FILE).unlink()


def test_a_run_with_plaintext_checkpoints_from_before_still_resumes_and_exports(
    workspace: Workspace,
    sample: tuple[Path, Sample],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path, generated = sample
    with warehouse_taken_after_enrich(workspace.root / "warehouse.db", monkeypatch):
        assert workspace.pipeline(path, "--run-id", "before") == 1
    folder = workspace.runs / "before"
    plaintext_copy(workspace.runs, folder)
    assert not any(is_encrypted(p) for p in folder.rglob("*.parquet"))

    assert workspace.resume("before") == 0

    loaded = ROWS - len(generated.defects)
    assert workspace.query("select count(*) from customers") == [(loaded,)]
    assert not is_encrypted(folder / "enrich" / "chunk-00000.parquet")  # left as it was
    assert is_encrypted(folder / "load" / "chunk-00000.parquet")  # written since: encrypted
    assert (folder / ARTEFACT_KEY_FILE).is_file()

    export = workspace.root / "fix.csv"
    assert (
        workspace.run(
            "quarantine", "export", "before", "--output", str(export), "--runs", str(workspace.runs)
        )
        == 0
    )
    rows = pd.read_csv(export, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert len(rows) == len(generated.defects)
    assert mode(export) == 0o600, "the export holds personal data in plaintext"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "succeeded"


def test_a_run_whose_key_is_deleted_cannot_be_read(
    workspace: Workspace, sample: tuple[Path, Sample]
) -> None:
    """Crypto-shredding: without `artefact-key.json` no file of the run opens."""
    path, _ = sample
    assert workspace.pipeline(path, "--run-id", "shredded") == 0
    folder = workspace.runs / "shredded"
    (folder / ARTEFACT_KEY_FILE).unlink()
    with pytest.raises(match=ARTEFACT_KEY_FILE):
        read_run_parquet(workspace.runs, folder / "extract")
