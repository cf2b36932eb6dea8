"""`customer-etl health` from the command line: the human table, `--json`, exit codes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from customer_etl.adapters.keys_local import LocalKeyFile
from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.runtime.cli import main
from tests.fakes.postcodes_api import FakePostcodesApi, closed_port_url, serve


@pytest.fixture
def config_file(tmp_path: Path) -> Iterator[Path]:
    """A local installation that is healthy until a test breaks one part of it."""
    warehouse_url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    migrated = SqlWarehouse(warehouse_url)
    migrated.upgrade()
    migrated.dispose()
    LocalKeyFile(tmp_path / "keys.json").current_version()
    with serve(FakePostcodesApi()) as api:
        path = tmp_path / "local.yaml"
        config = {
            "environment": "local",
            "pipeline": {"output_dir": str(tmp_path / "runs")},
            "warehouse": {"url": warehouse_url},
            "enrichment": {"postcodes": {"base_url": api.base_url}},
            "encryption": {"key_file": str(tmp_path / "keys.json")},
            "health": {"min_free_disk_mb": 0, "min_free_disk_percent": 0},
        }
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        yield path


def health(config_file: Path, *options: str) -> int:
    return main(["health", "--config", str(config_file), *options])


def test_healthy_exits_0_with_one_line_per_component(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert health(config_file) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "health: healthy"
    assert len(lines) == 8
    assert lines[1].startswith("database: healthy in ")


def test_json_form_is_exactly_the_documented_one(
    config_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert health(config_file, "--json") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["status"] == "healthy"
    assert set(document) == {"status", "components"}
    for component in document["components"]:
        assert set(component) == {"name", "status", "latency_ms", "message"}
        assert component["status"] in {"healthy", "skipped", "degraded", "unhealthy"}


def test_an_unreachable_api_is_degraded_and_exits_0(
    config_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTOMER_ETL__ENRICHMENT__POSTCODES__BASE_URL", closed_port_url())
    assert health(config_file, "--json") == 0
    document = json.loads(capsys.readouterr().out)
    assert document["status"] == "degraded"
    [degraded] = [c for c in document["components"] if c["status"] == "degraded"]
    assert degraded["name"] == "api:postcodes.io"


def test_an_out_of_date_warehouse_is_unhealthy_and_exits_1(
    config_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CUSTOMER_ETL__WAREHOUSE__URL", f"sqlite:///{tmp_path / 'new.db'}")
    assert health(config_file) == 1
    output = capsys.readouterr().out
    assert "database: UNHEALTHY in " in output
    assert output.splitlines()[-1] == "health: unhealthy"


def test_an_invalid_configuration_is_unhealthy_and_exits_1_still_in_json(
    config_file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUSTOMER_ETL__HEALTH__CHECK_TIMEOUT_SECONDS", "-1")
    assert health(config_file, "--json") == 1
    document = json.loads(capsys.readouterr().out)
    assert document["status"] == "unhealthy"
    [config] = document["components"]
    assert config["name"] == "config"
    assert "CUSTOMER_ETL__HEALTH__CHECK_TIMEOUT_SECONDS" in config["message"]


def test_a_skipped_api_reads_skipped_and_no_json_log_reaches_the_console(
    config_file: Path,
    log_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("COMPANIES_HOUSE_API_KEY", raising=False)
    assert health(config_file) == 0
    shown = capsys.readouterr()
    [companies] = [line for line in shown.out.splitlines() if line.startswith("api:companies")]
    assert companies.startswith("api:companies_house: skipped, no API key configured")
    assert shown.err == ""
    [log] = log_dir.glob("health-*.jsonl")
    assert json.loads(log.read_text().splitlines()[-1])["message"] == "health checked"
