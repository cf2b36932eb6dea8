"""Is the configuration valid: the file and its overrides, the quality rules it names and,
in the cloud, the resource names the stack sets on each function."""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter

from customer_etl.config.model import Config
from customer_etl.core.errors import CustomerEtlError
from customer_etl.health.report import ComponentHealth, Status
from customer_etl.run.settings import stage_settings

COMPONENT = "config"

CLOUD_NAMES = (
    "checkpoint_bucket",
    "quarantine_queue_url",
    "alert_topic_arn",
    "enrichment_cache_table",
    "circuit_breaker_table",
)
"""The `aws` settings every function needs; the stack sets them as environment variables."""


def check_config(
    load: Callable[[], Config], *, cloud: bool
) -> tuple[Config | None, ComponentHealth]:
    """The configuration and its health. The configuration is None when the other checks
    cannot run on it: it does not load, or (cloud) it does not name the resources.

    Every other check needs the configuration, so this one runs first and alone. Our
    configuration errors name the file and key (or variable) but never the value."""
    started = perf_counter()
    config: Config | None = None
    try:
        config = load()
        stage_settings(config)  # the rules file is read when a run starts: read it now
        missing = [name for name in CLOUD_NAMES if cloud and not getattr(config.aws, name)]
        if missing:
            config, status = None, Status.UNHEALTHY
            message = (
                f"aws.{', aws.'.join(missing)} not set: the stack sets them on every "
                "function; redeploy it"
            )
        else:
            status, message = Status.HEALTHY, f"environment {config.environment} is valid"
    except CustomerEtlError as error:
        status, message = Status.UNHEALTHY, str(error)
    latency_ms = round((perf_counter() - started) * 1000, 1)
    return config, ComponentHealth(COMPONENT, status, latency_ms, message)
