"""The per-API figures: percentiles in the report, and the CloudWatch metrics they become."""

from __future__ import annotations

import json

import pytest

from customer_etl.core.api_stats import ApiStats
from customer_etl.observability.api_metrics import emit_api_metrics


def test_report_gives_rows_per_call_and_latency_percentiles() -> None:
    stats = ApiStats()
    for millis in range(1, 101):
        stats.record_call(keys=100 if millis % 2 else 50, seconds=millis / 1000)
    stats.record_state_change("closed", "open")
    report = stats.report()
    assert (report.calls, report.rows_per_call) == (100, 75.0)
    assert (report.latency_ms_p50, report.latency_ms_p95, report.latency_ms_max) == (
        50.0,
        95.0,
        100.0,
    )
    assert report.breaker_state_changes == {"closed->open": 1}


def test_an_api_never_called_reports_zeros() -> None:
    report = ApiStats().report()
    assert (report.calls, report.rows_per_call, report.latency_ms_p95) == (0, 0.0, 0.0)


def test_each_figure_becomes_a_metric_with_the_api_as_dimension(
    capsys: pytest.CaptureFixture[str],
) -> None:
    stats = ApiStats(fallback_rows=7)
    stats.record_call(keys=100, seconds=0.02)
    stats.record_error("http_503")
    stats.record_state_change("closed", "open")
    emit_api_metrics({"postcodes.io": stats.report()})

    emitted: dict[str, tuple[float, dict[str, str]]] = {}
    for line in capsys.readouterr().out.splitlines():
        blob = json.loads(line)
        [definition] = blob["_aws"]["CloudWatchMetrics"]
        [metric] = definition["Metrics"]
        dimensions = {name: blob[name] for name in definition["Dimensions"][0]}
        value = blob[metric["Name"]]
        emitted[metric["Name"]] = (value[0] if isinstance(value, list) else value, dimensions)
        assert definition["Namespace"] == "CustomerEtl"
    service = {"service": "customer-etl"}  # given, not left to POWERTOOLS_SERVICE_NAME
    assert emitted["ApiFallbackRows"] == (7, {**service, "stage": "enrich", "api": "postcodes.io"})
    assert emitted["ApiRowsPerCall"][0] == 100
    assert emitted["ApiLatencyMax"][0] == 20
    assert emitted["ApiErrors"] == (
        1,
        {**service, "stage": "enrich", "api": "postcodes.io", "error_kind": "http_503"},
    )
    assert emitted["ApiBreakerStateChanges"][1]["transition"] == "closed->open"
    assert {"ApiCalls", "ApiCacheHits", "ApiRetries", "ApiLatencyP50", "ApiLatencyP95"} <= set(
        emitted
    )
