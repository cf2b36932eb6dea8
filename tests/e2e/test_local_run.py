"""Whole local runs through the CLI, on SQLite and the local disk, with a fake postcodes API."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from customer_etl.config import Config
from customer_etl.core.manifest import RunManifest
from customer_etl.observability.api_metrics import emit_api_metrics
from customer_etl.observability.telemetry import LOG_HANDLER, REDACTION_FILTER
from customer_etl.reference.sample import Sample, write_sample
from customer_etl.run.metrics import emit_run_finished, emit_stage_outcome
from customer_etl.run.summary import failure_alert
from customer_etl.runtime.cli import main
from tests.e2e.local_workspace import (
    REPO,
    Workspace,
    console_said,
    console_warnings,
    warehouse_taken_after_enrich,
)
from tests.e2e.run_logs import run_log
from tests.fakes.postcodes_api import company_profile, details

ROWS = 400


@pytest.fixture
def sample(tmp_path: Path) -> tuple[Path, Sample]:
    path = tmp_path / "customers.csv"
    return path, write_sample(path, rows=ROWS, seed=7, defect_rate=0.1)


def test_a_run_loads_valid_rows_quarantines_the_rest_and_reconciles(
    workspace: Workspace, sample: tuple[Path, Sample], capsys: pytest.CaptureFixture[str]
) -> None:
    path, generated = sample
    workspace.api.known = {"SW1A 1AA": details("London", "Westminster")}

    assert workspace.pipeline(path) == 0

    folder = workspace.only_run()
    summary = json.loads((folder / "summary.json").read_text())
    defects = len(generated.defects)
    assert summary["status"] == "succeeded"
    assert (summary["rows_in"], summary["rows_quarantined"], summary["rows_loaded"]) == (
        ROWS,
        defects,
        ROWS - defects,
    )
    assert summary["reconciled"] is True
    assert summary["warehouse"] == workspace.warehouse_url
    assert set(summary["quarantine_reasons"]) >= {
        "invalid_email",
        "invalid_postcode",
        "missing_customer_id",
        "duplicate_customer_id",
    }
    for stage in ("extract", "transform", "enrich", "load"):
        report = summary["stages"][stage]
        assert report["rows_in"] == report["rows_out"] + report["rows_quarantined"]
        assert report["duration_seconds"] >= 0
        assert (folder / stage / "chunk-00000.parquet").is_file()
        assert (folder / "chunks" / f"{stage}-00000.json").is_file()
    quarantined = workspace.read_parquet(folder / "quarantine" / "transform")
    assert sorted(quarantined["source_row"]) == sorted(p + 1 for p in generated.defects.index)
    assert quarantined["reason_codes"].str.len().gt(0).all()
    assert workspace.query("select count(*) from customers") == [(ROWS - defects,)]
    [(status, rows_in, loaded, bad)] = workspace.query(
        "select status, rows_in, rows_loaded, rows_quarantined from etl_runs"
    )
    assert (status, rows_in, loaded, bad) == ("succeeded", ROWS, ROWS - defects, defects)
    assert f"{ROWS} rows in" in capsys.readouterr().out


def test_running_the_same_file_twice_leaves_the_same_rows(
    workspace: Workspace, sample: tuple[Path, Sample]
) -> None:
    path, _ = sample
    assert workspace.pipeline(path, "--run-id", "first") == 0
    before = workspace.query("select customer_id, content_hash from customers order by 1")
    assert workspace.pipeline(path, "--run-id", "second") == 0
    after = workspace.query("select customer_id, content_hash from customers order by 1")
    assert before == after
    assert workspace.query("select run_id, status from etl_runs order by 1") == [
        ("first", "succeeded"),
        ("second", "succeeded"),
    ]


def test_enrichment_uses_the_api_and_falls_back_when_it_is_down(
    workspace: Workspace, sample: tuple[Path, Sample]
) -> None:
    path, generated = sample
    valid = generated.frame.drop(index=generated.defects.index)
    first = valid["postcode"].iloc[0].upper().replace(" ", "")
    known = f"{first[:-3]} {first[-3:]}"
    workspace.api.known = {known: details("Somewhere", "Some District")}
    assert workspace.pipeline(path, "--run-id", "up") == 0
    sources = dict(workspace.query("select enrichment_source, count(*) from customers group by 1"))
    assert sources.get("postcodes.io", 0) >= 1
    assert all(len(batch) <= 100 for batch in workspace.api.requests)
    asked = [code for batch in workspace.api.requests for code in batch]
    assert len(asked) == len(set(asked)), "each distinct postcode is asked once"

    workspace.api.down = True
    workspace.api.requests.clear()
    assert workspace.pipeline(path, "--run-id", "cached") == 0
    assert workspace.api.requests == [], "every answer of the first run came from the cache"
    sources = dict(workspace.query("select enrichment_source, count(*) from customers group by 1"))
    assert sources.get("postcodes.io", 0) >= 1
    summary = json.loads((workspace.runs / "cached" / "summary.json").read_text())
    postcodes = summary["stages"]["enrich"]["apis"]["postcodes.io"]
    assert (postcodes["calls"], postcodes["fallback_rows"]) == (0, 0)
    [(distinct,)] = workspace.query("select count(distinct postcode) from customers")
    assert postcodes["cache_hits"] == distinct

    (workspace.root / "cache.db").unlink()
    assert workspace.pipeline(path, "--run-id", "down") == 0
    sources = dict(workspace.query("select enrichment_source, count(*) from customers group by 1"))
    assert set(sources) <= {"reference", "none"}
    summary = json.loads((workspace.runs / "down" / "summary.json").read_text())
    postcodes = summary["stages"]["enrich"]["apis"]["postcodes.io"]
    assert postcodes["fallback_rows"] == postcodes["rows"] > 0
    assert postcodes["breaker_state_changes"] == {"closed->open": 1}
    assert postcodes["errors"]["http_503"] >= 1


def test_companies_are_enriched_and_the_summary_shows_each_api(
    workspace: Workspace, sample: tuple[Path, Sample]
) -> None:
    path, generated = sample
    valid = generated.frame.drop(index=generated.defects.index)
    numbers = sorted({n for n in valid["company_number"] if n})
    workspace.api.companies = {numbers[0]: company_profile(sic_codes=("62020", "70229"))}

    assert workspace.pipeline(path, "--run-id", "companies") == 0

    [(status, sic, source)] = workspace.query(
        "select company_status, sic_codes, company_enrichment_source from customers "
        f"where company_number = '{numbers[0]}' limit 1"
    )
    assert (status, sic, source) == ("active", "62020;70229", "companies_house")
    sources = dict(
        workspace.query("select company_enrichment_source, count(*) from customers group by 1")
    )
    assert set(sources) == {"companies_house", "none"}
    assert sorted(workspace.api.company_requests) == numbers, "each number asked once"
    apis = json.loads((workspace.runs / "companies" / "summary.json").read_text())["stages"][
        "enrich"
    ]["apis"]
    assert set(apis) == {"postcodes.io", "companies_house"}
    companies = apis["companies_house"]
    assert companies["calls"] == companies["successes"] == len(numbers)
    assert companies["unknown_rows"] >= len(numbers) - 1
    assert companies["latency_ms_max"] >= companies["latency_ms_p95"] >= companies["latency_ms_p50"]


def test_a_run_fails_clearly_when_more_rows_fall_back_than_the_ceiling_allows(
    workspace: Workspace,
    sample: tuple[Path, Sample],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, _ = sample
    workspace.api.down = True
    monkeypatch.setenv("CUSTOMER_ETL__ENRICHMENT__POSTCODES__MAX_FALLBACK_SHARE", "0.5")

    assert workspace.pipeline(path, "--run-id", "degraded") == 1

    err = capsys.readouterr().err
    [said] = console_said(err)
    assert "postcodes.io failed for" in said and "above the ceiling of 50%" in said
    # The API's trouble was on the console as it happened, not only in the JSON log.
    assert any("(api postcodes.io" in line for line in console_warnings(err))
    manifest = json.loads((workspace.runs / "degraded" / "manifest.json").read_text())
    assert "enrich" not in manifest["stages"], "a resume enriches again"
    assert workspace.query("select count(*) from customers") == [(0,)]


HEADER = (
    "customer_id,first_name,last_name,email,phone,postcode,company_name,company_number,"
    "date_of_birth,signup_date,country,marketing_consent\n"
)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not found"),
        (b"", "is empty"),
        (b"\x00\x01\x02binary\x00" * 10, "is binary"),
        (HEADER.replace(",email", "").encode(), "lacks required column(s) email"),
    ],
)
def test_bad_input_is_one_clear_line_a_failed_run_row_and_nothing_loaded(
    workspace: Workspace,
    content: bytes | None,
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = workspace.root / "input.csv"
    if content is not None:
        path.write_bytes(content)

    assert workspace.pipeline(path, "--run-id", "bad") == 1

    [err] = console_said(capsys.readouterr().err)
    assert message in err and "run bad failed" in err
    assert workspace.query("select status, error is not null from etl_runs") == [("failed", 1)]
    assert workspace.query("select count(*) from customers") == [(0,)]
    summary = json.loads((workspace.runs / "bad" / "summary.json").read_text())
    assert summary["status"] == "failed"
    assert message in summary["error"]


def test_a_failed_load_resumes_without_redoing_earlier_stages(
    workspace: Workspace,
    sample: tuple[Path, Sample],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, generated = sample
    with warehouse_taken_after_enrich(workspace.root / "warehouse.db", monkeypatch):
        assert workspace.pipeline(path, "--run-id", "outage") == 1
    # The command's own line is a sentence, not a class (the log lines beside it carry it).
    [said] = console_said(capsys.readouterr().err)
    assert "WarehouseUnavailableError" not in said
    assert "locked" in said
    folder = workspace.runs / "outage"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert set(manifest["stages"]) == {"extract", "transform", "enrich"}
    stamps = {
        s: (folder / s / "chunk-00000.parquet").stat().st_mtime_ns for s in manifest["stages"]
    }

    assert workspace.resume("outage") == 0

    assert {s: (folder / s / "chunk-00000.parquet").stat().st_mtime_ns for s in stamps} == stamps
    assert workspace.query("select count(*) from customers") == [(ROWS - len(generated.defects),)]
    assert workspace.query("select status from etl_runs") == [("succeeded",)]


def test_retention_deletes_customers_not_seen_within_the_period(
    workspace: Workspace, sample: tuple[Path, Sample], capsys: pytest.CaptureFixture[str]
) -> None:
    path, generated = sample
    assert workspace.pipeline(path) == 0
    loaded = ROWS - len(generated.defects)
    with create_engine(workspace.warehouse_url).begin() as connection:
        connection.execute(
            text(
                "update customers set last_seen_at = '2010-01-01 00:00:00' "
                "where customer_id in (select customer_id from customers limit 5)"
            )
        )
    capsys.readouterr()
    assert workspace.run("retention") == 0
    assert "5 customer(s) deleted" in capsys.readouterr().out
    assert workspace.query("select count(*) from customers") == [(loaded - 5,)]
    assert workspace.query("select kind, rows_deleted from etl_runs where kind = 'retention'") == [
        ("retention", 5)
    ]


# Data, not reports: checkpoints and quarantine hold the records by design (the steward's
# export is made from them); the warehouse is scanned only for its operator table, etl_runs.
DATA_FILE_SUFFIXES = (".parquet",)


def operator_files(*folders: Path) -> list[Path]:
    """Every file under the folders that is not data: summaries, manifests, logs, reports,
    and whatever else a run comes to write there."""
    return sorted(
        path
        for folder in folders
        for path in folder.rglob("*")
        if path.is_file() and not path.name.endswith(DATA_FILE_SUFFIXES)
    )


def personal_values(frame: pd.DataFrame) -> set[str]:
    values = set(frame["email"]) | set(frame["phone"]) | set(frame["date_of_birth"])
    values |= set(frame["postcode"]) | set(frame["postcode"].str.upper())
    values |= set(frame["first_name"]) | set(frame["last_name"])
    values |= set(frame["first_name"] + " " + frame["last_name"])
    values |= {number for number in frame["company_number"] if number}  # public, but not logged
    return {value for value in values if value}


def test_no_personal_data_reaches_logs_summaries_run_rows_metrics_or_alerts(
    workspace: Workspace,
    sample: tuple[Path, Sample],
    log_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, generated = sample
    # Without the redaction filter: what is checked is that no value is ever logged, not
    # that the safety net catches what is (tests/unit/test_redaction.py checks the net).
    LOG_HANDLER.removeFilter(REDACTION_FILTER)
    try:
        assert workspace.pipeline(path, "--run-id", "ok") == 0
        # A failing run too, so that error messages and the alert are scanned.
        monkeypatch.setenv("CUSTOMER_ETL__WAREHOUSE__URL", "postgresql+psycopg://etl@127.0.0.1:9/x")
        assert workspace.pipeline(path, "--run-id", "failing") == 1
    finally:
        LOG_HANDLER.addFilter(REDACTION_FILTER)
    ok = RunManifest.model_validate_json((workspace.runs / "ok" / "manifest.json").read_text())
    failing = RunManifest.model_validate_json(
        (workspace.runs / "failing" / "manifest.json").read_text()
    )
    # The metrics the Lambda runtime would emit for these runs, as the EMF it prints.
    for stage in ok.stages:
        emit_stage_outcome(stage, ok)
        emit_api_metrics(ok.stages[stage].apis)
    emit_run_finished(ok)
    alert = failure_alert(
        failing, "load", "WarehouseUnavailableError", Config(environment="local").alerts
    )
    console = capsys.readouterr()

    files = operator_files(workspace.runs, log_dir)
    assert {f.name for f in files} >= {"summary.json", "manifest.json"}
    assert "alert" in run_log(log_dir, "failing")
    assert '"_aws"' in console.out  # the metrics were captured
    operator_text = "\n".join(
        [
            console.out,
            console.err,
            *(f.read_text(encoding="utf-8", errors="replace") for f in files),
            json.dumps(workspace.query("select * from etl_runs"), default=str),
            alert.subject,
            alert.body,
            failing.error or "",
        ]
    )
    values = personal_values(generated.frame)
    leaks = sorted(v for v in values if re.search(rf"\b{re.escape(v)}\b", operator_text))
    assert leaks == []


def test_generate_sample_and_config_show(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "s.csv"
    assert main(["generate-sample", "--rows", "50", "--seed", "1", "--output", str(target)]) == 0
    assert len(pd.read_csv(target, dtype=str)) == 50
    assert (
        main(
            [
                "config",
                "show",
                "--env",
                "staging",
                "--config",
                str(REPO / "config" / "staging.yaml"),
            ]
        )
        == 0
    )
    shown = capsys.readouterr().out
    assert "environment: staging" in shown
    assert "password_ref: secretsmanager:" in shown


def test_a_bad_configuration_is_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "local.yaml"
    bad.write_text("environment: local\nwarehouse:\n  nope: 1\n")
    assert main(["run", "x.csv", "--config", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "warehouse.nope" in err
