"""`customer-etl keys rotate` on a local warehouse loaded by real runs: every row still
decrypts after a rotation, and an interrupted rotation finishes on the next run."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from customer_etl.adapters.keys_local import LocalKeyFile
from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.adapters.warehouse.key_rotation import rotate_data_keys
from customer_etl.adapters.warehouse.tables import data_keys
from customer_etl.reference.sample import write_sample
from customer_etl.runtime.cli import main
from tests.decrypted import plaintext_customers
from tests.e2e.local_workspace import console_said

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Workspace:
    root: Path
    warehouse_url: str
    key_file: Path

    def cli(self, *args: str) -> int:
        return main([*args, "--config", str(REPO / "config" / "local.yaml")])

    def load(self, seed: int) -> None:
        """A run of a small file of customers of its own: one more data key in use."""
        source = self.root / f"in-{seed}.csv"
        write_sample(source, rows=40, seed=seed, defect_rate=0)
        source.write_text(source.read_text().replace("CUST-", f"S{seed}-"))
        runs = str(self.root / "runs")
        assert self.cli("run", str(source), "--runs", runs, "--run-id", f"run-{seed}") == 0

    def wraps(self) -> list[tuple[str, str]]:
        warehouse = SqlWarehouse(self.warehouse_url)
        with warehouse.connect() as connection:
            rows = connection.execute(
                select(data_keys.c.data_key_id, data_keys.c.kek_version)
            ).all()
        warehouse.dispose()
        return [(str(key), str(version)) for key, version in rows]


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    monkeypatch.setenv("CUSTOMER_ETL__WAREHOUSE__URL", url)
    monkeypatch.setenv("CUSTOMER_ETL__ENRICHMENT__POSTCODES__ENABLED", "false")
    monkeypatch.setenv("CUSTOMER_ETL__ENRICHMENT__COMPANIES_HOUSE__ENABLED", "false")
    monkeypatch.setenv("CUSTOMER_ETL__ENRICHMENT__CACHE_PATH", str(tmp_path / "cache.db"))
    key_file = tmp_path / "keys.json"
    monkeypatch.setenv("CUSTOMER_ETL__ENCRYPTION__KEY_FILE", str(key_file))
    workspace = Workspace(tmp_path, url, key_file)
    for seed in (1, 2, 3):
        workspace.load(seed)
    yield workspace


def test_keys_rotate_rewraps_every_data_key_and_every_row_still_decrypts(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    before = plaintext_customers(workspace.warehouse_url)
    assert len(before) == 120 and {v for _, v in workspace.wraps()} == {"1"}
    capsys.readouterr()

    assert workspace.cli("keys", "rotate") == 0
    shown = capsys.readouterr()
    out = shown.out
    assert "3 data key(s) rewrapped" in out and "version 2" in out
    assert shown.err == "", "the JSON log goes to its file, not the console"
    assert {v for _, v in workspace.wraps()} == {"2"}
    assert json.loads(workspace.key_file.read_text())["current_version"] == "2"
    assert plaintext_customers(workspace.warehouse_url) == before
    for record in before:  # the printed output names no value
        assert record["email"] not in out


def test_an_interrupted_rotation_finishes_on_the_next_run_without_loss(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    before = plaintext_customers(workspace.warehouse_url)

    def fail_after_first(done: int) -> None:
        if done == 1:
            raise KeyboardInterrupt  # the operator, or a lost process, stops it

    warehouse = SqlWarehouse(workspace.warehouse_url)
    with pytest.raises(KeyboardInterrupt):
        rotate_data_keys(warehouse, LocalKeyFile(workspace.key_file), after_each=fail_after_first)
    warehouse.dispose()
    assert sorted(v for _, v in workspace.wraps()) == ["1", "1", "2"]
    assert plaintext_customers(workspace.warehouse_url) == before  # half-rotated still reads

    capsys.readouterr()
    assert workspace.cli("keys", "rotate") == 0
    out = capsys.readouterr().out
    # The rerun finished the two left behind, under version 2: it started no version 3.
    assert "2 data key(s) rewrapped" in out and "version 2" in out
    assert {v for _, v in workspace.wraps()} == {"2"}
    assert plaintext_customers(workspace.warehouse_url) == before


def test_a_run_whose_key_file_is_missing_fails_and_creates_no_new_one(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    before = plaintext_customers(workspace.warehouse_url)
    backup = workspace.root / "keys-backup.json"
    workspace.key_file.rename(backup)
    source = workspace.root / "in-9.csv"
    write_sample(source, rows=5, seed=9, defect_rate=0)
    capsys.readouterr()
    runs = str(workspace.root / "runs")
    assert workspace.cli("run", str(source), "--runs", runs, "--run-id", "run-9") == 1
    shown = capsys.readouterr()
    [said] = console_said(shown.err)
    assert "run run-9 failed" in said and "restore it from its backup" in said
    # Found before the first stage, not at the load after three stages had run.
    assert json.loads((Path(runs) / "run-9" / "manifest.json").read_text())["stages"] == {}
    assert shown.out == ""
    assert not workspace.key_file.exists() and len(workspace.wraps()) == 3
    assert workspace.cli("keys", "rotate") != 0  # nor does a rotation start a new file
    assert not workspace.key_file.exists()
    backup.rename(workspace.key_file)  # restored: everything reads as before
    assert plaintext_customers(workspace.warehouse_url) == before


def test_keys_rotate_json_is_for_scripts(
    workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert workspace.cli("keys", "rotate", "--json") == 0
    shown = capsys.readouterr()
    document = json.loads(shown.out)
    assert document == {
        "kek_id": document["kek_id"],
        "kek_version": "2",
        "rewrapped": 3,
        "new_version": True,
    }
    assert shown.err == ""
