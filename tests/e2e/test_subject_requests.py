"""Data subject requests end to end through the CLI on a local workspace loaded by a real run:
find by email, phone or id; export; erase and the suppression list on a rerun of the same
file; restriction and objection honoured by later loads; the register and its deadlines;
and no email, phone number or name in any output, log or register row."""

from __future__ import annotations

import csv
import json
import stat
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from customer_etl.reference.sample import write_sample
from tests.decrypted import plaintext_customers
from tests.e2e.local_workspace import Workspace, read_run_parquet

CUSTOMER = "CUST-00000003"


@pytest.fixture
def loaded(workspace: Workspace, tmp_path: Path) -> tuple[Workspace, Path, dict[str, str]]:
    """A workspace after one run of a clean 40-row file; the source row of CUSTOMER."""
    source = tmp_path / "customers.csv"
    write_sample(source, rows=40, seed=7, defect_rate=0)
    assert workspace.pipeline(source, "--run-id", "run-1") == 0
    with source.open(encoding="utf-8") as handle:
        [person] = [row for row in csv.DictReader(handle) if row["customer_id"] == CUSTOMER]
    return workspace, source, person


def _json(workspace: Workspace, capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    capsys.readouterr()
    assert workspace.run("subject", *args, "--runs", str(workspace.runs), "--json") == 0
    return json.loads(capsys.readouterr().out)


def _artefact_rows(runs: Path, customer_id: str) -> int:
    found = 0
    for path in runs.glob("*/**/*.parquet"):
        frame = read_run_parquet(runs, path)
        if "customer_id" in frame:
            found += int((frame["customer_id"] == customer_id).sum())
    return found


def _load_quarantine(runs: Path, run_id: str) -> pd.DataFrame:
    """What the load stage of a run quarantined."""
    [path] = (runs / run_id / "quarantine").glob("load/*.parquet")
    quarantined: pd.DataFrame = read_run_parquet(runs, path)
    return quarantined


def _stored(workspace: Workspace, customer_id: str) -> int:
    """How many `customers` rows the id has."""
    [(count,)] = workspace.query(
        f"select count(*) from customers where customer_id = '{customer_id}'"
    )
    return int(count)


def _personal_values(person: dict[str, str]) -> list[str]:
    return [
        person[name]
        for name in ("first_name", "last_name", "email", "phone", "postcode")
        if person[name]
    ]


def test_find_by_email_phone_or_id_lists_every_place_the_person_is_held(
    loaded: tuple[Workspace, Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    workspace, _, person = loaded
    # Written as a person would give it: other case, spaces; a national phone number.
    by_email = _json(workspace, capsys, "find", "--email", f"  {person['email'].upper()} ")
    by_phone = _json(workspace, capsys, "find", "--phone", person["phone"])
    by_id = _json(workspace, capsys, "find", "--id", CUSTOMER)
    for document in (by_email, by_phone, by_id):
        assert document["customer_ids"] == [CUSTOMER]
        places = {place["place"]: place for place in document["places"]}
        assert places["warehouse.customers"]["flags"] == []
        assert places["warehouse.customer_changes"]["run_ids"] == ["run-1"]
        kinds = {p["kind"] for p in document["places"] if p["place"] == "run_artefact"}
        assert {"extract", "transform", "enrich", "load"} <= kinds
        assert "postcodes" in places["enrichment_cache"]["decision"]
    assert by_email["subject_ref"]["kind"] == "email_bidx"
    assert len(by_email["subject_ref"]["value"]) == 64, "a digest, not the email"

    assert _json(workspace, capsys, "find", "--email", "nobody@example.org")["customer_ids"] == []

    # What a person reads on the console names ids, places and counts, never the values.
    assert workspace.run("subject", "find", "--email", person["email"]) == 0
    shown = capsys.readouterr()
    assert CUSTOMER in shown.out and "warehouse.customer_changes: 1 audit row(s)" in shown.out
    for value in _personal_values(person):
        assert value not in shown.out + shown.err


def test_erase_removes_the_person_everywhere_and_a_rerun_quarantines_them(
    loaded: tuple[Workspace, Path, dict[str, str]],
    capsys: pytest.CaptureFixture[str],
    log_dir: Path,
) -> None:
    workspace, source, person = loaded
    assert _artefact_rows(workspace.runs, CUSTOMER) > 0

    plan = _json(workspace, capsys, "erase", "--id", CUSTOMER, "--dry-run")
    assert plan["dry_run"] and plan["warehouse_rows"] == 1 and plan["audit_rows"] == 1
    assert _stored(workspace, CUSTOMER) == 1, "a dry run changes nothing"

    done = _json(workspace, capsys, "erase", "--id", CUSTOMER)
    assert done["erased"] and done["warehouse_rows"] == 1 and done["audit_rows"] == 1
    assert done["artefact_rows"] == plan["artefact_rows"] > 0
    assert done["suppressed_by"] == ["customer_id", "email_bidx", "phone_bidx"]
    assert _stored(workspace, CUSTOMER) == 0
    assert workspace.query(
        f"select count(*) from customer_changes where customer_id = '{CUSTOMER}'"
    ) == [(0,)]
    assert _artefact_rows(workspace.runs, CUSTOMER) == 0
    assert len(plaintext_customers(workspace.warehouse_url)) == 39, "the others are untouched"
    again = _json(workspace, capsys, "erase", "--id", CUSTOMER)
    assert (again["warehouse_rows"], again["artefact_rows"]) == (0, 0), "idempotent"

    # The same old file again: the person is refused into quarantine, not re-created.
    assert workspace.pipeline(source, "--run-id", "run-2") == 0
    assert _stored(workspace, CUSTOMER) == 0
    summary = json.loads((workspace.runs / "run-2" / "summary.json").read_text())
    assert summary["rows_in"] == 40 and summary["rows_loaded"] == 39
    assert summary["rows_quarantined"] == 1 and summary["reconciled"] is True
    quarantined = _load_quarantine(workspace.runs, "run-2")
    assert quarantined["customer_id"].tolist() == [CUSTOMER]
    assert quarantined["reason_codes"].tolist() == ["erased_subject"]

    # The same person under a new customer id is refused too, by their email's blind index.
    moved = source.with_name("moved.csv")
    moved.write_text(source.read_text().replace(CUSTOMER, "CUST-NEW-0003"))
    assert workspace.pipeline(moved, "--run-id", "run-3") == 0
    assert _stored(workspace, "CUST-NEW-0003") == 0
    assert _load_quarantine(workspace.runs, "run-3")["reason_codes"].tolist() == ["erased_subject"]

    # Nothing personal in the register, the console or the logs.
    capsys.readouterr()
    register = json.dumps(workspace.query("select * from subject_requests"), default=str)
    logs = "".join(path.read_text() for path in log_dir.glob("*.jsonl"))
    for value in _personal_values(person):
        assert value not in register and value not in logs, "a personal value leaked"
        assert value.lower() not in register.lower()


def test_a_held_customer_is_not_erased(
    loaded: tuple[Workspace, Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    from customer_etl.config import load_config
    from customer_etl.runtime.cli_parser import parser
    from customer_etl.runtime.subject_command import subject_command

    workspace, _, _ = loaded
    asked: list[str] = []

    def held(customer_id: str, run_ids: tuple[str, ...]) -> bool:
        asked.append(customer_id)
        assert run_ids == ("run-1",), "the runs holding their data are asked about too"
        return True

    config = load_config("local", Path(__file__).resolve().parents[2] / "config" / "local.yaml")
    config = config.model_copy(
        update={"pipeline": config.pipeline.model_copy(update={"output_dir": workspace.runs})}
    )
    args = parser().parse_args(["subject", "erase", "--id", CUSTOMER, "--json"])
    capsys.readouterr()
    assert subject_command(args, config, __import__("sys").stdout, held=held) == 0
    document = json.loads(capsys.readouterr().out)
    assert asked == [CUSTOMER] and document["reason"] == "legal_hold"
    assert _stored(workspace, CUSTOMER) == 1
    assert _artefact_rows(workspace.runs, CUSTOMER) > 0
    assert workspace.query("select kind, status from subject_requests") == [("erasure", "refused")]


def test_export_writes_the_decrypted_record_with_its_processing_record_owner_only(
    loaded: tuple[Workspace, Path, dict[str, str]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    workspace, _, person = loaded
    out = tmp_path / "export" / "subject.json"
    assert workspace.run("subject", "export", "--id", CUSTOMER, "--out", str(out)) == 0
    said = capsys.readouterr().out
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    document = json.loads(out.read_text())
    fields = document["fields"]
    assert fields["first_name"]["value"] == person["first_name"]
    assert fields["email"]["value"] == person["email"].lower()
    assert fields["date_of_birth"]["value"] == person["date_of_birth"]
    assert fields["email"]["retention_class"] == "customer"
    assert fields["email"]["lawful_basis"].startswith("contract")
    assert fields["marketing_consent"]["lawful_basis"].startswith("consent")
    assert fields["email"]["recipients"]
    for value in _personal_values(person):
        assert value not in said, "the console names the file, not the data"


def test_restriction_keeps_the_record_and_objection_forces_marketing_off(
    loaded: tuple[Workspace, Path, dict[str, str]],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    workspace, source, person = loaded
    other = "CUST-00000004"
    _json(workspace, capsys, "restrict", "--id", CUSTOMER)
    objection = _json(workspace, capsys, "object", "--id", other)
    assert objection["marketing_consent_forced_off"] == 1
    assert workspace.query(
        f"select marketing_consent from customers where customer_id = '{other}'"
    ) == [(0,)]

    # A later file changes the restricted person's name and gives every consent as true.
    changed = tmp_path / "changed.csv"
    with source.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["marketing_consent"] = "true"
        if row["customer_id"] == CUSTOMER:
            row["first_name"] = "Renamed"
    with changed.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert workspace.pipeline(changed, "--run-id", "run-2") == 0

    stored = {row["customer_id"]: row for row in plaintext_customers(workspace.warehouse_url)}
    assert stored[CUSTOMER]["first_name"] == person["first_name"], "restricted: not updated"
    assert stored[other]["marketing_consent"] is False, "objection: consent stays off"
    summary = json.loads((workspace.runs / "run-2" / "summary.json").read_text())
    assert summary["rows_quarantined"] == 1 and summary["reconciled"] is True
    quarantined = _load_quarantine(workspace.runs, "run-2")
    assert quarantined["reason_codes"].tolist() == ["restricted_subject"]

    register = _json(workspace, capsys, "requests")["requests"]
    assert [(r["kind"], r["status"], r["overdue"]) for r in register] == [
        ("restriction", "closed", False),
        ("objection", "closed", False),
    ]

    # What the person asked to be kept is kept: a hold on them stops deletion.
    assert workspace.query("select scope, target from legal_holds") == [("customer", CUSTOMER)]
    assert _json(workspace, capsys, "erase", "--id", CUSTOMER)["reason"] == "legal_hold"


def test_the_register_flags_an_open_request_past_its_month_on_the_console(
    loaded: tuple[Workspace, Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    workspace, _, _ = loaded
    _json(workspace, capsys, "restrict", "--id", CUSTOMER)
    _json(workspace, capsys, "object", "--id", CUSTOMER)
    # The restriction still open, received long ago (as an operator would leave it).
    [(restriction,)] = workspace.query(
        "select request_id from subject_requests where kind = 'restriction'"
    )
    with create_engine(workspace.warehouse_url).begin() as connection:
        connection.execute(
            text(
                "update subject_requests set status = 'open', closed_at = null, "
                "requested_at = '2026-01-05 09:00:00.000000' where request_id = :id"
            ),
            {"id": restriction},
        )
    capsys.readouterr()
    assert workspace.run("subject", "requests", "--open") == 0
    lines = capsys.readouterr().out.splitlines()
    [row] = [line for line in lines if line.startswith(restriction)]
    assert "restriction" in row and "due 2026-02-05" in row and row.endswith("OVERDUE")
    assert lines[-1] == "1 request(s), 1 overdue (one month, article 12(3))"


@pytest.mark.parametrize(
    ("scope", "target"),
    [("--customer", CUSTOMER), ("--run", "run-1"), ("--data-class", "email")],
)
def test_a_legal_hold_stops_an_erasure_until_it_is_released(
    loaded: tuple[Workspace, Path, dict[str, str]],
    capsys: pytest.CaptureFixture[str],
    scope: str,
    target: str,
) -> None:
    workspace, _, _ = loaded
    hold = ("hold", "add", scope, target, "--reason", "matter 42", "--owner", "dpo")
    assert workspace.run(*hold) == 0

    refused = _json(workspace, capsys, "erase", "--id", CUSTOMER)
    assert refused["reason"] == "legal_hold" and not refused["erased"]
    assert _stored(workspace, CUSTOMER) == 1 and _artefact_rows(workspace.runs, CUSTOMER) > 0

    assert workspace.run("hold", "release", "1", "--reason", "matter closed", "--by", "dpo") == 0
    assert _json(workspace, capsys, "erase", "--id", CUSTOMER)["erased"]
    assert _stored(workspace, CUSTOMER) == 0
    assert workspace.query("select kind, status from subject_requests") == [
        ("erasure", "refused"),
        ("erasure", "closed"),
    ]


def test_a_rectification_is_recorded_open_and_closed_by_hand(
    loaded: tuple[Workspace, Path, dict[str, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    workspace, _, _ = loaded
    opened = _json(workspace, capsys, "rectify", "--id", CUSTOMER)
    assert (opened["status"], opened["last_run_id"]) == ("open", "run-1")
    assert [
        r["request_id"] for r in _json(workspace, capsys, "requests", "--open")["requests"]
    ] == [opened["request_id"]]
    closed = _json(workspace, capsys, "close", opened["request_id"])
    assert closed["status"] == "closed" and closed["closed_by"].startswith("local:")
    assert _json(workspace, capsys, "requests", "--open")["requests"] == []
    capsys.readouterr()
    assert workspace.run("subject", "close", opened["request_id"]) == 1
    assert "no open subject request" in capsys.readouterr().err
