"""`customer-etl audit report` after real runs: the HTML page as headless Chromium shows it
holds the runs, the record changes by kind, the rules that fired and who started each run;
the CSV says the same per run."""

from __future__ import annotations

import csv
import getpass
import io
import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from customer_etl.reference.sample import Sample, write_sample
from tests.e2e.local_workspace import Workspace
from tests.e2e.test_reports_chromium import rendered

ROWS = 200


@pytest.fixture
def sample(tmp_path: Path) -> tuple[Path, Sample]:
    path = tmp_path / "customers.csv"
    return path, write_sample(path, rows=ROWS, seed=5, defect_rate=0.05)


def test_the_audit_report_shows_runs_changes_rules_and_who_triggered_them(
    chromium: str, workspace: Workspace, sample: tuple[Path, Sample], tmp_path: Path
) -> None:
    path, generated = sample
    loaded = ROWS - len(generated.defects)
    assert workspace.pipeline(path, "--run-id", "first") == 0
    assert workspace.pipeline(path, "--run-id", "again") == 0  # the same file: unchanged
    assert workspace.run("retention") == 0  # nobody is old enough: deletes none
    today = datetime.now(UTC).date().isoformat()
    me = f"local:{getpass.getuser()}"
    assert workspace.query(
        "select run_id, triggered_by from etl_runs where kind = 'pipeline' order by run_id"
    ) == [
        ("again", me),
        ("first", me),
    ]

    page_file = tmp_path / "audit.html"
    common = ("--from", today, "--to", today, "--runs", str(workspace.runs))
    assert workspace.run("audit", "report", *common, "--out", str(page_file)) == 0
    assert stat.S_IMODE(page_file.stat().st_mode) == 0o600
    page, dom = rendered(chromium, page_file, tmp_path / "profile")

    assert page.text["runs"].strip() == "3"
    assert page.text["changes-inserted"].strip() == str(loaded)
    assert page.text["changes-unchanged"].strip() == str(loaded)
    assert page.text["changes-updated"].strip() == "0"
    for kind in ("deleted", "anonymised", "erased"):
        assert page.text[f"changes-{kind}"].strip() == "0"
    assert "none are written yet" in page.text["changes"]  # erased: no writer yet
    assert me in page.text["triggers"] and "pipeline 2" in page.text["triggers"]
    assert "not recorded" in page.text["triggers"]  # the retention job names nobody yet
    reasons = json.loads((workspace.runs / "first" / "summary.json").read_text())[
        "quarantine_reasons"
    ]
    assert reasons, "the sample's defects raise reason codes"
    # Two runs of the same file: each raised every code once per defective row.
    for code, count in reasons.items():
        assert page.text[f"rule-{code}"].strip() == str(2 * count)
    assert page.text["runs-with-rules"].strip() == "2"
    for value in generated.frame["email"]:
        assert value not in dom

    csv_file = tmp_path / "audit.csv"
    assert workspace.run("audit", "report", *common, "--format", "csv", "--out", str(csv_file)) == 0
    rows = {row["run_id"]: row for row in csv.DictReader(io.StringIO(csv_file.read_text()))}
    assert (rows["first"]["inserted"], rows["first"]["unchanged"]) == (str(loaded), "0")
    assert (rows["again"]["inserted"], rows["again"]["unchanged"]) == ("0", str(loaded))
    assert rows["first"]["triggered_by"] == me
    assert rows["first"]["reason_codes"] == ";".join(
        f"{code}={count}" for code, count in sorted(reasons.items())
    )
    [retention] = [row for row in rows.values() if row["kind"] == "retention"]
    assert (retention["deleted"], retention["reason_codes"]) == ("0", "not kept")
