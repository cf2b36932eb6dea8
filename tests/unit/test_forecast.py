"""The "likely to breach" predictions: a rising trend toward a limit is named before it is
crossed, a flat or falling one, a lone wild run and a limit already crossed are not."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from customer_etl.core.ports import RunRecord
from customer_etl.reporting.forecast import (
    HORIZON,
    MIN_RUNS,
    Limits,
    breach_predictions,
    likely_breach,
    source_of,
)
from customer_etl.reporting.period_report import Window, build_period_report, render_period_report
from customer_etl.reporting.publish import announcement

START = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)
LIMITS = Limits(max_bad_ratio=0.05, max_duration_seconds=900)


def night(day: int, quarantined: int, seconds: float = 60, name: str = "crm") -> RunRecord:
    started = START + timedelta(days=day)
    return RunRecord(
        run_id=f"{name}-{day}",
        kind="pipeline",
        source_file=f"incoming/{name}-2026-11-{day + 1:02d}.csv",
        status="succeeded",
        rows_in=10_000,
        rows_loaded=10_000 - quarantined,
        rows_quarantined=quarantined,
        started_at=started,
        finished_at=started + timedelta(seconds=seconds),
        error=None,
    )


def test_a_steady_climb_toward_the_limit_is_named_with_when_and_how_sure() -> None:
    hit = likely_breach([0.50, 0.56, 0.62, 0.68, 0.74, 0.80, 0.86], limit=1.0)
    assert hit is not None
    ahead, forecast, confidence = hit
    assert ahead == 3 and forecast == pytest.approx(1.04)
    assert confidence == 1.0


@pytest.mark.parametrize(
    "values",
    [
        [0.5, 0.51, 0.49, 0.5, 0.52, 0.5, 0.49, 0.51],  # flat
        [0.9, 0.85, 0.8, 0.75, 0.7, 0.65],  # falling
        [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 2.0, 0.5],  # one wild run, then back
        [0.5, 0.6, 0.7, 0.8, 0.9, 1.1],  # already over: the run's own alert says so
        [0.5, 0.7, 0.9],  # too few runs to call a trend
        [0.50, 0.52, 0.54, 0.56, 0.58, 0.60],  # rising, but far from the limit
    ],
)
def test_no_prediction_without_a_trend_that_reaches_the_limit_soon(values: list[float]) -> None:
    assert likely_breach(values, limit=1.0) is None


def test_the_horizon_and_minimum_history_are_what_the_docs_say() -> None:
    assert (HORIZON, MIN_RUNS) == (3, 6)


def test_dated_file_names_are_one_source() -> None:
    assert source_of("incoming/crm-2026-11-01.csv") == source_of("crm-2026-11-30.csv")
    assert source_of("crm-2026-11-01.csv") != source_of("erp-2026-11-01.csv")


def test_a_source_whose_quarantine_rate_climbs_is_predicted_and_a_steady_one_is_not() -> None:
    climbing = [night(day, quarantined=100 + 40 * day) for day in range(8)]  # 1% .. 3.8%
    steady = [night(day, quarantined=100, name="erp") for day in range(8)]

    [prediction] = breach_predictions(climbing + steady, LIMITS)

    assert prediction.source == "crm-#-#-#.csv"
    assert prediction.measure == "quarantine rate"
    assert prediction.latest == pytest.approx(0.038)
    assert prediction.forecast >= 0.05 and prediction.runs_ahead <= HORIZON


def test_a_duration_climbing_toward_the_longest_a_run_may_take_is_predicted() -> None:
    slower = [night(day, 100, seconds=400 + 70 * day) for day in range(8)]  # to 890 s
    [prediction] = breach_predictions(slower, Limits(max_bad_ratio=0.5, max_duration_seconds=1000))
    assert (prediction.measure, prediction.runs_ahead) == ("duration", 2)


def test_the_period_report_and_its_announcement_show_the_predictions() -> None:
    records = [night(day, quarantined=100 + 40 * day) for day in range(8)]
    window = Window.ending("weekly", START + timedelta(days=8))

    report = build_period_report(records, window, limits=LIMITS)
    html = render_period_report(report)

    assert len(report.predictions) == 1
    assert '<table id="predictions">' in html and "crm-#-#-#.csv" in html
    assert "1 likely to breach" in announcement(report, "s3://reports/x.html").body
    assert build_period_report(records, window).predictions == [], "no limits, no predictions"


def test_an_api_error_rate_climbing_toward_the_fallback_share_is_predicted() -> None:
    failing = [
        replace(night(day, 100), api_calls=1000, api_errors=20 + 15 * day) for day in range(8)
    ]  # 2% .. 12.5% of calls
    silent = [replace(night(day, 100, name="erp"), api_calls=0, api_errors=0) for day in range(8)]
    limits = Limits(max_bad_ratio=0.5, max_duration_seconds=1000, max_api_error_rate=0.15)

    [prediction] = breach_predictions(failing + silent, limits)

    assert (prediction.source, prediction.measure) == ("crm-#-#-#.csv", "API error rate")
    assert prediction.latest == pytest.approx(0.125) and prediction.runs_ahead <= HORIZON
    assert breach_predictions(failing, LIMITS) == [], "not watched without its limit"


def test_api_latency_rising_toward_the_request_timeout_is_predicted() -> None:
    slowing = [replace(night(day, 100), api_latency_ms=900.0 + 250 * day) for day in range(8)]
    steady = [replace(night(day, 100, name="erp"), api_latency_ms=900.0) for day in range(8)]
    unasked = [replace(night(day, 100, name="hr"), api_latency_ms=None) for day in range(8)]
    limits = Limits(max_bad_ratio=0.5, max_duration_seconds=1000, max_api_latency_ms=3000)

    [prediction] = breach_predictions(slowing + steady + unasked, limits)

    assert (prediction.source, prediction.measure) == ("crm-#-#-#.csv", "API latency")
    assert prediction.latest == pytest.approx(2650) and prediction.limit == 3000
    assert prediction.forecast >= 3000 and prediction.runs_ahead == 2
    assert breach_predictions(slowing, LIMITS) == [], "not watched without its limit"
