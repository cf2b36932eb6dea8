"""Drills: a local run killed (SIGKILL) in each stage, or stopped by Ctrl-C (SIGINT) or
SIGTERM, then resumed. Each ends with the warehouse equal to a clean run's, row for row, no
duplicate, and the run's `etl_runs` row `succeeded`; a killed run leaves its `running` row,
an interrupted one says `interrupted`, with one line and no traceback."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.resilience.local_runs import (
    Drill,
    drill,
    kill_group,
    rows,
    signal_group,
    wait_for,
)

RUN = "drill"
Warehouse = tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Drill]:
    with drill(tmp_path) as prepared:
        yield prepared


def assert_recovered(run: Drill, clean: Warehouse) -> float:
    started = time.monotonic()
    resumed = run.run("resume", RUN)
    elapsed = time.monotonic() - started
    assert resumed.returncode == 0, resumed.stderr
    assert run.warehouse() == clean
    [(status, rows_in, loaded, quarantined, attempts)] = rows(
        run.url,
        "select status, rows_in, rows_loaded, rows_quarantined, attempts from etl_runs",
    )
    assert (status, rows_in, attempts) == ("succeeded", 3000, 2)
    assert loaded + quarantined == rows_in
    summary = json.loads((run.runs / RUN / "summary.json").read_text())
    assert summary["reconciled"] is True
    return elapsed


@pytest.mark.parametrize("stage", ["extract", "transform", "enrich", "load"])
def test_a_run_killed_in_any_stage_leaves_its_row_and_resume_finishes_it(
    run: Drill, stage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    clean = run.clean_warehouse()
    process = run.start("run", str(run.source), "--run-id", RUN)
    # The third chunk of the stage done: killed in the middle of it.
    wait_for((run.runs / RUN / "chunks", f"{stage}-00002.json"), process, 120)
    kill_group(process)
    assert rows(run.url, "select status from etl_runs") == [("running",)]

    elapsed = assert_recovered(run, clean)
    with capsys.disabled():
        print(f"\nrecovery after SIGKILL in {stage}: resume took {elapsed:.2f} s")


@pytest.mark.parametrize(
    ("signum", "said"), [(signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "Ctrl-C")]
)
def test_a_run_stopped_by_a_signal_ends_interrupted_and_resume_finishes_it(
    run: Drill, signum: int, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    clean = run.clean_warehouse()
    process = run.start("run", str(run.source), "--run-id", RUN)
    wait_for((run.runs / RUN / "chunks", "transform-00002.json"), process, 120)
    signal_group(process, signum)
    _, stderr = process.communicate(timeout=120)

    assert process.returncode == 130
    assert "Traceback" not in stderr
    [line] = [text for text in stderr.splitlines() if text.startswith("customer-etl:")]
    assert f"interrupted by {said}" in line and f"customer-etl resume {RUN}" in line
    manifest = json.loads((run.runs / RUN / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert rows(run.url, "select status from etl_runs") == [("interrupted",)]

    elapsed = assert_recovered(run, clean)
    with capsys.disabled():
        print(f"\nrecovery after {said}: resume took {elapsed:.2f} s")
