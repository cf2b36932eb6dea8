"""Whole local runs and what the warehouse makes of them: load-stage quarantine, a load
rolled back as a whole, and a run refused for an out-of-date schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from customer_etl.reference.sample import Sample
from tests.e2e import test_local_run
from tests.e2e.local_workspace import Workspace
from tests.e2e.test_local_run import ROWS
from tests.fakes.postcodes_api import details

# The same workspace (SQLite warehouse, fake APIs) and sample as the other whole runs.
sample = test_local_run.sample


def test_rows_the_warehouse_cannot_hold_are_quarantined_at_load_and_the_run_reconciles(
    workspace: Workspace, sample: tuple[Path, Sample]
) -> None:
    path, generated = sample
    valid = generated.frame.drop(index=generated.defects.index)
    postcode = valid["postcode"].iloc[0].upper()
    # postcodes.io answers with a region longer than the column's 100 characters.
    workspace.api.known = {postcode: details("R" * 150, "District")}

    assert workspace.pipeline(path, "--run-id", "long") == 0

    folder = workspace.runs / "long"
    summary = json.loads((folder / "summary.json").read_text())
    load = summary["stages"]["load"]
    expected = int((valid["postcode"].str.upper() == postcode).sum())
    assert load["rows_quarantined"] == expected >= 1
    assert load["reasons"] == {"too_long_region": expected}
    assert summary["reconciled"] is True
    assert summary["rows_in"] == summary["rows_loaded"] + summary["rows_quarantined"]
    quarantined = workspace.read_parquet(folder / "quarantine" / "load")
    assert set(quarantined["reason_codes"]) == {"too_long_region"}
    assert set(quarantined["postcode"].str.upper()) == {postcode}
    assert workspace.query("select count(*) from customers") == [(summary["rows_loaded"],)]
    # What the database did is in the summary.
    assert load["counters"]["db_commits"] == 1
    assert load["counters"]["db_savepoints"] >= 1
    assert load["counters"]["inserted"] == summary["rows_loaded"]


def test_a_load_the_warehouse_keeps_refusing_is_rolled_back_and_recorded_as_failed(
    workspace: Workspace, sample: tuple[Path, Sample], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _ = sample
    assert workspace.run("db", "upgrade") == 0
    with create_engine(workspace.warehouse_url).begin() as connection:
        connection.execute(
            text(
                "CREATE TRIGGER refuse_all BEFORE INSERT ON customers "
                "BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        )
    monkeypatch.setenv("CUSTOMER_ETL__WAREHOUSE__MAX_FAILED_BATCHES", "0")

    assert workspace.pipeline(path, "--run-id", "refused") == 1

    assert workspace.query("select count(*) from customers") == [(0,)]
    assert workspace.query("select count(*) from customer_changes") == [(0,)]
    [(status, error)] = workspace.query("select status, error from etl_runs")
    assert status == "failed" and "rolled back" in error
    manifest = json.loads((workspace.runs / "refused" / "manifest.json").read_text())
    assert set(manifest["stages"]) == {"extract", "transform", "enrich"}


def test_a_run_refuses_to_start_until_the_schema_is_upgraded(
    workspace: Workspace,
    sample: tuple[Path, Sample],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, _ = sample
    monkeypatch.setenv("CUSTOMER_ETL__WAREHOUSE__AUTO_UPGRADE", "false")

    assert workspace.pipeline(path, "--run-id", "early") == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "customer-etl db upgrade" in err
    assert not (workspace.runs / "early" / "manifest.json").exists()

    assert workspace.run("db", "upgrade") == 0
    assert workspace.pipeline(path, "--run-id", "later") == 0
    assert workspace.query("select status from etl_runs") == [("succeeded",)]
    assert workspace.query("select count(*) from customers")[0][0] < ROWS
