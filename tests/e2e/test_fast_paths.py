"""The stages' fast paths against their reference paths (`stages.fast_paths`): the same
files run both ways, into two warehouses under the same key file, leave the same rows, the
same quarantine with the same reasons and the same audit trail.

Three runs each: the sample (first load, several chunks), the same file again (every
record unchanged), and an edited copy (some records changed, some new, the rest
unchanged). Tokens carry fresh nonces every seal, so they are compared by what they are
under (a token, the run's data key) and by the keyed content hash and blind indexes beside
them, which are HMACs of the plaintext under the shared keys: equal hashes, equal values.
"""

from __future__ import annotations

import csv
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from customer_etl.adapters.parquet_crypto import LocalRunArtefacts
from customer_etl.adapters.warehouse.configured import build_warehouse
from customer_etl.config import Config
from customer_etl.core import fast_paths
from customer_etl.core.fast_paths import FastPaths, reference_paths
from customer_etl.privacy.envelope import is_token, token_key_id
from customer_etl.runtime.factory import build_key_provider, local_ports
from customer_etl.runtime.local_runner import LocalRunner
from tests.fakes.postcodes_api import FakePostcodesApi, serve

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "data" / "sample" / "customers.csv"
SEALED = ("first_name", "last_name", "email", "phone", "postcode", "date_of_birth")
STAMPS = ("first_seen_at", "last_updated_at", "last_seen_at")


def edited_copy(folder: Path) -> Path:
    """The sample with every 10th record's last name changed and 25 new records."""
    with SAMPLE.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for number, row in enumerate(rows):
        if number % 10 == 0:
            row["last_name"] = f"{row['last_name']}-Edited"
    for number in range(25):
        extra = dict(rows[number + 1])
        extra["customer_id"] = f"CUST-NEW-{number:04d}"
        rows.append(extra)
    path = folder / "edited.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def config_for(folder: Path, key_file: Path, api_url: str) -> Config:
    return Config.model_validate(
        {
            "environment": "local",
            "pipeline": {"output_dir": str(folder / "runs"), "chunk_rows": 300, "workers": 1},
            "warehouse": {"url": f"sqlite:///{folder / 'warehouse.db'}", "batch_rows": 120},
            "encryption": {"enabled": True, "key_file": str(key_file)},
            "enrichment": {
                "postcodes": {"base_url": api_url, "backoff_initial_seconds": 0},
                "companies_house": {"enabled": False},
                "cache_path": str(folder / "cache.db"),
            },
            "quality": {"max_bad_ratio": 0.2},
        }
    )


def run_all(folder: Path, key_file: Path, api_url: str, edited: Path) -> dict[str, Any]:
    """Run the sample, the sample again and the edited copy; what each left behind."""
    config = config_for(folder, key_file, api_url)
    build_warehouse(config).upgrade()
    # Run artefacts are encrypted at rest under a key of each run: read them as the CLI does.
    artefacts = LocalRunArtefacts(folder / "runs", lambda: build_key_provider(config))
    seen: dict[str, Any] = {}
    for run_id, source in (("first", SAMPLE), ("again", SAMPLE), ("edited", edited)):
        manifest = LocalRunner(config, local_ports(config), local_ports).run(source, run_id)
        assert manifest.status == "succeeded"
        seen[run_id] = {
            # The database's own figures (statements, savepoints, milliseconds) measure the
            # work, which the fast paths are there to change; every other counter must hold.
            "counts": {
                name: {k: v for k, v in report.counters.items() if not k.startswith("db_")}
                for name, report in manifest.stages.items()
            },
            "reasons": {name: report.reasons for name, report in manifest.stages.items()},
            "quarantine": quarantined(artefacts, folder / "runs" / run_id),
        }
    seen["customers"], seen["changes"] = warehouse_rows(folder / "warehouse.db")
    return seen


def quarantined(artefacts: LocalRunArtefacts, run: Path) -> list[tuple[Any, ...]]:
    """Every quarantined record of a run: its stage, source row, reasons and values."""
    assert list((run / "quarantine").rglob("*.parquet")), f"no quarantine under {run}"
    rows = artefacts.read_frame(run / "quarantine").drop(columns=["run_id"], errors="ignore")
    return sorted(rows.astype(str).itertuples(index=False, name=None))


def warehouse_rows(database: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    with create_engine(f"sqlite:///{database}").connect() as connection:
        customers = pd.read_sql(text("select * from customers order by customer_id"), connection)
        changes = pd.read_sql(
            text(
                "select run_id, customer_id, action, before_hash, after_hash, chunk "
                "from customer_changes order by run_id, customer_id"
            ),
            connection,
        )
        runs_of_keys = dict(
            connection.execute(text("select data_key_id, run_id from data_keys")).tuples().all()
        )
    sealed = [name for name in customers if customers[name].map(is_token).any()]
    assert set(SEALED) <= set(sealed)
    for column in sealed:
        assert customers[column].dropna().map(is_token).all(), column
        # A token becomes the run whose data key sealed it: the run that last wrote it.
        customers[column] = customers[column].map(
            lambda token: None if pd.isna(token) else runs_of_keys[token_key_id(token)]
        )
    return customers.drop(columns=list(STAMPS)), changes


@pytest.mark.parametrize("paths", ["fast", "reference"])
def test_paths_switch(paths: str) -> None:
    with reference_paths() if paths == "reference" else nullcontext():
        assert fast_paths.ACTIVE.skip_unchanged is (paths == "fast")
    assert FastPaths() == fast_paths.ACTIVE  # restored


def test_fast_and_reference_paths_leave_the_same_warehouse(tmp_path: Path) -> None:
    edited = edited_copy(tmp_path)
    key_file = tmp_path / "keys.json"
    results: dict[str, dict[str, Any]] = {}
    with serve(FakePostcodesApi(record=False)) as api:
        for paths in ("fast", "reference"):
            switch: AbstractContextManager[Any] = (
                reference_paths() if paths == "reference" else nullcontext()
            )
            with switch:
                results[paths] = run_all(tmp_path / paths, key_file, api.base_url, edited)
    fast, reference = results["fast"], results["reference"]
    for run_id in ("first", "again", "edited"):
        assert fast[run_id] == reference[run_id], run_id
    pd.testing.assert_frame_equal(fast["customers"], reference["customers"])
    pd.testing.assert_frame_equal(fast["changes"], reference["changes"])
    # The runs did what the comparison is about: a first load, an unchanged reload, a mix.
    actions = fast["changes"].groupby(["run_id", "action"]).size().to_dict()
    assert actions[("again", "unchanged")] == actions[("first", "inserted")]
    assert {("again", "inserted"), ("again", "updated")}.isdisjoint(actions)
    assert actions[("edited", "updated")] > 0 and actions[("edited", "inserted")] == 25
    assert actions[("edited", "unchanged")] > 0
    assert fast["first"]["quarantine"], "the sample's defects are quarantined"
