"""`customer-etl retention [--dry-run] [--json]` on a local workspace: every class applied to
its store (warehouse customers, run folders' checkpoints and quarantine, reports, logs, the
enrichment cache), legal holds honoured, a dry run that changes nothing, and no customer
value in what the job prints, logs or audits."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from customer_etl.reference.sample import Sample, write_sample
from tests.e2e.local_workspace import Workspace

DAY = 86_400.0


def age(path: Path, days: float) -> None:
    """Make a file, or every file under a folder, `days` days old."""
    moment = time.time() - days * DAY
    for item in [path, *path.rglob("*")] if path.is_dir() else [path]:
        os.utime(item, (moment, moment))


@pytest.fixture
def three_runs(workspace: Workspace, tmp_path: Path) -> Sample:
    """Runs `old`, `held` (both 40 days old) and `new`; every customer last seen in 2010."""
    sample = write_sample(tmp_path / "customers.csv", rows=60, seed=11, defect_rate=0.1)
    for run_id in ("old", "held", "new"):
        assert workspace.pipeline(tmp_path / "customers.csv", "--run-id", run_id) == 0
    for run_id in ("old", "held"):
        age(workspace.runs / run_id, 40)
    with create_engine(workspace.warehouse_url).begin() as connection:
        connection.execute(text("update customers set last_seen_at = '2010-01-01 00:00:00'"))
    return sample


def actions(document: dict[str, object]) -> dict[str, tuple[str, int, int]]:
    listed = document["actions"]
    assert isinstance(listed, list)
    return {a["store"]: (a["action"], a["records"], a["held"]) for a in listed}


def test_retention_applies_every_class_honours_holds_and_dry_runs_first(
    workspace: Workspace,
    three_runs: Sample,
    log_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    customers = sorted(r for (r,) in workspace.query("select customer_id from customers"))
    kept_customer = customers[0]
    report = tmp_path / "reports" / "daily-2025-01-01.html"
    report.parent.mkdir()
    report.write_text("<html></html>")
    age(report, 400)
    old_log = log_dir / "old-20250101T000000000000Z.jsonl"
    old_log.write_text("{}\n")
    age(old_log, 100)
    with sqlite3.connect(tmp_path / "cache.db") as cache:
        cache.execute("update answers set expires_at = ?", (time.time() - 1,))
        cached = cache.execute("select count(*) from answers").fetchone()[0]
    assert workspace.run("hold", "add", "--run", "held", "--reason", "m", "--owner", "dpo") == 0
    assert (
        workspace.run("hold", "add", "--customer", kept_customer, "--reason", "m", "--owner", "dpo")
        == 0
    )
    capsys.readouterr()

    assert workspace.run("retention", "--dry-run", "--json") == 0
    would = json.loads(capsys.readouterr().out)
    assert would["dry_run"] is True
    expected = {
        "warehouse_customers": ("delete", len(customers) - 1, 1),
        "quarantine": ("delete", 1, 1),
        "checkpoints": ("delete", 5, 5),
        "reports": ("delete", 1, 0),  # the runs are 40 days old; reports keep a year
        "logs": ("delete", 1, 0),
        "enrichment_cache": ("delete", cached, 0),
    }
    assert actions(would) == expected
    assert (workspace.runs / "old" / "quarantine").exists() and report.exists()
    assert workspace.query("select count(*) from customers") == [(len(customers),)]
    assert workspace.query("select count(*) from retention_actions") == [(0,)]

    assert workspace.run("retention") == 0
    said = capsys.readouterr().out
    assert said.startswith("retention ") and f"{len(customers) - 1} customer(s) deleted" in said
    assert workspace.query("select customer_id from customers") == [(kept_customer,)]
    assert not (workspace.runs / "old" / "quarantine").exists()
    assert not (workspace.runs / "old" / "extract").exists()
    assert (workspace.runs / "old" / "summary.json").exists(), "the run's record stays"
    assert (workspace.runs / "held" / "quarantine").exists(), "a held run keeps its artefacts"
    assert (workspace.runs / "new" / "extract").exists(), "a young run keeps its checkpoints"
    assert not report.exists() and not old_log.exists()
    audited = workspace.query(
        "select store, action, records, held from retention_actions order by action_id"
    )
    assert {store: (a, n, h) for store, a, n, h in audited} == expected
    assert workspace.query("select kind, status from etl_runs where kind = 'retention'") == [
        ("retention", "succeeded")
    ]

    # Nothing of a record in what the job printed, logged or recorded.
    logged = "".join(p.read_text() for p in log_dir.glob("retention-*.jsonl"))
    recorded = repr(workspace.query("select * from retention_actions"))
    recorded += repr(workspace.query("select * from etl_runs where kind = 'retention'"))
    frame = three_runs.frame
    values = {v for column in ("customer_id", "email", "last_name") for v in frame[column] if v}
    for value in values:
        assert value not in said + logged + recorded, value


def test_a_deprecated_single_period_still_works_and_warns(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CUSTOMER_ETL__RETENTION__CUSTOMER_RETENTION_DAYS", "400")
    assert workspace.run("retention", "--json") == 0
    shown = capsys.readouterr()
    assert json.loads(shown.out)["retention_days"] == 400
    assert "deprecated setting" in shown.err and "retention.customer_retention_days" in shown.err


def test_the_retention_report_shows_each_class_and_alerts_until_the_job_has_run(
    workspace: Workspace,
    tmp_path: Path,
    log_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    sample = write_sample(tmp_path / "customers.csv", rows=40, seed=3, defect_rate=0.1)
    assert workspace.pipeline(tmp_path / "customers.csv", "--run-id", "only") == 0
    with create_engine(workspace.warehouse_url).begin() as connection:
        connection.execute(text("update customers set last_seen_at = '2010-01-01 00:00:00'"))
    [(held,)] = workspace.query("select min(customer_id) from customers")
    [(total,)] = workspace.query("select count(*) from customers")
    assert workspace.run("hold", "add", "--customer", held, "--reason", "m", "--owner", "dpo") == 0
    capsys.readouterr()

    assert workspace.run("retention", "report", "--json") == 0
    before = json.loads(capsys.readouterr().out)
    [customers] = [c for c in before["classes"] if c["store"] == "warehouse_customers"]
    assert (customers["total"], customers["past"], customers["held"]) == (total, total, 1)
    assert (customers["within"], customers["overdue"], customers["acted"]) == (0, total - 1, {})
    assert before["alert"] is True and before["last_job"] is None
    logged = "".join(p.read_text() for p in log_dir.glob("retention-*.jsonl"))
    assert f"{total - 1} record(s) past their retention period" in logged

    assert workspace.run("retention") == 0
    capsys.readouterr()
    assert workspace.run("retention", "report") == 0
    lines = capsys.readouterr().out.splitlines()
    [row] = [line for line in lines if line.startswith("customer ")]
    assert row.split()[2:7] == ["2190d", "0", "1", "1", "0"]
    assert row.endswith(f"delete {total - 1}")
    assert lines[-2].startswith("last job: ") and "succeeded" in lines[-2]
    assert lines[-1].startswith("last successful job: ")
    assert not any(line.startswith("alert:") for line in lines)

    everything = "\n".join(lines) + json.dumps(before)
    everything += "".join(p.read_text() for p in log_dir.glob("retention-*.jsonl"))
    for column in ("customer_id", "email", "last_name"):
        for value in sample.frame[column]:
            if value:
                assert value not in everything, value
