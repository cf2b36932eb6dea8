"""The chunk as the unit of work: a file split into many chunks loads exactly as one chunk
does, a chunk loaded twice changes nothing, and a run keeps one data key."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from customer_etl.config import load_config
from customer_etl.core.manifest import RunManifest
from customer_etl.reference.sample import Sample, write_sample
from customer_etl.run.pipeline import run_chunk
from customer_etl.runtime.factory import local_ports
from tests.e2e.local_workspace import REPO, Workspace, read_run_parquet

ROWS = 600
CHUNK_ROWS = 70  # 9 chunks, the last one short


@pytest.fixture
def sample(tmp_path: Path) -> tuple[Path, Sample]:
    path = tmp_path / "customers.csv"
    generated = write_sample(path, rows=ROWS, seed=11, defect_rate=0.1)
    # Repeats of customer ids far apart, in other chunks than their first occurrence.
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    ids = frame["customer_id"].to_numpy(copy=True)
    ids[ROWS - 5], ids[ROWS - 80] = ids[3], ids[150]
    frame["customer_id"] = ids
    frame.to_csv(path, index=False)
    return path, generated


def warehouse_state(workspace: Workspace) -> tuple[list[tuple[object, ...]], ...]:
    customers = workspace.query(
        "select customer_id, content_hash, region, enrichment_source from customers "
        "order by customer_id"
    )
    changes = workspace.query(
        "select customer_id, action, after_hash from customer_changes order by customer_id"
    )
    return customers, changes


def quarantined(folder: Path) -> list[tuple[int, str]]:
    frame = read_run_parquet(folder.parent, folder / "quarantine")
    return sorted(zip(frame["source_row"], frame["reason_codes"], strict=True))


def test_many_chunks_load_and_quarantine_exactly_what_one_chunk_does(
    workspace: Workspace, sample: tuple[Path, Sample], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = sample
    assert workspace.pipeline(path, "--run-id", "whole") == 0
    whole = warehouse_state(workspace)
    whole_quarantine = quarantined(workspace.runs / "whole")

    (Path(workspace.warehouse_url.removeprefix("sqlite:///"))).unlink()
    monkeypatch.setenv("CUSTOMER_ETL__PIPELINE__CHUNK_ROWS", str(CHUNK_ROWS))
    assert workspace.pipeline(path, "--run-id", "chunked") == 0
    folder = workspace.runs / "chunked"

    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["chunks"] == 9
    assert json.loads((folder / "chunks.json").read_text()) == [{"chunk": n} for n in range(9)]
    for stage in ("extract", "transform", "enrich", "load"):
        report = manifest["stages"][stage]
        assert report["chunks"] == 9
        assert len(list((folder / stage).glob("chunk-*.parquet"))) == 9
    assert manifest["stages"]["extract"]["rows_in"] == ROWS
    assert warehouse_state(workspace)[0] == whole[0]
    assert [row[:2] for row in warehouse_state(workspace)[1]] == [row[:2] for row in whole[1]]
    assert quarantined(folder) == whole_quarantine
    reasons = dict(whole_quarantine)
    # The repeats of ids first seen in other chunks are quarantined as duplicates.
    assert "duplicate_customer_id" in reasons[ROWS - 4]
    assert "duplicate_customer_id" in reasons[ROWS - 79]
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["reconciled"] is True


def test_a_chunk_loaded_again_changes_nothing_and_writes_no_second_audit_row(
    workspace: Workspace, sample: tuple[Path, Sample], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = sample
    monkeypatch.setenv("CUSTOMER_ETL__PIPELINE__CHUNK_ROWS", str(CHUNK_ROWS))
    assert workspace.pipeline(path, "--run-id", "twice") == 0
    before = warehouse_state(workspace)
    folder = workspace.runs / "twice"
    report_file = folder / "chunks" / "load-00004.json"
    first_report = json.loads(report_file.read_text())
    # The chunk's report is lost after its commit (a crash at the worst moment).
    report_file.unlink()

    monkeypatch.setenv("CUSTOMER_ETL__PIPELINE__OUTPUT_DIR", str(workspace.runs))
    config = load_config("local", REPO / "config" / "local.yaml")
    manifest = RunManifest.model_validate_json((folder / "manifest.json").read_text())
    again = run_chunk("load", manifest, 4, local_ports(config))

    assert warehouse_state(workspace) == before
    assert (again.rows_in, again.rows_out) == (first_report["rows_in"], first_report["rows_out"])
    assert again.counters["inserted"] == first_report["counters"]["inserted"]
    assert json.loads(report_file.read_text())["rows_out"] == first_report["rows_out"]
    [(chunks,)] = workspace.query("select count(*) from etl_chunk_loads where run_id = 'twice'")
    assert chunks == 9


def test_a_run_of_many_chunks_keeps_one_data_key(
    workspace: Workspace, sample: tuple[Path, Sample], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = sample
    monkeypatch.setenv("CUSTOMER_ETL__PIPELINE__CHUNK_ROWS", str(CHUNK_ROWS))
    monkeypatch.setenv("CUSTOMER_ETL__ENCRYPTION__KEY_FILE", str(workspace.root / "keys.json"))
    assert workspace.pipeline(path, "--run-id", "keyed") == 0
    assert workspace.query("select count(*) from data_keys where run_id = 'keyed'") == [(1,)]
    [(tokens,)] = workspace.query(
        "select count(distinct substr(email, 1, 22)) from customers where email like 'enc1:%'"
    )
    assert tokens == 1
