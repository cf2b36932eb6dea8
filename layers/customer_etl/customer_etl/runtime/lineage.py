"""Build a run's lineage emitter from the configuration (`lineage`): the transport, and
what names the run's datasets and what the configuration masks and encrypts."""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import suppress
from functools import cache
from pathlib import Path

from openlineage.client.naming.dataset import S3, LocalFileSystem
from openlineage.client.transport import Transport
from openlineage.client.transport.amazon_datazone import (
    AmazonDataZoneConfig,
    AmazonDataZoneTransport,
)
from openlineage.client.transport.console import ConsoleConfig, ConsoleTransport
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.http import (
    ApiKeyTokenProvider,
    HttpConfig,
    HttpTransport,
    TokenProvider,
)
from sqlalchemy.engine import make_url

from customer_etl.adapters.aws import split_s3_uri
from customer_etl.adapters.lineage import OpenLineageEmitter
from customer_etl.adapters.private_files import private_file, private_folder
from customer_etl.adapters.secrets import resolve_secret
from customer_etl.config.lineage import LINEAGE_FILE, LineageSettings
from customer_etl.config.model import Config
from customer_etl.core.ports import LineageEmitter, NoLineage
from customer_etl.observability.telemetry import logger
from customer_etl.privacy.lineage import TABLES, Locations, Protection

HTTP_RETRY = {"total": 2, "connect": 2, "read": 2, "backoff_factor": 0.3}
"""Fewer retries than the client's five: a consumer that is down must not hold a run up
(each stage sends two events)."""
_SCHEMAS = {"postgresql": "public", "mssql": "dbo", "sqlite": "main"}


def lineage_emitter(config: Config, *, cloud: bool = False) -> LineageEmitter:
    """The emitter `config.lineage` asks for (NoLineage for `none`)."""
    settings = config.lineage
    if settings.transport == "none":
        return NoLineage()
    return OpenLineageEmitter(
        _transports(settings, config.pipeline.output_dir, cloud, config.aws.region),
        settings.namespace,
        locations(config, cloud=cloud),
        protection(config),
    )


def protection(config: Config) -> Protection:
    masking = config.privacy.masking
    encryption = config.encryption
    return Protection(
        masked=dict(masking.fields) if masking.enabled else {},
        encrypted=tuple(encryption.columns) if encryption.enabled else (),
        classification=config.privacy.classification,
    )


def locations(config: Config, *, cloud: bool = False) -> Locations:
    """Datasets' names: files by their absolute path (namespace `file`), objects by bucket
    and key (`s3://bucket`), tables as OpenLineage's naming spec gives them for the
    warehouse's database (never its credentials)."""
    root = config.pipeline.output_dir

    def checkpoint(uri: str) -> tuple[str, str]:
        # Local checkpoint URIs are relative to the runs folder (run/chunks.py).
        return _of_uri(uri, root if not cloud else None)

    return Locations(
        of_uri=checkpoint,
        of_source=lambda uri: _of_uri(uri, None),
        tables={name: table_dataset(config.warehouse.url, name) for name in TABLES},
    )


def table_dataset(url: str, table: str) -> tuple[str, str]:
    """(namespace, name) of a warehouse table: `postgres://host:port` and
    `database.public.table`, `mssql://host:port` and `database.dbo.table`, or for SQLite
    `sqlite://<absolute path of the file>` and `main.table`."""
    parsed = make_url(url)
    dialect = parsed.get_backend_name()
    schema = _SCHEMAS.get(dialect, "default")
    if dialect == "sqlite":
        database = parsed.database or ":memory:"
        where = database if database == ":memory:" else Path(database).resolve().as_posix()
        return f"sqlite://{where}", f"{schema}.{table}"
    scheme = "postgres" if dialect == "postgresql" else dialect
    port = parsed.port or {"postgres": 5432, "mssql": 1433}.get(scheme)
    return f"{scheme}://{parsed.host}:{port}", f"{parsed.database}.{schema}.{table}"


def _of_uri(uri: str, root: Path | None) -> tuple[str, str]:
    if uri.startswith("s3://"):
        bucket, key = split_s3_uri(uri)
        named = S3(bucket_name=bucket, object_key=key or "/")
        return named.get_namespace(), named.get_name()
    path = Path(uri.removeprefix("file://"))
    if root is not None and not path.is_absolute():
        path = root / path
    local = LocalFileSystem(path=path.resolve().as_posix())
    return local.get_namespace(), local.get_name()


def _transports(
    settings: LineageSettings, root: Path, cloud: bool, region: str | None = None
) -> Callable[[str], Transport | None]:
    if settings.transport == "datazone":
        return _datazone(str(settings.datazone_domain_id), region)
    if settings.transport == "console":
        console = ConsoleTransport(ConsoleConfig())
        return lambda run_id: console
    if settings.transport == "http":
        return _http(settings)
    if settings.file_path is None and cloud:
        logger.warning(
            "lineage.transport file needs lineage.file_path in the cloud: no lineage is sent"
        )
        return lambda run_id: None

    @cache
    def file_of(run_id: str) -> Transport:
        path = settings.file_path or root / run_id / LINEAGE_FILE
        # Owner-only like the rest of the run folder: the transport appends to the file
        # made here, which keeps its mode. One that cannot be made is the transport's to
        # report, event by event, as before.
        with suppress(OSError):
            private_folder(path.parent)
            os.close(private_file(path, append=True))
        return FileTransport(FileConfig(log_file_path=str(path), append=True))

    return file_of


def _datazone(domain_id: str, region: str | None) -> Callable[[str], Transport | None]:
    @cache
    def transport() -> Transport:
        # Built when the first event goes: a boto3 client, the caller's AWS credentials.
        return AmazonDataZoneTransport(AmazonDataZoneConfig(domain_id=domain_id, region=region))

    return lambda run_id: transport()


def _http(settings: LineageSettings) -> Callable[[str], Transport | None]:
    @cache
    def transport() -> Transport:
        # Read when the first event goes, so a run without lineage reads no secret.
        key = resolve_secret(settings.api_key_ref)
        return HttpTransport(
            HttpConfig(
                # The client joins these with urljoin: without the slash, a base URL with a
                # path (DataHub's `/openapi/openlineage`) would lose its last segment.
                url=f"{str(settings.http_url).rstrip('/')}/",
                endpoint=settings.http_endpoint.lstrip("/"),
                timeout=settings.timeout_seconds,
                auth=ApiKeyTokenProvider({"apiKey": key}) if key else TokenProvider({}),
                retry=HTTP_RETRY,
            )
        )

    return lambda run_id: transport()
