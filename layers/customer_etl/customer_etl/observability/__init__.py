"""Observability: the one Logger, Metrics and Tracer (`telemetry`), the metric names the
alarms watch, one-metric emission, the enrichment APIs' metrics, peak memory and the
redaction filter on every log record.

May import: `core`.
"""
