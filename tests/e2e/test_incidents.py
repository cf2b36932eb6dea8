"""Incidents from whole local runs: a failed run opens one in the tool its severity is routed
to, with the number in its manifest and report; the resume that finishes it resolves it; no
value of the file reaches the tool."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from customer_etl.reference.sample import write_sample
from customer_etl.runtime.cli import main
from tests.fakes.incident_apis import FakeIncidentTools, serve_incident_tools
from tests.fakes.postcodes_api import FakePostcodesApi, serve
from tests.resilience.local_runs import migrated

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str) -> int:
    return main([*args, "--config", str(REPO / "config" / "local.yaml")])


@pytest.fixture
def tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeIncidentTools]:
    with serve(FakePostcodesApi()) as api, serve_incident_tools() as served:
        for name, value in {
            "QUALITY__MAX_BAD_RATIO": "0.2",
            "ENRICHMENT__POSTCODES__BASE_URL": api.base_url,
            "ENRICHMENT__CACHE_PATH": str(tmp_path / "cache.db"),
            "OBSERVABILITY__LOG_DIR": str(tmp_path / "logs"),
            "WAREHOUSE__CONNECT_TIMEOUT_SECONDS": "1",
            "WAREHOUSE__CONNECT_ATTEMPTS": "1",
            # A locked warehouse is P2 (WarehouseUnavailableError): routed to ServiceNow.
            "ALERTS__INCIDENTS__OPEN_FOR__P2": "servicenow",
            "ALERTS__INCIDENTS__SERVICENOW__BASE_URL": served.base_url,
            "ALERTS__INCIDENTS__SERVICENOW__USERNAME": "etl-integration",
            "ALERTS__INCIDENTS__SERVICENOW__PASSWORD_REF": "env:SN_PASSWORD",
            "ALERTS__INCIDENTS__SERVICENOW__MAX_RETRIES": "0",
        }.items():
            monkeypatch.setenv(f"CUSTOMER_ETL__{name}", value)
        monkeypatch.setenv("SN_PASSWORD", "sn-password")
        yield served


def prepared(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, seed: int, defect_rate: float
) -> tuple[Path, Path, Path]:
    """A sample file of 100 rows, a migrated SQLite warehouse the runs use, a runs folder."""
    source = tmp_path / "customers.csv"
    write_sample(source, rows=100, seed=seed, defect_rate=defect_rate)
    database = tmp_path / "warehouse.db"
    monkeypatch.setenv("CUSTOMER_ETL__WAREHOUSE__URL", migrated(database))
    return source, database, tmp_path / "runs"


def test_a_failed_run_opens_an_incident_and_the_resume_that_finishes_it_resolves_it(
    tmp_path: Path, tools: FakeIncidentTools, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, database, runs = prepared(tmp_path, monkeypatch, seed=4, defect_rate=0.1)
    holder = sqlite3.connect(database, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert cli("run", str(source), "--run-id", "held", "--output", str(runs)) == 1
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    [incident] = tools.incidents.values()
    assert tools.refused == []
    assert incident["number"] == "INC0010001" and incident["state"] == "1"
    assert (incident["impact"], incident["correlation_id"]) == ("2", "held")
    assert "WarehouseUnavailableError" in incident["short_description"]
    manifest = json.loads((runs / "held" / "manifest.json").read_text())
    assert manifest["incident"] == "INC0010001"
    assert json.loads((runs / "held" / "summary.json").read_text())["incident"] == "INC0010001"
    assert 'id="incident">Incident INC0010001.' in (runs / "held" / "report.html").read_text()

    assert cli("resume", "held", "--output", str(runs)) == 0

    assert incident["state"] == "6"
    assert "succeeded after 2 attempts" in incident["close_notes"]
    kept = json.loads((runs / "held" / "incident.json").read_text())
    assert kept["status"] == "resolved"
    # The run's row names it too, so the period report can (schema 0010).
    assert etl_runs(database) == [("held", "succeeded", "INC0010001")]
    # Nothing of the file went to the tool: no value of a personal column in any request.
    frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    sent = json.dumps([request.body for request in tools.requests])
    values = {
        value
        for column in ("email", "phone", "postcode", "last_name", "first_name")
        for value in frame[column]
        if len(value) > 3
    }
    assert not [value for value in values if value in sent]


def etl_runs(database: Path) -> list[tuple[str, str, str | None]]:
    with sqlite3.connect(database) as connection:
        return connection.execute("select run_id, status, incident from etl_runs").fetchall()


def test_a_failed_run_s_row_names_its_incident_and_customer_etl_report_shows_it(
    tmp_path: Path,
    tools: FakeIncidentTools,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Most rows bad, against a gate of 20%: QualityThresholdError, P2, routed above.
    source, database, runs = prepared(tmp_path, monkeypatch, seed=5, defect_rate=0.6)

    assert cli("run", str(source), "--run-id", "bad", "--output", str(runs)) == 1

    [incident] = tools.incidents.values()
    assert etl_runs(database) == [("bad", "failed", incident["number"])]
    capsys.readouterr()
    report = tmp_path / "daily.html"
    assert cli("report", "--period", "daily", "--output", str(report)) == 0
    said = capsys.readouterr().out
    assert "1 with an incident" in said
    assert f"incident {incident['number']}: run bad (failed)" in said
    assert f'<td class="incident">{incident["number"]}</td>' in report.read_text()
