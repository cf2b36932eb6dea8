"""One CloudWatch metric at a time, as Powertools EMF, with the service dimension."""

from __future__ import annotations

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from customer_etl.observability import metric_names


def emit_metric(name: str, unit: MetricUnit, value: float, **dimensions: str) -> None:
    """One metric with the service dimension and `dimensions`, exactly."""
    with single_metric(
        name=name,
        unit=unit,
        value=value,
        namespace=metric_names.NAMESPACE,
        default_dimensions={**metric_names.RUN_DIMENSIONS, **dimensions},
    ):
        pass
