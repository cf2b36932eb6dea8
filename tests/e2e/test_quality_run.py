"""Whole local runs through the CLI exercising data quality: file facts and scores in the
summary, thresholds, mapping files, and the quarantine commands with replay."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from customer_etl.reference.sample import Sample, write_sample
from customer_etl.runtime.cli import main
from tests.decrypted import plaintext_customers
from tests.e2e.local_workspace import read_run_parquet
from tests.e2e.run_logs import run_log

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Workspace:
    root: Path
    runs: Path
    warehouse_url: str

    def cli(self, *args: str) -> int:
        return main([*args, "--config", str(REPO / "config" / "local.yaml")])

    def run(self, source: Path, run_id: str, *extra: str) -> int:
        return self.cli("run", str(source), "--runs", str(self.runs), "--run-id", run_id, *extra)

    def quarantine(self, command: str, run_id: str, *extra: str) -> int:
        return self.cli("quarantine", command, run_id, "--runs", str(self.runs), *extra)

    def summary(self, run_id: str) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.runs / run_id / "summary.json").read_text())
        return loaded

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with create_engine(self.warehouse_url).connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    monkeypatch.setenv("CUSTOMER_ETL__WAREHOUSE__URL", url)
    # No network: enrichment falls back to the reference table at once.
    monkeypatch.setenv("CUSTOMER_ETL__ENRICHMENT__POSTCODES__ENABLED", "false")
    monkeypatch.setenv("CUSTOMER_ETL__ENRICHMENT__COMPANIES_HOUSE__ENABLED", "false")
    monkeypatch.setenv("CUSTOMER_ETL__ENRICHMENT__CACHE_PATH", str(tmp_path / "cache.db"))
    yield Workspace(tmp_path, tmp_path / "runs", url)


def sample(
    workspace: Workspace, rows: int, defect_rate: float, seed: int = 5
) -> tuple[Path, Sample]:
    path = workspace.root / "customers.csv"
    return path, write_sample(path, rows=rows, seed=seed, defect_rate=defect_rate)


def test_the_bundled_sample_at_exactly_the_threshold_succeeds_with_scores_and_file_facts(
    workspace: Workspace,
) -> None:
    assert workspace.run(REPO / "data" / "sample" / "customers.csv", "sample") == 0
    summary = workspace.summary("sample")
    assert (summary["status"], summary["rows_quarantined"], summary["reconciled"]) == (
        "succeeded",
        50,
        True,
    )
    assert 0 < summary["quality_score"] < 100
    assert set(summary["quality_dimensions"]) == {
        "completeness",
        "validity",
        "uniqueness",
        "consistency",
        "timeliness",
        "accuracy",
    }
    # Scored by enrich over the 950 records passed on, every one a UK postcode.
    assert 0 < summary["quality_dimensions"]["accuracy"] <= 100
    assert summary["quarantine_reasons"]["invalid_email"] == 10
    file = summary["file"]
    assert (file["encoding"], file["delimiter"], file["rows"]) == ("utf-8", ",", 1000)
    assert file["size_bytes"] > 0 and file["columns_ignored"] == []
    # The sample has the first layout's twelve fields: the address fields are optional.
    assert file["columns_missing"] == ["address_line_1", "address_line_2", "city", "county"]
    scores = read_run_parquet(workspace.runs, workspace.runs / "sample" / "scores")
    assert len(scores) == 1000 and scores["quarantined"].sum() == 50
    assert scores["quality_score"].between(0, 100).all()


def test_too_many_bad_rows_fail_the_run_after_quarantining_with_an_alert(
    workspace: Workspace, log_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, generated = sample(workspace, rows=200, defect_rate=0.1)
    assert workspace.run(path, "bad") == 1
    err = capsys.readouterr().err
    assert "20 of 200 rows (10.0%) were quarantined, above quality.max_bad_ratio 5.0%" in err
    summary = workspace.summary("bad")
    assert summary["status"] == "failed" and summary["rows_quarantined"] == 20
    assert set(summary["stages"]) == {"extract", "transform"}
    assert (workspace.runs / "bad" / "quarantine" / "transform" / "chunk-00000.parquet").is_file()
    log = run_log(log_dir, "bad")
    assert "QualityThresholdError" in log and '"message":"alert"' in log
    assert workspace.query("select count(*) from customers") == [(0,)]

    # Raising the threshold and resuming loads the good rows.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CUSTOMER_ETL__QUALITY__MAX_BAD_RATIO", "0.2")
        assert workspace.cli("resume", "bad", "--runs", str(workspace.runs)) == 0
    assert workspace.query("select count(*) from customers") == [(200 - len(generated.defects),)]


def test_fail_file_mode_loads_nothing_when_any_row_is_bad(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTOMER_ETL__QUALITY__ON_INVALID_ROWS", "fail_file")
    path, _ = sample(workspace, rows=100, defect_rate=0.01)
    assert workspace.run(path, "strict") == 1
    assert "fail_file" in (workspace.summary("strict")["error"] or "")
    assert workspace.query("select count(*) from customers") == [(0,)]


def test_a_warning_threshold_alerts_and_the_run_goes_on(
    workspace: Workspace, log_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTOMER_ETL__QUALITY__WARN_BAD_RATIO", "0.01")
    path, _ = sample(workspace, rows=100, defect_rate=0.03)
    assert workspace.run(path, "warned") == 0
    log = run_log(log_dir, "warned")
    assert "data quality warning" in log and "warn_bad_ratio" in log


def test_a_mapped_semicolon_latin1_file_with_ragged_rows_runs_and_reports_its_facts(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    mapping = workspace.root / "mapping.yaml"
    mapping.write_text(
        "columns:\n  Mail: email\n  Postal: postcode\n  Joined: signup_date\n"
        "  Consent: marketing_consent\ndrop: [Notes]\ncustomer_id_from: [email]\n"
    )
    lines = [
        "First_Name;Last_Name;Mail;Postal;Joined;Country;Consent;Notes;Fax",
        "Zoë;Brontë;zoe@example.com;SW1A 1AA;01/02/2020;GB;yes;x;1",
        "Ann;Lee;ann@example.com;M1 1AE;2020-03-04;GB;no;y;2;extra",
        "",
        "Bob;Ray;bob@example.com;EC1A 1BB;2021-05-06;GB;no;z;3",
    ]
    source = workspace.root / "export.csv"
    source.write_bytes(("\r\n".join(lines) + "\r\n").encode("latin-1"))

    # One ragged row of three is above the default max_bad_ratio.
    monkeypatch.setenv("CUSTOMER_ETL__QUALITY__MAX_BAD_RATIO", "0.5")
    assert workspace.run(source, "mapped", "--mapping", str(mapping)) == 0

    summary = workspace.summary("mapped")
    file = summary["file"]
    assert (file["encoding"], file["delimiter"], file["rows"]) == ("cp1252", ";", 3)
    assert file["columns_ignored"] == ["Fax"] and file["columns_dropped"] == ["Notes"]
    assert "phone" in file["columns_missing"]
    assert summary["quarantine_reasons"] == {"too_many_fields": 1}
    assert (summary["rows_loaded"], summary["reconciled"]) == (2, True)
    # Names are stored encrypted: read them through the decrypt path.
    records = plaintext_customers(workspace.warehouse_url)
    rows = sorted((r["first_name"], r["signup_date"], r["customer_id"]) for r in records)
    assert [(name, str(day)[:10]) for name, day, _ in rows] == [
        ("Bob", "2021-05-06"),
        ("Zoë", "2020-02-01"),
    ]
    assert all(customer_id.startswith("id-") for _, _, customer_id in rows)

    # The same people in a later file get the same ids: no duplicates.
    assert workspace.run(source, "again", "--mapping", str(mapping)) == 0
    assert workspace.query("select count(*) from customers") == [(2,)]


def test_quarantine_list_export_and_replay_recover_records_without_duplicates(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    path, generated = sample(workspace, rows=200, defect_rate=0.05)
    assert workspace.run(path, "orig") == 0
    loaded = 200 - len(generated.defects)
    capsys.readouterr()

    assert workspace.quarantine("list", "orig") == 0
    listed = capsys.readouterr().out
    assert "run orig: 10 quarantined, 0 recovered" in listed and "invalid_email: 2" in listed

    export = workspace.root / "fix.csv"
    assert workspace.quarantine("export", "orig", "--output", str(export)) == 0
    rows = pd.read_csv(export, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert len(rows) == 10
    assert {"source_row", "source_line", "reason_codes", "rules", "email"} <= set(rows.columns)
    phones = rows["phone"][rows["phone"].str.contains("44")]
    assert phones.str.startswith("'+").all()  # neutralised against formula injection

    # A steward fixes the bad emails and leaves the rest.
    bad_email = rows["reason_codes"] == "invalid_email"
    rows.loc[bad_email, "email"] = [f"fixed{i}@example.com" for i in range(int(bad_email.sum()))]
    rows.to_csv(export, index=False, encoding="utf-8-sig")

    assert workspace.quarantine("replay", "orig", str(export)) == 0
    summary = workspace.summary("orig")
    assert summary["recovered"]["rows"] == 2
    assert summary["recovered"]["still_quarantined"] == 8
    assert workspace.query("select count(*) from customers") == [(loaded + 2,)]
    replay = summary["recovered"]["replays"][0]
    # Duplicates left with their id are not replayed: they would replace the first record.
    assert (replay["run_id"], replay["rows_replayed"], replay["rows_skipped"]) == (
        "orig.replay-1",
        8,
        2,
    )
    assert workspace.query("select kind from etl_runs where run_id = 'orig.replay-1'") == [
        ("replay",)
    ]

    # Replaying the same file again recovers nothing twice and loads no duplicate.
    assert workspace.quarantine("replay", "orig", str(export)) == 0
    summary = workspace.summary("orig")
    assert summary["recovered"]["rows"] == 2
    assert summary["recovered"]["replays"][1]["rows_skipped"] == 4
    assert workspace.query("select count(*) from customers") == [(loaded + 2,)]

    # Exports leave out what was recovered.
    assert workspace.quarantine("export", "orig", "--output", str(export)) == 0
    assert len(pd.read_csv(export, dtype=str)) == 8


def test_quarantine_commands_on_an_unknown_run_are_one_clear_line(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert workspace.quarantine("list", "nope") == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no run nope" in err
