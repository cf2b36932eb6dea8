"""Whole local runs for the drills: the CLI in a process of its own (so it can be killed or
signalled), a SQLite warehouse, a fake postcodes API on loopback, and a clean run of the same
file to compare the warehouse with, row for row."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.reference.sample import write_sample
from tests.fakes.postcodes_api import FakePostcodesApi, serve

REPO = Path(__file__).resolve().parents[2]
CUSTOMERS = "select customer_id, content_hash from customers order by customer_id"
CHANGES = "select customer_id, action, after_hash from customer_changes order by customer_id"


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


def migrated(path: Path) -> str:
    url = f"sqlite:///{path}"
    warehouse = SqlWarehouse(url)
    warehouse.upgrade()
    warehouse.dispose()
    return url


@dataclass
class Drill:
    root: Path
    source: Path
    environment: dict[str, str]
    url: str = ""
    runs: Path = field(init=False)

    def __post_init__(self) -> None:
        self.runs = self.root / "runs"
        self.url = self.url or migrated(self.root / "warehouse.db")

    def command(self, *args: str, runs: Path | None = None) -> list[str]:
        return [
            sys.executable,
            "-m",
            "customer_etl.runtime.cli",
            *args,
            "--runs",
            str(runs or self.runs),
            "--config",
            str(REPO / "config" / "local.yaml"),
        ]

    def env(self, url: str | None = None) -> dict[str, str]:
        return {**os.environ, **self.environment, "CUSTOMER_ETL__WAREHOUSE__URL": url or self.url}

    def run(self, *args: str, url: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args), env=self.env(url), capture_output=True, text=True, timeout=300
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        # A session of its own: the signal or kill reaches the runner and its workers.
        return subprocess.Popen(
            self.command(*args),
            env=self.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            # A shell's background job (`make drills &`, CI runners) starts with SIGINT
            # ignored, and an ignored signal stays ignored across exec: Python would then
            # never raise KeyboardInterrupt, and the Ctrl-C drill would test nothing. A
            # person at a terminal has the default disposition; so does the drilled run.
            preexec_fn=_default_sigint,
        )

    def clean_warehouse(self) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """The warehouse a clean run of the same file leaves (in a warehouse of its own)."""
        url = migrated(self.root / "clean.db")
        done = subprocess.run(
            self.command("run", str(self.source), runs=self.root / "clean"),
            env=self.env(url),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        return rows(url, CUSTOMERS), rows(url, CHANGES)

    def warehouse(self) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        return rows(self.url, CUSTOMERS), rows(self.url, CHANGES)


@contextmanager
def drill(root: Path, rows_in: int = 3000, chunk_rows: int = 200) -> Iterator[Drill]:
    source = root / "customers.csv"
    write_sample(source, rows=rows_in, seed=21, defect_rate=0.05)
    with serve(FakePostcodesApi(latency_seconds=0.02)) as api:
        yield Drill(
            root,
            source,
            {
                "CUSTOMER_ETL__PIPELINE__CHUNK_ROWS": str(chunk_rows),
                "CUSTOMER_ETL__QUALITY__MAX_BAD_RATIO": "0.2",
                "CUSTOMER_ETL__ENRICHMENT__POSTCODES__BASE_URL": api.base_url,
                "CUSTOMER_ETL__ENRICHMENT__COMPANIES_HOUSE__ENABLED": "false",
                "CUSTOMER_ETL__ENRICHMENT__CACHE_PATH": str(root / "cache.db"),
                "CUSTOMER_ETL__OBSERVABILITY__LOG_DIR": str(root / "logs"),
                "CUSTOMER_ETL__ENCRYPTION__KEY_FILE": str(root / "keys.json"),
            },
        )


def wait_for(path_glob: tuple[Path, str], process: subprocess.Popen[str], seconds: float) -> None:
    """Until a file matching the glob exists (or the process has ended, or time is up)."""
    folder, pattern = path_glob
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        if folder.exists() and any(folder.glob(pattern)):
            return
        time.sleep(0.005)
    raise AssertionError(f"{pattern} never appeared under {folder} (exit {process.poll()})")


def signal_group(process: subprocess.Popen[str], signum: int) -> None:
    os.killpg(process.pid, signum)


def kill_group(process: subprocess.Popen[str]) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
