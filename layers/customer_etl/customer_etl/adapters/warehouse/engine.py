"""One SQLAlchemy engine per warehouse: pool, timeouts, TLS, the SQLite transaction fix,
and connecting with retries."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, Connection
from sqlalchemy.exc import InterfaceError, OperationalError
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from customer_etl.adapters.warehouse.diagnosis import is_transient, kind_of, warehouse_error
from customer_etl.config.model import WAREHOUSE_DIALECTS
from customer_etl.core.errors import StageError, WarehouseUnavailableError, WarehouseWriteError
from customer_etl.observability.telemetry import logger

SUPPORTED_DIALECTS = WAREHOUSE_DIALECTS
CONNECTION_ERRORS = (OperationalError, InterfaceError)
"""What a lost or refused connection raises, on every driver."""


@dataclass(frozen=True)
class ConnectionOptions:
    """How the warehouse is connected to. The configuration's `warehouse` section fills it."""

    connect_timeout_seconds: int = 10
    connect_attempts: int = 3
    connect_backoff_seconds: float = 0.5
    pool_size: int = 5
    pool_timeout_seconds: int = 30


def checked_url(url: URL) -> URL:
    """The URL to connect with: a supported dialect, and TLS to SQL Server."""
    backend = url.get_backend_name()
    if backend not in SUPPORTED_DIALECTS:
        raise StageError(
            f"warehouse dialect {backend} is not supported yet: use sqlite, postgresql or mssql"
        )
    if backend != "mssql":
        return url
    encrypt = str(url.query.get("Encrypt", "yes")).lower()
    if encrypt not in ("yes", "true", "mandatory", "strict"):
        raise StageError(
            f"warehouse URL sets Encrypt={encrypt}: connections to SQL Server must be "
            "encrypted; remove the setting or set Encrypt=yes"
        )
    return url.update_query_dict({"Encrypt": "yes"} if "Encrypt" not in url.query else {})


def build_engine(url: URL, options: ConnectionOptions) -> Engine:
    backend = url.get_backend_name()
    arguments: dict[str, Any] = {"pool_pre_ping": True}
    if _is_file_or_server(url):
        arguments |= {"pool_size": options.pool_size, "pool_timeout": options.pool_timeout_seconds}
    if backend == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        # A busy database makes a writer wait this long before "database is locked".
        arguments["connect_args"] = {"timeout": options.connect_timeout_seconds}
    elif backend == "postgresql":
        arguments["connect_args"] = {"connect_timeout": options.connect_timeout_seconds}
    else:
        # pyodbc's `timeout` is the login timeout; fast_executemany sends a whole sub-batch
        # to the staging table as one parameter array.
        arguments |= {
            "connect_args": {"timeout": options.connect_timeout_seconds},
            "fast_executemany": True,
        }
    try:
        engine = create_engine(url, **arguments)
    except ModuleNotFoundError as missing:
        raise StageError(
            f"the {backend} driver {missing.name} is not installed: for SQL Server, "
            "pip install 'customer-etl[mssql]' and install Microsoft's ODBC Driver 18"
        ) from None
    if backend == "sqlite":
        _emit_begin_ourselves(engine)
    return engine


def _is_file_or_server(url: URL) -> bool:
    """False for an in-memory SQLite database, whose pool holds one connection per thread."""
    return url.get_backend_name() != "sqlite" or url.database not in (None, "", ":memory:")


def _emit_begin_ourselves(engine: Engine) -> None:
    """SQLAlchemy's documented fix for SAVEPOINT on pysqlite: the driver's own transaction
    handling does not begin a transaction before SAVEPOINT, so a nested rollback followed by
    an outer rollback left rows behind. The driver is put in autocommit mode and SQLAlchemy
    emits BEGIN itself."""

    @event.listens_for(engine, "connect")
    def _driver_autocommit(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN")


def database_file(url: URL) -> Path | None:
    """The file of a SQLite warehouse (None for another dialect or an in-memory database)."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    database = str(url.database)
    return Path(database.removeprefix("file:") if url.query.get("uri") else database)


def connect(
    engine: Engine, options: ConnectionOptions, display_url: str, database: Path | None = None
) -> Connection:
    """A connection from the pool, retried with exponential backoff and jitter while the
    server refuses or drops it; WarehouseUnavailableError (retryable) once the attempts run
    out, WarehouseWriteError at once for a warehouse no retry can cure (see `unavailable`).
    Jitter keeps many functions that failed together from retrying together."""
    retrying = Retrying(
        stop=stop_after_attempt(options.connect_attempts),
        wait=wait_exponential(multiplier=options.connect_backoff_seconds, max=30)
        + wait_random(0, options.connect_backoff_seconds),
        retry=retry_if_exception_type(CONNECTION_ERRORS) & retry_if_exception(is_transient),
        before_sleep=_log_retry,
        reraise=True,
    )
    try:
        return retrying(engine.connect)
    except CONNECTION_ERRORS as error:
        raise unavailable(display_url, error, "cannot be reached", database) from None


def _log_retry(state: RetryCallState) -> None:
    """One line per retry, as the API clients log theirs: the attempt, the wait and the
    error's class and kind; never the URL (its password) nor the driver's message (it can
    quote the host and the user)."""
    error = state.outcome.exception() if state.outcome else None
    logger.warning(
        "warehouse connection failed; retrying",
        extra={
            "attempt": state.attempt_number,
            "wait_seconds": round(state.upcoming_sleep, 3),
            "error_class": type(error).__name__,
            "error_kind": kind_of(error).value if error is not None else None,
        },
    )


def unavailable(
    display_url: str, error: Exception, what: str, database: Path | None = None
) -> WarehouseUnavailableError | WarehouseWriteError:
    """Our error for a lost, refused, locked or unwritable warehouse, naming which it is and
    what to do, and the driver's error class only (its message may quote a value):
    WarehouseUnavailableError (retryable) when it is down or locked, WarehouseWriteError when
    it is read-only, immutable or its disk is full. `what` says what happened to a warehouse
    that cannot be reached ("cannot be reached", "failed during the load")."""
    return warehouse_error(display_url, error, what, database)
