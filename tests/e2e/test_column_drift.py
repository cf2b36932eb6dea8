"""A source's columns checked for drift against its recent runs, end to end: six ordinary
nightly exports from a CRM, then one where the sender's export switched the phone numbers to
the international format and stopped filling the company name. Every record still passes
its rules; the drift check is what notices, and says so without a value."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from tests.e2e.local_workspace import REPO, Workspace, console_warnings, local_workspace

SAMPLE = REPO / "data" / "sample" / "customers.csv"


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    monkeypatch.chdir(tmp_path)  # the local key file lands here
    with local_workspace(tmp_path, monkeypatch) as prepared:
        yield prepared


def nightly(folder: Path, night: int, drifted: bool = False) -> Path:
    """The night's export: 300 of the CRM's customers, a different draw each night."""
    frame = pd.read_csv(SAMPLE, dtype=str, keep_default_na=False).sample(n=300, random_state=night)
    if drifted:
        local = frame["phone"].str.startswith("0")
        frame.loc[local, "phone"] = "+44" + frame.loc[local, "phone"].str[1:].str.replace(" ", "")
        frame["company_name"] = ""
    path = folder / f"crm-export-2026-11-{night:02d}.csv"
    frame.to_csv(path, index=False)
    return path


def run(workspace: Workspace, source: Path) -> dict[str, Any]:
    assert workspace.pipeline(source, "--run-id", source.stem) == 0
    summary: dict[str, Any] = json.loads(
        (workspace.runs / source.stem / "summary.json").read_text()
    )
    assert summary["status"] == "succeeded"
    return summary


def test_a_changed_export_is_warned_of_by_column_and_measure_never_by_value(
    workspace: Workspace, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for night in range(1, 7):
        assert run(workspace, nightly(tmp_path, night))["quality_drift"] == []
    capsys.readouterr()

    changed = nightly(tmp_path, 7, drifted=True)
    summary = run(workspace, changed)

    drifts = summary["quality_drift"]
    assert any(line.startswith("column phone: pattern_mix") for line in drifts), drifts
    assert any(line.startswith("column company_name: null_rate 1") for line in drifts), drifts
    assert not any(line.startswith("column email") for line in drifts), drifts
    warnings = [line for line in console_warnings(capsys.readouterr().err) if "drifted" in line]
    assert warnings, "the drift is alerted (the local alert path writes to the console)"
    said = " ".join(drifts + warnings)
    values = pd.read_csv(changed, dtype=str, keep_default_na=False)
    for name in ("phone", "first_name", "company_name", "email", "postcode"):
        leaked = [value for value in values[name] if len(value) > 3 and value in said]
        assert leaked == [], name
    # The run's profile is kept for the runs after it: figures and digests, no value.
    [(stored,)] = workspace.query(
        f"select column_profiles from etl_runs where run_id = '{changed.stem}'"
    )
    assert set(json.loads(stored)) >= {"phone", "company_name", "email"}
    assert not [value for value in values["phone"] if len(value) > 3 and value in stored]


def test_a_source_without_enough_history_is_not_judged(
    workspace: Workspace, tmp_path: Path
) -> None:
    for night in range(1, 4):
        run(workspace, nightly(tmp_path, night))
    assert run(workspace, nightly(tmp_path, 4, drifted=True))["quality_drift"] == []
