"""The command line as people expect it: a version, human output with `--json` for scripts,
no JSON log on the console, a console line for each warning, one name for the runs folder,
the documented exit codes, quiet ends in a pipe, and a run's needs checked before its first
stage."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest

from customer_etl.reference.sample import Sample
from customer_etl.runtime.cli import main
from tests.e2e import test_local_run
from tests.e2e.local_workspace import (
    REPO,
    Workspace,
    console_said,
    console_warnings,
)
from tests.e2e.run_logs import run_log_files

sample = test_local_run.sample
"""A sample of 400 rows, 10% of them defective (the other whole runs' sample)."""


def no_json_log(stream: str) -> bool:
    """True when no line of `stream` is a structured log line."""
    return not any(line.lstrip().startswith('{"level"') for line in stream.splitlines())


def test_version_is_the_installed_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"customer-etl {version('customer-etl')}"


def test_retention_speaks_to_people_and_to_scripts_and_logs_to_its_file(
    workspace: Workspace, log_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert workspace.run("retention") == 0
    shown = capsys.readouterr()
    [line, *by_class] = shown.out.splitlines()
    assert line.startswith("retention ") and "0 customer(s) deleted, not seen since " in line
    assert by_class[0].split()[:3] == ["customer", "warehouse_customers", "delete"]
    assert shown.err == ""

    assert workspace.run("retention", "--json") == 0
    shown = capsys.readouterr()
    document = json.loads(shown.out)
    assert set(document) == {
        "run_id",
        "status",
        "dry_run",
        "rows_deleted",
        "retention_days",
        "cutoff",
        "actions",
    }
    assert (document["status"], document["rows_deleted"]) == ("succeeded", 0)
    assert shown.err == ""
    logged = "".join(p.read_text() for p in log_dir.glob("retention-*.jsonl"))
    assert '"message":"retention applied"' in logged


def test_generate_sample_without_output_leaves_the_committed_sample_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    committed = tmp_path / "data" / "sample" / "customers.csv"
    committed.parent.mkdir(parents=True)
    committed.write_bytes((REPO / "data" / "sample" / "customers.csv").read_bytes())
    before = hashlib.sha256(committed.read_bytes()).hexdigest()
    monkeypatch.chdir(tmp_path)

    assert main(["generate-sample", "--rows", "30", "--seed", "5"]) == 0

    assert hashlib.sha256(committed.read_bytes()).hexdigest() == before
    written = tmp_path / ".etl" / "samples" / "customers.csv"
    assert len(written.read_text().splitlines()) == 31
    assert str(Path(".etl/samples/customers.csv")) in capsys.readouterr().out


def test_warnings_reach_the_console_once_each_without_personal_data(
    workspace: Workspace,
    sample: tuple[Path, Sample],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, generated = sample
    monkeypatch.delenv("COMPANIES_HOUSE_API_KEY")  # company enrichment is skipped
    workspace.api.down = True  # and the postcode API answers nothing but 503
    # 10% defective rows: above the 2% warning ratio, below the 20% the workspace allows.
    assert workspace.pipeline(path, "--run-id", "warned") == 0

    shown = capsys.readouterr()
    warnings = console_warnings(shown.err)
    assert any(line.startswith("customer-etl: warning: quality warning: ") for line in warnings)
    assert any("company enrichment skipped" in line for line in warnings)
    assert any("(api postcodes.io" in line for line in warnings)
    assert len(warnings) == len(set(warnings)), "a repeated warning is shown once"
    assert console_said(shown.err) == [], "nothing but warnings on standard error"
    assert no_json_log(shown.err) and no_json_log(shown.out)
    values = {
        str(value)
        for column in ("first_name", "last_name", "email", "phone", "postcode")
        for value in generated.frame[column]
        if str(value).strip()
    }
    assert [value for value in values if value in shown.err] == []


def test_resume_of_a_finished_run_says_there_is_nothing_to_do(
    workspace: Workspace,
    sample: tuple[Path, Sample],
    log_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path, _ = sample
    assert workspace.pipeline(path, "--run-id", "done") == 0
    manifest = (workspace.runs / "done" / "manifest.json").read_text()
    capsys.readouterr()

    assert workspace.resume("done") == 0

    shown = capsys.readouterr()
    assert shown.out.splitlines()[0] == "run done already succeeded: nothing to resume"
    assert shown.err == ""
    assert (workspace.runs / "done" / "manifest.json").read_text() == manifest
    assert len(run_log_files(log_dir, "done")) == 1, "no second attempt was started"


def test_the_runs_folder_is_runs_everywhere_and_output_still_works_with_a_notice(
    workspace: Workspace, sample: tuple[Path, Sample], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = sample
    runs = str(workspace.runs)
    assert workspace.run("run", str(path), "--output", runs, "--run-id", "old-flag") == 0
    [notice] = console_warnings(capsys.readouterr().err)[:1]
    assert notice == (
        "customer-etl: warning: --output is deprecated for the runs folder; use --runs"
    )
    assert (workspace.runs / "old-flag" / "summary.json").is_file()

    assert workspace.run("resume", "old-flag", "--output", runs) == 0
    assert "--output is deprecated" in capsys.readouterr().err
    assert workspace.run("quarantine", "list", "old-flag", "--runs", runs) == 0
    assert capsys.readouterr().out.startswith("run old-flag: ")


def test_a_bad_mapping_file_is_a_configuration_error_exit_2(
    workspace: Workspace, sample: tuple[Path, Sample], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = sample
    broken = workspace.root / "broken.yaml"
    broken.write_text("columns: [\n", encoding="utf-8")

    assert workspace.pipeline(path, "--mapping", str(broken)) == 2
    [said] = console_said(capsys.readouterr().err)
    assert said == "customer-etl: mapping file broken.yaml is not valid YAML"
    assert not workspace.runs.exists() or not any(workspace.runs.iterdir()), "no run started"


def test_a_directory_given_as_input_is_called_a_directory(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = workspace.root / "exports"
    folder.mkdir()

    assert workspace.pipeline(folder, "--run-id", "folder") == 1

    said = workspace.failed_before_first_stage("folder", capsys.readouterr().err)
    assert "input exports is a directory, not a file" in said and "not found" not in said


def test_quarantine_list_into_a_closed_pipe_ends_quietly(
    workspace: Workspace, sample: tuple[Path, Sample]
) -> None:
    path, _ = sample
    assert workspace.pipeline(path, "--run-id", "piped") == 0
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone, as `head` does once it has its lines
    try:
        finished = subprocess.run(
            [
                sys.executable,
                "-m",
                "customer_etl.runtime.cli",
                *("quarantine", "list", "piped", "--runs", str(workspace.runs)),
                *("--config", str(REPO / "config" / "local.yaml")),
            ],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert finished.stderr == ""
    assert finished.returncode == 1


@pytest.mark.parametrize(
    ("broken", "code", "message"),
    [
        # A PostgreSQL warehouse on a port where nothing listens: exit 1, resumable.
        (
            {
                "CUSTOMER_ETL__WAREHOUSE__URL": "postgresql+psycopg://etl@127.0.0.1:9/x",
                "CUSTOMER_ETL__WAREHOUSE__CONNECT_TIMEOUT_SECONDS": "2",
            },
            1,
            "cannot be reached",
        ),
        # KMS without the blind-index secret it needs: a configuration error, exit 2.
        (
            {
                "CUSTOMER_ETL__ENCRYPTION__KMS_KEY_ID": "alias/customer-etl-test",
                "AWS_DEFAULT_REGION": "eu-west-2",
            },
            2,
            "encryption.blind_index_key_ref",
        ),
    ],
    ids=["unreachable-warehouse", "kms-without-index-key"],
)
def test_what_a_run_needs_is_checked_before_its_first_stage_and_resume_finishes_it(
    workspace: Workspace,
    sample: tuple[Path, Sample],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    broken: dict[str, str],
    code: int,
    message: str,
) -> None:
    path, generated = sample
    with monkeypatch.context() as patch:
        for name, value in broken.items():
            patch.setenv(name, value)
        assert workspace.pipeline(path, "--run-id", "checked") == code
        said = workspace.failed_before_first_stage("checked", capsys.readouterr().err)
        assert message in said

    assert workspace.resume("checked") == 0  # fixed: the run finishes
    loaded = len(generated.frame) - len(generated.defects)
    assert workspace.query("select count(*) from customers") == [(loaded,)]


def test_a_runs_folder_that_cannot_be_created_stops_the_run_before_it_starts(
    workspace: Workspace, sample: tuple[Path, Sample], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = sample
    in_the_way = workspace.root / "a-file"
    in_the_way.write_text("")
    runs = in_the_way / "runs"

    assert workspace.run("run", str(path), "--runs", str(runs)) == 1

    [said] = console_said(capsys.readouterr().err)
    assert said.startswith(f"customer-etl: runs folder {runs} cannot be created (")
    assert workspace.api.requests == []
    assert not (workspace.root / "warehouse.db").exists(), "no run was started"


def test_ctrl_c_outside_a_run_ends_with_one_line_and_exit_130(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def pressed(*args: object, **options: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("customer_etl.runtime.retention_command.apply_retention", pressed)
    assert workspace.run("retention") == 130
    assert capsys.readouterr().err == "customer-etl: retention interrupted\n"
