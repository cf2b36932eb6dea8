"""Drill: a malformed `warehouse.url`. Every command that reads the configuration stops
with one line naming the key (exit 2; `health` reports it as its unhealthy `config`
component, exit 1 as documented), never a traceback, never the password."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

PASSWORD = "pw-that-must-not-leak-4410"
MALFORMED = {
    "port is not a number": f"postgresql://etl:{PASSWORD}@db.example.com:port/warehouse",
    "no scheme": f"etl:{PASSWORD}@db.example.com/warehouse",
    "unknown driver": "postgresql+nodriver://etl@db.example.com/warehouse",
    "unsupported dialect": "mysql://etl@db.example.com/warehouse",
}


def cli(tmp_path: Path, url: str, *command: str) -> subprocess.CompletedProcess[str]:
    """`customer-etl COMMAND` in a fresh process, the URL from the environment override."""
    environ = {
        **os.environ,
        "CUSTOMER_ETL__WAREHOUSE__URL": url,
        "CUSTOMER_ETL__PIPELINE__OUTPUT_DIR": str(tmp_path / "runs"),
        "CUSTOMER_ETL__OBSERVABILITY__LOG_DIR": str(tmp_path / "logs"),
    }
    return subprocess.run(
        [sys.executable, "-m", "customer_etl.runtime.cli", *command],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_run_stops_with_one_configuration_line_and_exit_2(tmp_path: Path, case: str) -> None:
    source = tmp_path / "customers.csv"
    source.write_text("customer_id,email\nC1,a@b.co\n", encoding="utf-8")
    done = cli(tmp_path, MALFORMED[case], "run", str(source))
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith("customer-etl: configuration error: environment variable ")
    assert "CUSTOMER_ETL__WAREHOUSE__URL" in line
    assert "Traceback" not in done.stderr + done.stdout
    assert PASSWORD not in done.stderr + done.stdout
    assert not (tmp_path / "runs").exists()  # nothing started


def test_db_upgrade_names_the_key_of_the_file_it_read(tmp_path: Path) -> None:
    config = tmp_path / "local.yaml"
    config.write_text(
        "environment: local\nwarehouse:\n  url: 'sqlite:/no-slashes.db'\n", encoding="utf-8"
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CUSTOMER_ETL__")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "customer_etl.runtime.cli",
            "db",
            "upgrade",
            "--config",
            f"{config}",
        ],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        f"customer-etl: configuration error: {config}: key warehouse.url: Value error, is not "
        "a SQLAlchemy URL: write dialect[+driver]://user@host[:port]/database "
        "(e.g. postgresql+psycopg://etl@db.example.com:5432/warehouse) or "
        "sqlite:///path/to/warehouse.db"
    ]


def test_health_reports_the_key_as_its_unhealthy_configuration(tmp_path: Path) -> None:
    done = cli(tmp_path, MALFORMED["port is not a number"], "health")
    assert done.returncode == 1  # health's contract: unhealthy, an invalid config included
    config_lines = [line for line in done.stdout.splitlines() if line.startswith("config:")]
    assert len(config_lines) == 1
    assert "UNHEALTHY" in config_lines[0]
    assert "CUSTOMER_ETL__WAREHOUSE__URL" in config_lines[0]
    assert "Traceback" not in done.stderr + done.stdout
    assert PASSWORD not in done.stderr + done.stdout
