"""The warehouse a configuration names, built with its secret resolved.

Beside the adapter rather than in the runtime's factory, because the health check builds one
too and nothing below the runtime may import it."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from customer_etl.adapters.secrets import resolve_secret
from customer_etl.adapters.warehouse import ConnectionOptions, SqlWarehouse
from customer_etl.config.model import Config
from customer_etl.core.errors import StageError

VERIFYING_SSLMODES = ("verify-full", "verify-ca")
"""PostgreSQL modes that check the server's certificate (`require` only encrypts)."""


def secured_url(config: Config) -> str:
    """The warehouse URL with certificate validation on unless configured off.

    SQL Server: `TrustServerCertificate=no` (Encrypt=yes is forced by the engine), `yes` only
    with `warehouse.tls.trust_server_certificate`. PostgreSQL outside `local`:
    `sslmode=verify-full` unless the URL names a mode, with `sslrootcert` from
    `warehouse.tls.ca_bundle`, else the system's CA store. Local runs keep libpq's default
    (`prefer`): the CI server and a developer's database need no certificate."""
    settings = config.warehouse
    url = make_url(settings.url)
    tls = settings.tls
    updates: dict[str, str] = {}
    backend = url.get_backend_name()
    if backend == "mssql":
        asked = str(url.query.get("TrustServerCertificate", "no")).lower() in ("yes", "true")
        if asked and not tls.trust_server_certificate:
            raise StageError(
                "warehouse URL sets TrustServerCertificate=yes: the server's certificate would "
                "not be validated; remove it, or set warehouse.tls.trust_server_certificate "
                "to accept that explicitly"
            )
        updates["TrustServerCertificate"] = "yes" if tls.trust_server_certificate else "no"
    elif backend == "postgresql":
        if "sslmode" not in url.query and config.environment != "local":
            updates["sslmode"] = "verify-full"
        mode = updates.get("sslmode") or str(url.query.get("sslmode", ""))
        if tls.ca_bundle is not None:
            updates["sslrootcert"] = str(tls.ca_bundle)
        elif mode in VERIFYING_SSLMODES and "sslrootcert" not in url.query:
            # libpq 16+: the system's trusted CAs (Lambda's are Amazon Linux's).
            updates["sslrootcert"] = "system"
    if not updates:
        return settings.url
    return url.update_query_dict(updates).render_as_string(hide_password=False)


def build_warehouse(config: Config) -> SqlWarehouse:
    settings = config.warehouse
    return SqlWarehouse(
        secured_url(config),
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
