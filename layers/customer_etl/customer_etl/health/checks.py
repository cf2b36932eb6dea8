"""The health of a local installation or of the cloud deployment: which components are
checked in each, and how, from the configuration.

Example:
    >>> report = local_health(lambda: load_config("local"))  # doctest: +SKIP
    >>> report.as_json()["status"]  # doctest: +SKIP
    'degraded'
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from customer_etl.adapters.aws_client import aws_client
from customer_etl.config.model import Config
from customer_etl.core.ports import KeyProvider
from customer_etl.health import apis, database, disk, keys, object_store, warehouse_tls
from customer_etl.health.configuration import check_config
from customer_etl.health.report import Finding, HealthReport, Status
from customer_etl.health.runner import Check, run_checks
from customer_etl.stages.enrich import COMPANIES_API, POSTCODES_API

KeyProviderFactory = Callable[[Config], KeyProvider]
"""Builds the key provider of a configuration (`runtime.factory.build_key_provider`)."""


def local_health(
    load: Callable[[], Config], key_provider: KeyProviderFactory | None = None
) -> HealthReport:
    """Configuration, runs folder, warehouse, key file, enrichment APIs and free disk."""
    config, config_health = check_config(load, cloud=False)
    if config is None:
        return HealthReport.of([config_health])
    output_dir = config.pipeline.output_dir
    checks = [
        Check(database.COMPONENT, partial(database.check_warehouse, config)),
        Check(object_store.COMPONENT, partial(object_store.check_output_dir, output_dir)),
        Check(disk.COMPONENT, partial(disk.check_disk, output_dir, config.health)),
        _local_key_check(config, key_provider),
        *_api_checks(config, apis.in_process_breaker),
    ]
    report = run_checks(checks, config.health.check_timeout_seconds)
    return HealthReport.of([config_health, *report.components])


def cloud_health(
    load: Callable[[], Config],
    key_provider: KeyProviderFactory | None = None,
    *,
    s3: Any | None = None,
    dynamodb: Any | None = None,
) -> HealthReport:
    """Configuration, checkpoint bucket, warehouse, KMS key, and the enrichment APIs with
    their shared breaker state. Clients are created here, inside the call, never at import."""
    config, config_health = check_config(load, cloud=True)
    if config is None:
        return HealthReport.of([config_health])
    aws = config.aws
    s3 = s3 or aws_client("s3")
    dynamodb = dynamodb or aws_client("dynamodb")
    checks = [
        Check(database.COMPONENT, partial(database.check_warehouse, config)),
        # The ODBC driver's presence and the connection's certificate validation.
        Check(warehouse_tls.COMPONENT, partial(warehouse_tls.check_transport, config)),
        Check(
            object_store.COMPONENT, partial(object_store.check_bucket, s3, aws.checkpoint_bucket)
        ),
        _key_check(config, key_provider),
        *_api_checks(config, apis.dynamodb_breaker(dynamodb, aws.circuit_breaker_table)),
    ]
    report = run_checks(checks, config.health.check_timeout_seconds)
    return HealthReport.of([config_health, *report.components])


def _local_key_check(config: Config, key_provider: KeyProviderFactory | None) -> Check:
    """As `_key_check`, but a missing key file is reported, not created: a health check
    that made a new key would hide a lost one, and rows encrypted under it."""
    settings = config.encryption
    if settings.enabled and not settings.kms_key_id and not settings.key_file.exists():
        message = (
            f"key file {settings.key_file} does not exist: a first run against an empty "
            "warehouse creates it; once the warehouse holds data keys, runs refuse to start "
            "until it is restored from its backup"
        )
        return Check(keys.COMPONENT, partial(Finding, Status.DEGRADED, message))
    return _key_check(config, key_provider)


def _key_check(config: Config, key_provider: KeyProviderFactory | None) -> Check:
    if not config.encryption.enabled:
        return _skipped(keys.COMPONENT, "encryption.enabled is false")
    if key_provider is None:
        # Said rather than hidden: a caller that cannot build the provider gets a warning.
        message = "not checked: no key provider factory was given to the health check"
        return Check(keys.COMPONENT, partial(Finding, Status.DEGRADED, message))
    build = key_provider
    return Check(keys.COMPONENT, partial(keys.check_key_provider, lambda: build(config)))


def _api_checks(config: Config, breaker: apis.BreakerReader) -> list[Check]:
    settings = config.enrichment
    timeout = config.health.check_timeout_seconds
    checks = []
    postcodes, companies = apis.component_name(POSTCODES_API), apis.component_name(COMPANIES_API)
    if settings.postcodes.enabled:
        probe = partial(apis.check_postcodes, settings.postcodes, timeout, breaker)
        checks.append(Check(postcodes, probe, required=False))
    else:
        checks.append(_skipped(postcodes, "enrichment.postcodes.enabled is false"))
    if settings.companies_house.enabled:
        probe = partial(apis.check_companies_house, settings.companies_house, timeout, breaker)
        checks.append(Check(companies, probe, required=False))
    else:
        checks.append(_skipped(companies, "enrichment.companies_house.enabled is false"))
    return checks


def _skipped(name: str, message: str) -> Check:
    return Check(name, partial(Finding, Status.SKIPPED, message))
