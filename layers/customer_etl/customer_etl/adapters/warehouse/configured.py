"""The warehouse a configuration names, built with its secret resolved.

Beside the adapter rather than in the runtime's factory, because the health check builds one
too and nothing below the runtime may import it."""

from __future__ import annotations

from customer_etl.adapters.secrets import resolve_secret
from customer_etl.adapters.warehouse import ConnectionOptions, SqlWarehouse
from customer_etl.config.model import Config


def build_warehouse(config: Config) -> SqlWarehouse:
    settings = config.warehouse
    return SqlWarehouse(
        settings.url,
        password=resolve_secret(settings.password_ref),
        connection=ConnectionOptions(
            connect_timeout_seconds=settings.connect_timeout_seconds,
            connect_attempts=settings.connect_attempts,
            connect_backoff_seconds=settings.connect_backoff_seconds,
            pool_size=settings.pool_size,
            pool_timeout_seconds=settings.pool_timeout_seconds,
        ),
        batch_rows=settings.batch_rows,
        max_failed_batches=settings.max_failed_batches,
        auto_upgrade=settings.auto_upgrade,
    )
