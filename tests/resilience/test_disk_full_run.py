"""Drill: the runs folder's disk fills during a whole local run, at the first checkpoint
transform writes; from then on every write under the runs folder fails with ENOSPC, as on
a full filesystem (driven at the two write boundaries, `Path.write_text` and pyarrow's
`ParquetWriter`). What holds: one line saying the disk is full and where (exit 1), no
traceback, no `.partial` file, nothing loaded, and once space is freed `resume` finishes the
run, and the failed run still gets its `etl_runs` row and its one alert: the failure path
records and alerts before it tries to write its own manifest."""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from sqlalchemy import create_engine, text

from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.reference.sample import write_sample
from customer_etl.runtime.cli import main
from tests.e2e.local_workspace import console_said
from tests.fakes.postcodes_api import FakePostcodesApi, serve

REPO = Path(__file__).resolve().parents[2]


@contextmanager
def disk_full_from(trigger: str, root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The filesystem of `root`: fine until a file is first written in a folder named
    `trigger` (a stage's chunks), full after it."""
    state = {"full": False}
    real_write_text, real_writer_init = Path.write_text, pq.ParquetWriter.__init__

    def refuse(path: Any) -> None:
        target = Path(str(path))
        state["full"] = state["full"] or target.parent.name == trigger
        if state["full"] and target.is_relative_to(root):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def write_text(self: Path, *args: Any, **kwargs: Any) -> int:
        refuse(self)
        return real_write_text(self, *args, **kwargs)

    def writer_init(self: pq.ParquetWriter, where: Any, *args: Any, **kwargs: Any) -> None:
        refuse(where)
        real_writer_init(self, where, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(Path, "write_text", write_text)
        patch.setattr(pq.ParquetWriter, "__init__", writer_init)
        yield


@dataclass
class Outcome:
    code: int
    stderr: str
    warehouse_url: str
    runs: Path
    alerts: int

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        engine = create_engine(self.warehouse_url)
        try:
            with engine.connect() as connection:
                return [tuple(row) for row in connection.execute(text(sql))]
        finally:
            engine.dispose()


@pytest.fixture
def outcome(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> Iterator[Outcome]:
    source = tmp_path / "customers.csv"
    write_sample(source, rows=100, seed=3, defect_rate=0.0)
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    migrated = SqlWarehouse(url)
    migrated.upgrade()
    migrated.dispose()
    runs = tmp_path / "runs"
    with serve(FakePostcodesApi()) as api:
        monkeypatch.setenv("CUSTOMER_ETL__WAREHOUSE__URL", url)
        monkeypatch.setenv("CUSTOMER_ETL__ENRICHMENT__POSTCODES__BASE_URL", api.base_url)
        monkeypatch.setenv("CUSTOMER_ETL__ENRICHMENT__CACHE_PATH", str(tmp_path / "cache.db"))
        monkeypatch.setenv("CUSTOMER_ETL__OBSERVABILITY__LOG_DIR", str(tmp_path / "logs"))
        arguments = ["run", str(source), "--run-id", "full", "--runs", str(runs)]
        capsys.readouterr()
        with caplog.at_level(logging.WARNING), disk_full_from("transform", runs, monkeypatch):
            code = main([*arguments, "--config", str(REPO / "config" / "local.yaml")])
        alerts = sum(1 for record in caplog.records if record.getMessage() == "alert")
        yield Outcome(code, capsys.readouterr().err, url, runs, alerts)


def test_the_run_stops_with_one_line_saying_the_disk_is_full_and_leaves_no_partial(
    outcome: Outcome,
) -> None:
    assert outcome.code == 1
    [said] = console_said(outcome.stderr)  # the failure's line, beside any warnings
    assert "the disk is full (ENOSPC)" in said
    assert f"free space on the filesystem holding {outcome.runs / 'full'}" in said
    assert "Traceback" not in outcome.stderr
    assert sorted(outcome.runs.rglob("*.partial")) == []
    assert list((outcome.runs / "full" / "transform").glob("*.parquet")) == []
    # Written before it filled.
    assert (outcome.runs / "full" / "extract" / "chunk-00000.parquet").exists()
    assert outcome.query("select count(*) from customers") == [(0,)]


def test_once_space_is_freed_resume_finishes_the_run(outcome: Outcome) -> None:
    resumed = ["resume", "full", "--runs", str(outcome.runs)]
    assert main([*resumed, "--config", str(REPO / "config" / "local.yaml")]) == 0
    assert outcome.query("select count(*), count(distinct customer_id) from customers") == [
        (100, 100)
    ]
    assert outcome.query("select status, rows_in, rows_loaded from etl_runs") == [
        ("succeeded", 100, 100)
    ]
    assert sorted(outcome.runs.rglob("*.partial")) == []


def test_the_failed_run_is_still_recorded_and_alerted(outcome: Outcome) -> None:
    assert outcome.query("select run_id, status from etl_runs") == [("full", "failed")]
    assert outcome.alerts == 1
