"""A local workspace for whole runs through the CLI: a runs folder, a SQLite warehouse and
a fake postcodes and Companies House API on loopback, configured through the environment."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import create_engine, text

from customer_etl.adapters.keys_local import LocalKeyFile
from customer_etl.adapters.parquet_crypto import LocalRunArtefacts
from customer_etl.core.manifest import StageReport
from customer_etl.runtime.cli import main
from customer_etl.runtime.console import Console
from tests.fakes.postcodes_api import FakePostcodesApi, serve

REPO = Path(__file__).resolve().parents[2]
API_KEY = "e2e-key"
WARNING_PREFIX = "customer-etl: warning: "


@contextmanager
def warehouse_taken_after_enrich(database: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """While active, the warehouse is there when a run starts (its checks pass) and taken by
    another writer once enrich has finished, for as long as the load tries: the load fails
    (with one connection attempt of one second). The stage callback is restored after."""
    monkeypatch.setenv("CUSTOMER_ETL__WAREHOUSE__CONNECT_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("CUSTOMER_ETL__WAREHOUSE__CONNECT_ATTEMPTS", "1")
    holders: list[sqlite3.Connection] = []
    finished = Console.stage_finished

    def lock_after_enrich(console: Console, name: str, report: StageReport) -> None:
        finished(console, name, report)
        if name == "enrich":
            holder = sqlite3.connect(database, isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")
            holders.append(holder)

    monkeypatch.setattr(Console, "stage_finished", lock_after_enrich)
    try:
        yield
    finally:
        for holder in holders:
            holder.close()
        monkeypatch.setattr(Console, "stage_finished", finished)


def read_run_parquet(runs: Path, path: Path) -> pd.DataFrame:
    """A run's Parquet file, or every one under a folder of it, decrypted with the run's key
    as the pipeline reads it (the files are encrypted at rest), through the test's key file."""
    keys = LocalKeyFile(Path(os.environ["CUSTOMER_ETL__ENCRYPTION__KEY_FILE"]))
    return LocalRunArtefacts(runs, lambda: keys).read_frame(path)


def console_warnings(err: str) -> list[str]:
    """The warning lines a command wrote to standard error."""
    return [line for line in err.splitlines() if line.startswith(WARNING_PREFIX)]


def console_said(err: str) -> list[str]:
    """What a command wrote to standard error besides its warnings (a failure's line)."""
    return [line for line in err.strip().splitlines() if not line.startswith(WARNING_PREFIX)]


@dataclass
class Workspace:
    root: Path
    runs: Path
    warehouse_url: str
    api: FakePostcodesApi

    def run(self, *args: str) -> int:
        return main([*args, "--config", str(REPO / "config" / "local.yaml")])

    def pipeline(self, source: Path, *extra: str) -> int:
        return self.run("run", str(source), "--runs", str(self.runs), *extra)

    def resume(self, run_id: str) -> int:
        return self.run("resume", run_id, "--runs", str(self.runs))

    def failed_before_first_stage(self, run_id: str, err: str) -> str:
        """The failure's one line of a run that its checks stopped: its manifest says
        `failed` with no stage run, and no API was asked."""
        [said] = console_said(err)
        assert f"run {run_id} failed" in said
        manifest = json.loads((self.runs / run_id / "manifest.json").read_text())
        assert (manifest["status"], manifest["stages"]) == ("failed", {}), "no stage ran"
        assert self.api.requests == [], "nothing was enriched"
        return said

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with create_engine(self.warehouse_url).connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]

    def read_parquet(self, path: Path) -> pd.DataFrame:
        return read_run_parquet(self.runs, path)

    def only_run(self) -> Path:
        [folder] = [p for p in self.runs.iterdir() if p.is_dir()]
        return folder


@contextmanager
def local_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    with serve(FakePostcodesApi(api_key=API_KEY)) as api:
        monkeypatch.setenv("CUSTOMER_ETL__WAREHOUSE__URL", url)
        # Commands without --runs (retention) look after the workspace's runs, never the
        # working tree's .etl.
        monkeypatch.setenv("CUSTOMER_ETL__PIPELINE__OUTPUT_DIR", str(tmp_path / "runs"))
        # The samples here are 10% defective, above the default max_bad_ratio of 5%.
        monkeypatch.setenv("CUSTOMER_ETL__QUALITY__MAX_BAD_RATIO", "0.2")
        monkeypatch.setenv("CUSTOMER_ETL__ENRICHMENT__POSTCODES__BASE_URL", api.base_url)
        monkeypatch.setenv("CUSTOMER_ETL__ENRICHMENT__COMPANIES_HOUSE__BASE_URL", api.base_url)
        monkeypatch.setenv("CUSTOMER_ETL__ENRICHMENT__CACHE_PATH", str(tmp_path / "cache.db"))
        monkeypatch.setenv("COMPANIES_HOUSE_API_KEY", API_KEY)
        # Retries happen, without their real waits.
        for api_name in ("POSTCODES", "COMPANIES_HOUSE"):
            monkeypatch.setenv(
                f"CUSTOMER_ETL__ENRICHMENT__{api_name}__BACKOFF_INITIAL_SECONDS", "0"
            )
        yield Workspace(tmp_path, tmp_path / "runs", url, api)
