"""Drill: a whole local run whose SQLite warehouse another writer holds locked through the
load. The run fails with one line saying the warehouse is locked (not "check it is up");
once the lock is released, `resume` finishes it and the warehouse equals a clean run's, row
for row, with no duplicate and rows in = loaded + quarantined."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from customer_etl.reference.sample import write_sample
from customer_etl.runtime.cli import main
from tests.e2e.local_workspace import console_said, console_warnings
from tests.fakes.postcodes_api import FakePostcodesApi, serve
from tests.resilience.local_runs import CHANGES, CUSTOMERS, migrated, rows

REPO = Path(__file__).resolve().parents[2]
ROWS = 200


def cli(*args: str) -> int:
    return main([*args, "--config", str(REPO / "config" / "local.yaml")])


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    with serve(FakePostcodesApi()) as api:
        monkeypatch.setenv("CUSTOMER_ETL__QUALITY__MAX_BAD_RATIO", "0.2")
        monkeypatch.setenv("CUSTOMER_ETL__ENRICHMENT__POSTCODES__BASE_URL", api.base_url)
        monkeypatch.setenv("CUSTOMER_ETL__ENRICHMENT__CACHE_PATH", str(tmp_path / "cache.db"))
        monkeypatch.setenv("CUSTOMER_ETL__OBSERVABILITY__LOG_DIR", str(tmp_path / "logs"))
        monkeypatch.setenv("CUSTOMER_ETL__WAREHOUSE__CONNECT_TIMEOUT_SECONDS", "1")
        monkeypatch.setenv("CUSTOMER_ETL__WAREHOUSE__CONNECT_ATTEMPTS", "1")
        yield api


def test_a_locked_warehouse_fails_the_run_saying_so_and_resume_finishes_it(
    tmp_path: Path,
    offline: Any,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source = tmp_path / "customers.csv"
    write_sample(source, rows=ROWS, seed=11, defect_rate=0.1)

    clean = migrated(tmp_path / "clean.db")
    monkeypatch.setenv("CUSTOMER_ETL__WAREHOUSE__URL", clean)
    assert cli("run", str(source), "--runs", str(tmp_path / "clean-runs")) == 0

    locked_file = tmp_path / "warehouse.db"
    url = migrated(locked_file)
    monkeypatch.setenv("CUSTOMER_ETL__WAREHOUSE__URL", url)
    runs = tmp_path / "runs"
    holder = sqlite3.connect(locked_file, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another writer, for the whole run
    try:
        capsys.readouterr()
        assert cli("run", str(source), "--run-id", "locked", "--runs", str(runs)) == 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    err = capsys.readouterr().err
    [said] = console_said(err)
    # The lock was on the console when the run started, before the load met it.
    assert any("warehouse locked by another writer" in line for line in console_warnings(err))
    assert "is locked by another connection" in said
    assert "check it is up" not in said
    manifest = json.loads((runs / "locked" / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert "load" not in manifest["stages"]
    assert rows(url, "select count(*) from customers") == [(0,)]

    assert cli("resume", "locked", "--runs", str(runs)) == 0
    assert rows(url, CUSTOMERS) == rows(clean, CUSTOMERS)
    assert rows(url, CHANGES) == rows(clean, CHANGES)
    assert rows(url, "select count(*) - count(distinct customer_id) from customers") == [(0,)]
    [(status, rows_in, loaded, quarantined)] = rows(
        url, "select status, rows_in, rows_loaded, rows_quarantined from etl_runs"
    )
    assert (status, rows_in) == ("succeeded", ROWS)
    assert rows_in == loaded + quarantined
