"""The reports as a browser shows them: a run's report.html after a CLI run on the bundled
sample, and a weekly period report, each loaded by headless Chromium, whose DOM must hold
the key numbers and the SVG charts; and the period report printed to PDF.

Chromium is Debian's `chromium` (.ci/run installs it). Without it these tests fail and say
how to install it: a skip would let a broken report pass unnoticed.
"""

from __future__ import annotations

import subprocess
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.core.ports import RunRecord
from customer_etl.reporting.pdf import headless_command
from customer_etl.reporting.run_report import REPORT_FILE
from tests.e2e.local_workspace import REPO, Workspace

SAMPLE = REPO / "data" / "sample" / "customers.csv"


class Page(HTMLParser):
    """What the browser's DOM holds: the text of each element with an id, the SVG
    elements, and the class of every rect and circle."""

    def __init__(self) -> None:
        super().__init__()
        self.text: dict[str, str] = defaultdict(str)
        self.svgs = 0
        self.shapes: list[tuple[str, str]] = []
        self._open: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "svg":
            self.svgs += 1
        if tag in ("rect", "circle"):
            self.shapes.append((tag, attributes.get("class") or ""))
        self._open.append(attributes.get("id"))

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for element_id in self._open:
            if element_id:
                self.text[element_id] += data

    def bars(self) -> int:
        return sum(tag == "rect" and "bar" in css.split() for tag, css in self.shapes)


def rendered(chromium: str, page: Path, profile: Path) -> tuple[Page, str]:
    command = headless_command(chromium, profile, "--dump-dom", page.as_uri())
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    parsed = Page()
    parsed.feed(done.stdout)
    return parsed, done.stdout


def test_a_run_s_report_shows_its_numbers_and_charts_in_the_browser(
    chromium: str, workspace: Workspace, tmp_path: Path
) -> None:
    assert workspace.pipeline(SAMPLE, "--run-id", "sample-run") == 0
    report = workspace.runs / "sample-run" / REPORT_FILE
    [(rows_in, loaded, quarantined)] = workspace.query(
        "select rows_in, rows_loaded, rows_quarantined from etl_runs"
    )

    page, dom = rendered(chromium, report, tmp_path / "profile")

    assert page.text["status"] == "succeeded"
    assert page.text["rows-in"] == f"{rows_in:,}" == "1,000"
    assert page.text["rows-loaded"] == f"{loaded:,}"
    assert page.text["rows-quarantined"] == f"{quarantined:,}"
    assert quarantined > 0 and page.text["reconciled"] == "yes"
    assert "invalid_email" in page.text["reasons"]
    assert "postcodes" in page.text["apis"]
    assert page.svgs == 5
    assert page.bars() >= 4 + 4  # a duration bar and a rows bar per stage, at least
    # No personal data: none of the sample's emails, phones, postcodes or names.
    customers = pd.read_csv(SAMPLE, dtype=str).fillna("")
    names = customers["first_name"] + " " + customers["last_name"]
    for column in (customers["email"], customers["phone"], customers["postcode"], names):
        leaked = [value for value in column if len(value) > 4 and value in dom]
        assert leaked == []


def test_a_failed_run_writes_its_report_too(
    chromium: str, workspace: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bundled sample's defects are above this ceiling: the run stops after transform.
    monkeypatch.setenv("CUSTOMER_ETL__QUALITY__MAX_BAD_RATIO", "0.001")

    assert workspace.pipeline(SAMPLE, "--run-id", "stopped") == 1

    page, _ = rendered(chromium, workspace.runs / "stopped" / REPORT_FILE, tmp_path / "profile")
    assert page.text["status"] == "failed"
    assert page.text["error"].strip()
    assert page.text["rows-in"] == "1,000" and page.text["rows-loaded"] == "0"


def test_a_weekly_report_shows_the_success_rate_and_the_unusual_run(
    chromium: str, workspace: Workspace, tmp_path: Path
) -> None:
    history = SqlWarehouse(workspace.warehouse_url, auto_upgrade=True)
    start = datetime(2026, 11, 14, 6, 0, tzinfo=UTC)
    for day, seconds in enumerate([31, 29, 33, 30, 28, 32, 30, 31, 29, 600]):
        began = start + timedelta(hours=15 * day)
        run_id = "slow-run" if seconds == 600 else f"usual-{day}"
        history.record_run(_record(run_id, "succeeded", began, seconds, rows=1000 + day))
    for hours in (20, 70):
        history.record_run(_record(f"failed-{hours}", "failed", start + timedelta(hours=hours), 5))
    history.record_run(_record("last-week", "failed", start - timedelta(days=3), 5))
    retention = _record("retention-job", "succeeded", start + timedelta(hours=45), 2)
    history.record_run(
        replace(
            retention,
            kind="retention",
            rows_in=0,
            rows_loaded=0,
            rows_quarantined=0,
            rows_deleted=4,
        )
    )
    history.dispose()
    target = tmp_path / "weekly.html"

    # The week to the end of 20 November: 10 succeeded, 2 failed; last-week is outside, and
    # the retention job is counted apart from the runs.
    assert (
        workspace.run(
            "report", "--period", "weekly", "--until", "2026-11-20", "--output", str(target)
        )
        == 0
    )

    page, dom = rendered(chromium, target, tmp_path / "profile")
    assert page.text["runs"] == "12"
    assert page.text["success-rate"] == "83.3 %"
    assert page.text["failed"] == "2"
    assert page.text["retention-jobs"] == "1" and page.text["rows-deleted"] == "4"
    assert "retention-job" not in page.text["run-list"]
    assert page.text["anomaly-count"] == "1"
    assert "slow-run" in page.text["anomalies"] and "usual-1" not in page.text["anomalies"]
    assert "duration 600 s far above the usual" in page.text["anomalies"]
    assert "warehouse unreachable" in page.text["errors"]
    assert page.svgs == 3
    assert page.bars() >= 7  # runs over time: a bar for each day with a run
    assert ("circle", "point anomaly") in page.shapes
    assert "last-week" not in dom


def test_the_period_report_prints_to_pdf(
    chromium: str, workspace: Workspace, tmp_path: Path
) -> None:
    target = tmp_path / "daily.pdf"

    assert (
        workspace.run("report", "--period", "daily", "--format", "pdf", "--output", str(target))
        == 0
    )

    assert target.read_bytes().startswith(b"%PDF")


def _record(
    run_id: str, status: str, started: datetime, seconds: float, rows: int = 1000
) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        kind="pipeline",
        source_file="customers.csv",
        status=status,
        rows_in=rows,
        rows_loaded=rows - 10 if status == "succeeded" else 0,
        rows_quarantined=10,
        started_at=started,
        finished_at=started + timedelta(seconds=seconds),
        error="warehouse unreachable" if status == "failed" else None,
    )
