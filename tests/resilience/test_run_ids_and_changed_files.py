"""Drills: a run id given twice, a file that changes while extract reads it, a runs folder
moved before its resume, and two runs of one file at once against one SQLite warehouse."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from customer_etl.run import pipeline
from customer_etl.runtime.cli import main
from customer_etl.stages import extract
from tests.resilience.local_runs import CUSTOMERS, REPO, Drill, drill, kill_group, rows, wait_for


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Drill]:
    with drill(tmp_path, rows_in=1200, chunk_rows=100) as prepared:
        yield prepared


def test_a_run_id_in_use_is_refused_with_one_line_and_the_earlier_run_is_untouched(
    run: Drill,
) -> None:
    first = run.run("run", str(run.source), "--run-id", "taken")
    assert first.returncode == 0, first.stderr
    before = rows(run.url, "select * from etl_runs"), run.warehouse()
    other = run.root / "other.csv"
    other.write_text(run.source.read_text().replace("CUST-", "OTHER-"))

    again = run.run("run", str(other), "--run-id", "taken")

    assert again.returncode == 2
    assert "Traceback" not in again.stderr
    assert "customer-etl resume taken" in again.stderr
    assert (rows(run.url, "select * from etl_runs"), run.warehouse()) == before


def test_a_file_that_changes_while_it_is_read_is_refused_and_nothing_is_loaded(
    run: Drill, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in run.env().items():
        monkeypatch.setenv(name, value)
    real = extract.read_chunks

    def truncated_after_the_first_chunk(*args: Any, **kwargs: Any) -> Iterator[Any]:
        for number, chunk in enumerate(real(*args, **kwargs)):
            if number == 0:  # another process rewrites the file under the run
                with run.source.open("r+") as handle:
                    handle.truncate(run.source.stat().st_size // 2)
            yield chunk

    monkeypatch.setattr(pipeline, "read_chunks", truncated_after_the_first_chunk)
    arguments = ["run", str(run.source), "--run-id", "changed", "--runs", str(run.runs)]
    code = main([*arguments, "--config", str(REPO / "config" / "local.yaml")])

    assert code == 1
    err = capsys.readouterr().err
    assert "changed while the run read it" in err and "Traceback" not in err
    assert rows(run.url, "select count(*) from customers") == [(0,)]
    assert rows(run.url, "select status from etl_runs") == [("failed",)]


def test_a_runs_folder_moved_elsewhere_is_still_resumed(run: Drill) -> None:
    clean = run.clean_warehouse()
    process = run.start("run", str(run.source), "--run-id", "moved")
    wait_for((run.runs / "moved" / "chunks", "enrich-00003.json"), process, 120)
    kill_group(process)
    moved = run.root / "elsewhere"
    shutil.move(run.runs, moved)
    run.runs = moved

    resumed = run.run("resume", "moved")

    assert resumed.returncode == 0, resumed.stderr
    assert run.warehouse() == clean


def test_two_runs_of_one_file_at_once_both_finish_and_load_it_once(run: Drill) -> None:
    clean = run.clean_warehouse()
    first = run.start("run", str(run.source), "--run-id", "first")
    second = run.start("run", str(run.source), "--run-id", "second")
    outcomes = [process.communicate(timeout=300) for process in (first, second)]

    assert [first.returncode, second.returncode] == [0, 0], outcomes
    assert rows(run.url, CUSTOMERS)[:0] == []  # readable
    assert run.warehouse()[0] == clean[0]
    assert rows(run.url, "select run_id, status from etl_runs order by run_id") == [
        ("first", "succeeded"),
        ("second", "succeeded"),
    ]
