"""Build the ports of a run from the configuration: local or AWS."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

from customer_etl.adapters.aws import (
    S3CheckpointStore,
    S3InputStore,
    SnsNotifier,
    SqsQuarantineSink,
)
from customer_etl.adapters.local import (
    LocalCheckpointStore,
    LocalInputStore,
    LocalQuarantineSink,
    LogNotifier,
    SmtpNotifier,
)
from customer_etl.adapters.postcodes_io import PostcodesIoLookup
from customer_etl.adapters.secrets import resolve_secret
from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.config.model import Config
from customer_etl.pipeline import Ports
from customer_etl.ports import Notifier, PostcodeLookup, Warehouse


def build_warehouse(config: Config) -> SqlWarehouse:
    settings = config.warehouse
    return SqlWarehouse(
        settings.url,
        password=resolve_secret(settings.password_ref),
        connect_timeout_seconds=settings.connect_timeout_seconds,
    )


def _postcodes(config: Config) -> PostcodeLookup | None:
    settings = config.enrichment.postcodes
    return PostcodesIoLookup(settings) if settings.enabled else None


def _lazy_warehouse(config: Config) -> Callable[[], Warehouse]:
    """The warehouse, connected on first use and then reused."""
    return cache(lambda: build_warehouse(config))


def local_notifier(config: Config) -> Notifier:
    if config.alerts.smtp.host:
        return SmtpNotifier(config.alerts, resolve_secret(config.alerts.smtp.password_ref))
    return LogNotifier()


def local_ports(config: Config) -> Ports:
    root = config.pipeline.output_dir
    return Ports(
        inputs=LocalInputStore(),
        checkpoints=LocalCheckpointStore(root),
        quarantine=LocalQuarantineSink(root),
        warehouse=_lazy_warehouse(config),
        postcodes=_postcodes(config),
        notifier=local_notifier(config),
    )


def cloud_ports(config: Config) -> Ports:
    aws = config.aws
    return Ports(
        inputs=S3InputStore(),
        checkpoints=S3CheckpointStore(aws.checkpoint_bucket),
        quarantine=SqsQuarantineSink(aws.checkpoint_bucket, aws.quarantine_queue_url),
        warehouse=_lazy_warehouse(config),
        postcodes=_postcodes(config),
        notifier=SnsNotifier(aws.alert_topic_arn),
    )


__all__ = ["Warehouse", "build_warehouse", "cloud_ports", "local_ports"]
