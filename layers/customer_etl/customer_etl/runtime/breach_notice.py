"""The P3 "likely to breach" notice after a successful run: when the recent runs of the
run's source trend toward a limit (reporting/forecast.py), one notice through the alert
path, each forecast with its confidence, so that someone looks before the limit is crossed
rather than after (docs/incident-response.md#likelytobreach).

Figures only: the notice names the run, the measures and the numbers, never the source's
file name (which a sender may fill with anything) or a record's value. A notice is a help,
never a condition of the run: any failure here is logged by class and left.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from customer_etl.alerting import messages
from customer_etl.config import Config
from customer_etl.core.manifest import RunManifest
from customer_etl.core.ports import Notifier, Warehouse
from customer_etl.observability.telemetry import logger
from customer_etl.reporting.forecast import Prediction, breach_predictions, source_of
from customer_etl.reporting.period_report import BASELINE
from customer_etl.runtime.report_command import forecast_limits


def source_predictions(
    warehouse: Warehouse, manifest: RunManifest, config: Config, now: datetime
) -> list[Prediction]:
    """The predictions for the run's own source, from the runs of the last 28 days."""
    records = warehouse.runs_between(now - BASELINE, now + timedelta(seconds=1))
    source = source_of(manifest.source_file)
    found = breach_predictions(records, forecast_limits(config))
    return [prediction for prediction in found if prediction.source == source]


def forecast_lines(predictions: list[Prediction]) -> str:
    return "\n".join(
        f"- {p.measure}: latest {p.latest:.3g}, forecast {p.forecast:.3g} against the limit "
        f"{p.limit:.3g} within {p.runs_ahead} run(s); confidence {100 * p.confidence:.0f}%"
        for p in predictions
    )


def notify_likely_breaches(
    warehouse: Callable[[], Warehouse],
    notifier: Notifier,
    manifest: RunManifest,
    config: Config,
    now: datetime | None = None,
) -> list[Prediction]:
    """Send the notice when the run's source is likely to breach a limit; the predictions."""
    try:
        predictions = source_predictions(warehouse(), manifest, config, now or datetime.now(UTC))
        if predictions:
            notifier.send(
                messages.likely_to_breach(manifest, forecast_lines(predictions), config.alerts)
            )
            logger.warning(
                "likely to breach a limit",
                extra={"measures": [p.measure for p in predictions], "run_id": manifest.run_id},
            )
    except Exception as error:  # the run succeeded: a forecast must not make it fail
        logger.error("no breach forecast", extra={"error_class": type(error).__name__})
        return []
    return predictions
