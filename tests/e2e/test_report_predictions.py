"""`customer-etl report` says which sources are likely to breach a limit, with how soon and
how sure, besides writing them into the report."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.runtime.cli import main
from tests.resilience.local_runs import migrated
from tests.unit.test_forecast import START, night

REPO = Path(__file__).resolve().parents[2]


def test_the_report_command_lists_each_likely_breach_with_its_confidence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = migrated(tmp_path / "warehouse.db")
    warehouse = SqlWarehouse(url)
    for day in range(8):  # 1% quarantined, climbing to 3.8%, against a gate of 5%
        warehouse.record_run(night(day, quarantined=100 + 40 * day))
    warehouse.dispose()
    monkeypatch.setenv("CUSTOMER_ETL__WAREHOUSE__URL", url)
    monkeypatch.setenv("CUSTOMER_ETL__QUALITY__MAX_BAD_RATIO", "0.05")
    until = (START + timedelta(days=7)).date().isoformat()
    report = tmp_path / "weekly.html"

    code = main(
        [
            "report",
            "--period",
            "weekly",
            "--until",
            until,
            "--output",
            str(report),
            "--config",
            str(REPO / "config" / "local.yaml"),
        ]
    )

    assert code == 0
    said = capsys.readouterr().out
    assert "1 likely to breach a limit" in said
    [line] = [text for text in said.splitlines() if "likely to breach:" in text]
    assert "crm-#-#-#.csv quarantine rate 0.038 ->" in line
    assert "(limit 0.05) within" in line and "confidence" in line
    assert '<table id="predictions">' in report.read_text()
