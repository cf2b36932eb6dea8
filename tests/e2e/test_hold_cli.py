"""`customer-etl hold add|list|release` on a local workspace: what the DPO sees, what the
warehouse keeps, and that the log never holds a held customer's id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.local_workspace import Workspace

CUSTOMER = "CUST-hold-7731"


def test_place_list_and_release_holds_from_the_command_line(
    workspace: Workspace, log_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert workspace.run("db", "upgrade") == 0
    capsys.readouterr()
    assert (
        workspace.run(
            "hold",
            "add",
            "--customer",
            CUSTOMER,
            "--reason",
            "matter 42",
            "--owner",
            "dpo",
            "--until",
            "2099-01-31",
        )
        == 0
    )
    placed = capsys.readouterr().out
    assert placed.startswith("placed hold 1 (in force): customer CUST-hold-7731 until 2099-02-01")
    assert (
        workspace.run("hold", "add", "--data-class", "marketing", "--reason", "r", "--owner", "o")
        == 0
    )
    assert workspace.run("hold", "add", "--run", "run-1", "--reason", "r", "--owner", "o") == 0
    capsys.readouterr()

    assert workspace.run("hold", "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(h["hold_id"], h["scope"], h["target"], h["state"]) for h in listed] == [
        (1, "customer", CUSTOMER, "in force"),
        (2, "data_class", "marketing", "in force"),
        (3, "run", "run-1", "in force"),
    ]

    assert workspace.run("hold", "release", "1", "--reason", "closed", "--by", "dpo") == 0
    assert capsys.readouterr().out.startswith("released hold 1 (released): customer")
    assert workspace.run("hold", "list") == 0
    assert [line.split(" ")[1] for line in capsys.readouterr().out.splitlines()] == ["2", "3"]
    assert workspace.run("hold", "list", "--all") == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    assert workspace.query("SELECT hold_id, event, actor FROM legal_hold_events") == [
        (1, "added", "dpo"),
        (2, "added", "o"),
        (3, "added", "o"),
        (1, "released", "dpo"),
    ]

    logged = "".join(p.read_text() for p in log_dir.glob("hold-*.jsonl"))
    assert '"message":"legal hold placed"' in logged and '"hold_id":1' in logged
    assert CUSTOMER not in logged


def test_a_hold_without_a_target_or_on_an_unknown_id_fails_with_one_line(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    assert workspace.run("db", "upgrade") == 0
    capsys.readouterr()
    assert workspace.run("hold", "release", "41") == 1
    assert capsys.readouterr().err.strip() == (
        "customer-etl: there is no legal hold 41: see `customer-etl hold list --all`"
    )
    assert (
        workspace.run("hold", "add", "--customer", CUSTOMER, "--reason", " ", "--owner", "o") == 1
    )
    err = capsys.readouterr().err
    assert "--reason and --owner" in err and CUSTOMER not in err
    with pytest.raises(SystemExit):
        workspace.run("hold", "add", "--reason", "r", "--owner", "o")
