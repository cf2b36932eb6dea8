"""`runs_between`: the period reports' read of `etl_runs`, on each warehouse dialect."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.core.ports import RunRecord

START = datetime(2026, 11, 20, tzinfo=UTC)


def _run(run_id: str, started: datetime, finished: datetime | None) -> RunRecord:
    return RunRecord(
        run_id=run_id,
        kind="pipeline",
        source_file="customers.csv",
        status="succeeded" if finished else "running",
        rows_in=100,
        rows_loaded=90 if finished else 0,
        rows_quarantined=10 if finished else 0,
        started_at=started,
        finished_at=finished,
        error=None,
    )


def test_runs_started_in_the_window_come_back_oldest_first_in_utc(
    warehouse: SqlWarehouse,
) -> None:
    inside = [
        _run("first", START, START + timedelta(seconds=30)),
        _run("unfinished", START + timedelta(hours=20), None),
        _run("second", START + timedelta(hours=3), START + timedelta(hours=3, seconds=45)),
    ]
    outside = [
        _run("before", START - timedelta(microseconds=1), START),
        _run("at-the-end", START + timedelta(days=1), START + timedelta(days=1, seconds=9)),
    ]
    for record in [*inside, *outside]:
        warehouse.record_run(record)

    # The window may be given in any time zone: 20 Nov 01:00 in UTC+01:00 is midnight UTC.
    plus_one = timezone(timedelta(hours=1))
    found = warehouse.runs_between(
        START.astimezone(plus_one), (START + timedelta(days=1)).astimezone(plus_one)
    )

    assert [record.run_id for record in found] == ["first", "second", "unfinished"]
    assert found == sorted(inside, key=lambda record: record.started_at)
    assert all(record.started_at.utcoffset() == timedelta(0) for record in found)
