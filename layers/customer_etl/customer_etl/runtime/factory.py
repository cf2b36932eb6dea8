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
from customer_etl.adapters.keys_kms import KmsKeyProvider
from customer_etl.adapters.keys_local import LocalKeyFile
from customer_etl.adapters.local import (
    LocalCheckpointStore,
    LocalInputStore,
    LocalQuarantineSink,
    LogNotifier,
    SmtpNotifier,
)
from customer_etl.adapters.parquet_crypto import LocalRunArtefacts
from customer_etl.adapters.secrets import resolve_secret
from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.adapters.warehouse.configured import build_warehouse
from customer_etl.config.model import Config
from customer_etl.core.ports import KeyProvider, Notifier, Warehouse
from customer_etl.privacy.envelope import FieldProtection
from customer_etl.run.pipeline import Ports
from customer_etl.runtime.enrichment import cloud_enrichment, local_enrichment
from customer_etl.runtime.lineage import lineage_emitter
from customer_etl.runtime.protection import field_protection, key_provider


def build_key_provider(
    config: Config, *, warehouse: SqlWarehouse | None = None
) -> KmsKeyProvider | LocalKeyFile:
    """The key-encryption key of the configuration (KMS if a key is set, else the key
    file), checked against the warehouse's `data_keys`: a missing local key file is created
    only while the warehouse holds no data key. `warehouse` defaults to the configured one,
    opened only if the check is needed."""
    return key_provider(config, known_kek_ids=_kek_ids(config, warehouse))


def _kek_ids(config: Config, warehouse: SqlWarehouse | None) -> Callable[[], frozenset[str]]:
    if warehouse is not None:
        return warehouse.kek_ids

    def read() -> frozenset[str]:
        opened = build_warehouse(config)
        try:
            return opened.kek_ids()
        finally:
            opened.dispose()

    return read


def _lazy_warehouse(config: Config) -> Callable[[], SqlWarehouse]:
    """The warehouse, connected on first use and then reused."""
    return cache(lambda: build_warehouse(config))


def local_notifier(config: Config) -> Notifier:
    if config.alerts.smtp.host:
        return SmtpNotifier(config.alerts, resolve_secret(config.alerts.smtp.password_ref))
    return LogNotifier()


def local_artefacts(
    config: Config, protection: Callable[[], FieldProtection | None] | None = None
) -> LocalRunArtefacts:
    """How the runs folder's Parquet files are encrypted: under the key provider of the
    field protection (so one switch, `encryption.enabled`, covers the warehouse and the run
    artefacts), built on first use."""
    if protection is None:
        warehouse = _lazy_warehouse(config)
        protection = cache(
            lambda: field_protection(config, known_kek_ids=lambda: warehouse().kek_ids())
        )
    chosen = protection

    def keys() -> KeyProvider | None:
        built = chosen()
        return built.keys if built is not None else None

    return LocalRunArtefacts(config.pipeline.output_dir, keys)


def local_ports(config: Config) -> Ports:
    root = config.pipeline.output_dir
    warehouse = _lazy_warehouse(config)
    protection = cache(
        lambda: field_protection(config, known_kek_ids=lambda: warehouse().kek_ids())
    )
    artefacts = local_artefacts(config, protection)
    return Ports(
        inputs=LocalInputStore(),
        checkpoints=LocalCheckpointStore(root, artefacts),
        quarantine=LocalQuarantineSink(root, artefacts),
        warehouse=warehouse,
        enrichment=cache(lambda: local_enrichment(config)),
        notifier=local_notifier(config),
        protection=protection,
        lineage=lineage_emitter(config),
    )


def cloud_ports(config: Config) -> Ports:
    aws = config.aws
    return Ports(
        inputs=S3InputStore(),
        checkpoints=S3CheckpointStore(aws.checkpoint_bucket),
        quarantine=SqsQuarantineSink(
            aws.quarantine_bucket or aws.checkpoint_bucket, aws.quarantine_queue_url
        ),
        warehouse=_lazy_warehouse(config),
        enrichment=cache(lambda: cloud_enrichment(config)),
        notifier=SnsNotifier(aws.alert_topic_arn),
        protection=cache(lambda: field_protection(config, cloud=True)),
        lineage=lineage_emitter(config, cloud=True),
    )


__all__ = [
    "Warehouse",
    "build_key_provider",
    "build_warehouse",
    "cloud_ports",
    "local_artefacts",
    "local_ports",
]
