"""The enrichment APIs' figures as CloudWatch metrics (Powertools EMF), one metric per
figure with the API as a dimension, so one dashboard widget can show both APIs."""

from __future__ import annotations

from collections.abc import Mapping

from aws_lambda_powertools.metrics import MetricUnit

from customer_etl.core.api_stats import ApiReport
from customer_etl.observability.metrics import emit_metric

_COUNTS = {
    "ApiCalls": "calls",
    "ApiCacheHits": "cache_hits",
    "ApiSuccesses": "successes",
    "ApiRetries": "retries",
    "ApiFallbackRows": "fallback_rows",
    "ApiUnknownRows": "unknown_rows",
    "ApiDeferredRows": "deferred_rows",
}
_MILLISECONDS = {
    "ApiLatencyP50": "latency_ms_p50",
    "ApiLatencyP95": "latency_ms_p95",
    "ApiLatencyMax": "latency_ms_max",
}


def emit_api_metrics(apis: Mapping[str, ApiReport]) -> None:
    for api, report in apis.items():
        figures = report.model_dump()
        for name, field in _COUNTS.items():
            _emit(name, MetricUnit.Count, figures[field], api=api)
        for name, field in _MILLISECONDS.items():
            _emit(name, MetricUnit.Milliseconds, figures[field], api=api)
        _emit("ApiRowsPerCall", MetricUnit.Count, report.rows_per_call, api=api)
        for kind, count in report.errors.items():
            _emit("ApiErrors", MetricUnit.Count, count, api=api, error_kind=kind)
        for transition, count in report.breaker_state_changes.items():
            _emit("ApiBreakerStateChanges", MetricUnit.Count, count, api=api, transition=transition)


def _emit(name: str, unit: MetricUnit, value: float, **dimensions: str) -> None:
    # The service dimension is given (observability.metrics), not left to
    # POWERTOOLS_SERVICE_NAME: the dashboard widgets match the whole dimension set.
    emit_metric(name, unit, value, stage="enrich", **dimensions)
