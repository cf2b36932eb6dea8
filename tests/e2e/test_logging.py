"""What a local run leaves for operators to read: its JSON-lines log file, the timings and
memory of every stage in its summary, and one console line per stage."""

from __future__ import annotations

import io
import json
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from customer_etl.core.manifest import STAGES, StageReport
from customer_etl.reference.sample import Sample
from customer_etl.runtime.console import Console
from tests.e2e import test_local_run
from tests.e2e.local_workspace import Workspace
from tests.e2e.run_logs import run_log_files, run_log_records

sample = test_local_run.sample


@pytest.fixture
def finished_run(
    workspace: Workspace, sample: tuple[Path, Sample], capsys: pytest.CaptureFixture[str]
) -> tuple[Workspace, str]:
    path, _ = sample
    assert workspace.pipeline(path, "--run-id", "logged") == 0
    return workspace, capsys.readouterr().out


def test_a_run_writes_one_timestamped_json_lines_file_in_the_log_folder(
    finished_run: tuple[Workspace, str], log_dir: Path
) -> None:
    [log_file] = run_log_files(log_dir, "logged")
    assert re.fullmatch(r"logged-\d{8}T\d{12}Z\.jsonl", log_file.name)
    records = run_log_records(log_dir, "logged")
    assert records
    for record in records:
        assert record["run_id"] == "logged"
        assert record["level"] in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
    for stage in STAGES:
        events = [r["message"] for r in records if r.get("stage") == stage]
        assert events[0] == "stage started" and events[-1] == "stage finished"
    finished = [r for r in records if r["message"] == "stage finished"]
    assert all(r["rows_in"] >= 0 and r["peak_memory_mb"] > 0 for r in finished)


def test_the_summary_has_each_stage_s_times_counts_and_peak_memory(
    finished_run: tuple[Workspace, str],
) -> None:
    workspace, _ = finished_run
    summary = json.loads((workspace.runs / "logged" / "summary.json").read_text())
    previous_end = datetime.fromisoformat(summary["started_at"])
    for name in STAGES:
        stage = summary["stages"][name]
        started = datetime.fromisoformat(stage["started_at"])
        ended = datetime.fromisoformat(stage["finished_at"])
        assert started.utcoffset() == timedelta(0)  # UTC
        assert previous_end <= started <= ended
        assert stage["duration_seconds"] <= (ended - started).total_seconds() + 0.01
        assert stage["rows_in"] == stage["rows_out"] + stage["rows_quarantined"]
        assert stage["peak_memory_mb"] > 0
        assert stage["timings"], f"no timed function ran in {name}"
        previous_end = ended
    assert summary["stages"]["transform"]["timings"]["transform.transform"] >= 0
    assert summary["duration_seconds"] >= 0
    assert summary["peak_memory_mb"] == max(s["peak_memory_mb"] for s in summary["stages"].values())
    postcodes = summary["apis"]["postcodes.io"]
    assert postcodes["calls"] > 0 and 0 <= postcodes["success_rate"] <= 1


def test_the_console_shows_one_line_per_stage(finished_run: tuple[Workspace, str]) -> None:
    _, out = finished_run
    lines = out.splitlines()[: len(STAGES)]  # then the run's closing report
    assert [line.split()[0] for line in lines] == list(STAGES)
    assert all(re.search(r"\d+ rows in, \d+ out, \d+ quarantined .* s", line) for line in lines)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


REPORT = StageReport(
    rows_in=3, rows_out=3, rows_quarantined=0, duration_seconds=0.5, checkpoint_uri="x"
)


def test_a_terminal_gets_a_progress_bar_and_a_pipe_does_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for stream, progress, expect_bar in (
        (Terminal(), True, True),
        (io.StringIO(), True, False),
        (Terminal(), False, False),
    ):
        out = io.StringIO()
        monkeypatch.setattr(sys, "stderr", stream)
        monkeypatch.setattr(sys, "stdout", out)
        console = Console(progress=progress, show_after_seconds=0)
        with console.stage("transform", total_rows=400) as advance:
            advance(200)
            advance(200)
        console.stage_finished("transform", REPORT)
        assert ("/400 [" in stream.getvalue()) is expect_bar
        assert out.getvalue().startswith("transform  3 rows in")
