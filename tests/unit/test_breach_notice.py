"""The P3 "likely to breach" notice after a successful run: sent through the alert path when
the run's own source trends toward a limit, with each forecast's confidence; never the
source's file name; never a reason for the run to fail."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest

from customer_etl.config import Config
from customer_etl.core.api_stats import ApiReport
from customer_etl.core.manifest import RunManifest, StageReport
from customer_etl.core.ports import Alert, RunRecord, Warehouse
from customer_etl.run.summary import run_record
from customer_etl.runtime.breach_notice import notify_likely_breaches
from tests.unit.test_forecast import START, night

NOW = START + timedelta(days=8)


@dataclass
class History:
    records: list[RunRecord]
    asked: list[tuple[datetime, datetime]] = field(default_factory=list)

    def runs_between(self, start: datetime, end: datetime) -> list[RunRecord]:
        self.asked.append((start, end))
        return [r for r in self.records if start <= r.started_at < end]


@dataclass
class Outbox:
    sent: list[Alert] = field(default_factory=list)

    def send(self, alert: Alert) -> None:
        self.sent.append(alert)


def of(history: History) -> Callable[[], Warehouse]:
    """The port the notice asks, answering from `history` (only `runs_between` is used)."""
    return lambda: cast(Warehouse, history)


def config(tmp_path: Path) -> Config:
    return Config.model_validate(
        {
            "environment": "local",
            "pipeline": {"output_dir": str(tmp_path / "runs")},
            "warehouse": {"url": f"sqlite:///{tmp_path / 'w.db'}"},
            "quality": {"max_bad_ratio": 0.05},
        }
    )


def manifest_of(record: RunRecord) -> RunManifest:
    return RunManifest.model_validate(
        {
            "run_id": record.run_id,
            "source_uri": record.source_file,
            "started_at": record.started_at,
            "reference_date": record.started_at.date(),
            "status": "succeeded",
        }
    )


def test_a_run_whose_source_climbs_toward_the_gate_sends_one_p3_notice(tmp_path: Path) -> None:
    climbing = [night(day, quarantined=100 + 40 * day) for day in range(8)]  # to 3.8% of 5%
    steady = [night(day, quarantined=100, name="erp") for day in range(8)]
    history, outbox = History(climbing + steady), Outbox()

    found = notify_likely_breaches(
        of(history),
        outbox,
        manifest_of(climbing[-1]),
        config(tmp_path),
        now=NOW,
    )

    assert [p.measure for p in found] == ["quarantine rate"]
    [alert] = outbox.sent
    assert alert.severity == "P3"
    assert "likely to breach" in alert.subject and climbing[-1].run_id in alert.subject
    assert "quarantine rate: latest 0.038" in alert.body and "confidence 100%" in alert.body
    assert "#likelytobreach" in alert.body
    assert "crm" not in alert.body.replace(climbing[-1].run_id, ""), "no file name"
    assert history.asked == [(NOW - timedelta(days=28), NOW + timedelta(seconds=1))]


def test_a_steady_source_or_another_source_s_trend_sends_nothing(tmp_path: Path) -> None:
    climbing = [night(day, quarantined=100 + 40 * day) for day in range(8)]
    steady = [night(day, quarantined=100, name="erp") for day in range(8)]
    outbox = Outbox()

    found = notify_likely_breaches(
        of(History(climbing + steady)),
        outbox,
        manifest_of(steady[-1]),
        config(tmp_path),
        now=NOW,
    )

    assert found == [] and outbox.sent == []


def test_a_warehouse_that_cannot_answer_does_not_fail_the_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> Any:
        raise ConnectionError("down")

    outbox = Outbox()
    assert (
        notify_likely_breaches(broken, outbox, manifest_of(night(7, 100)), config(tmp_path)) == []
    )
    assert outbox.sent == []


def test_the_run_s_row_carries_the_api_calls_and_errors_the_forecast_reads() -> None:
    manifest = manifest_of(night(0, 100)).model_copy(
        update={
            "stages": {
                "enrich": StageReport(
                    rows_in=10,
                    rows_out=10,
                    rows_quarantined=0,
                    duration_seconds=1.0,
                    checkpoint_uri="enrich.parquet",
                    apis={
                        "postcodes.io": ApiReport(calls=40, errors={"timeout": 3, "http_5xx": 1}),
                        "companies_house": ApiReport(calls=10, errors={"http_429": 2}),
                    },
                )
            }
        }
    )
    record = run_record(manifest)
    assert (record.api_calls, record.api_errors) == (50, 6)
    assert (run_record(manifest_of(night(0, 100))).api_calls, record.incident) == (0, None)
