"""What a database error means for the operator: which kind of trouble it is (locked,
read-only, immutable, disk full, cannot be opened, unreachable), whether a retry can cure it,
and what to do. Decided from the driver's error code (SQLite's result code, PostgreSQL's
SQLSTATE), never from its message, and reported by class and kind only: a driver's message
may quote a value."""

from __future__ import annotations

import os
import struct
from enum import StrEnum
from pathlib import Path

from customer_etl.core.errors import WarehouseUnavailableError, WarehouseWriteError
from customer_etl.observability.telemetry import logger


class Kind(StrEnum):
    LOCKED = "locked"
    READ_ONLY = "read_only"
    IMMUTABLE = "immutable"
    DISK_FULL = "disk_full"
    CANNOT_OPEN = "cannot_open"
    UNREACHABLE = "unreachable"


TRANSIENT = frozenset({Kind.LOCKED, Kind.CANNOT_OPEN, Kind.UNREACHABLE})
"""Kinds a retry or a resume may cure without anyone acting (another writer finishes, a
server or a mount comes back); the others fail the same way until someone acts."""

# SQLite's primary result codes (https://sqlite.org/rescode.html); an extended code keeps
# the primary one in its low byte.
_SQLITE = {
    5: Kind.LOCKED,  # SQLITE_BUSY: another connection holds the lock
    6: Kind.LOCKED,  # SQLITE_LOCKED: a conflict inside the same connection's cache
    8: Kind.READ_ONLY,  # SQLITE_READONLY
    13: Kind.DISK_FULL,  # SQLITE_FULL
    14: Kind.CANNOT_OPEN,  # SQLITE_CANTOPEN
}
# PostgreSQL's SQLSTATEs (https://www.postgresql.org/docs/current/errcodes-appendix.html).
_POSTGRES = {
    "55P03": Kind.LOCKED,  # lock_not_available
    "40P01": Kind.LOCKED,  # deadlock_detected
    "25006": Kind.READ_ONLY,  # read_only_sql_transaction (a standby, a read-only setting)
    "53100": Kind.DISK_FULL,  # disk_full
}

_FS_IOC_GETFLAGS = 0x80086601
_FS_IMMUTABLE_FL = 0x10


def kind_of(error: BaseException, database: Path | None = None) -> Kind:
    """The kind of trouble `error` (a SQLAlchemy error or the driver's own) reports.
    `database` is a SQLite warehouse's file: a read-only one is looked at to tell an
    immutable file from one that is read-only."""
    cause = getattr(error, "orig", None) or error
    code = getattr(cause, "sqlite_errorcode", None)
    if isinstance(code, int):
        kind = _SQLITE.get(code & 0xFF, Kind.UNREACHABLE)
        if kind is Kind.READ_ONLY and database is not None and _immutable(database):
            return Kind.IMMUTABLE
        return kind
    state = getattr(cause, "sqlstate", None) or getattr(cause, "pgcode", None)
    if isinstance(state, str):
        return _POSTGRES.get(state, Kind.UNREACHABLE)
    return Kind.UNREACHABLE


def is_transient(error: BaseException) -> bool:
    """Whether a retry may cure `error` (the connection retries use it)."""
    return kind_of(error) in TRANSIENT


def warehouse_error(
    display_url: str, error: BaseException, what: str, database: Path | None = None
) -> WarehouseUnavailableError | WarehouseWriteError:
    """Our error for a database error: WarehouseUnavailableError (retryable) for a warehouse
    that is down or locked for now, WarehouseWriteError for one that refuses every write.
    The message names the kind and what to do; the log line records the class and the kind
    (no URL, no driver message)."""
    kind = kind_of(error, database)
    cause = getattr(error, "orig", None) or error
    driver_class = type(cause).__name__
    where = f"the database file {database}" if database is not None else "the database"
    problem, advice = _EXPLAINED[kind]
    if kind is Kind.UNREACHABLE:
        problem = what
    message = (
        f"warehouse {display_url} {problem} ({driver_class}): "
        + advice.format(where=where, file=database or "the database file")
        + ", then resume the run (redrive its execution in the cloud)"
    )
    failure: WarehouseUnavailableError | WarehouseWriteError = (
        WarehouseUnavailableError(message, kind.value)
        if kind in TRANSIENT
        else WarehouseWriteError(message, kind.value)
    )
    logger.warning(
        "warehouse error",
        extra={
            "error_class": type(failure).__name__,
            "kind": kind.value,
            "driver_error_class": driver_class,
            "transient": kind in TRANSIENT,
        },
    )
    return failure


_EXPLAINED: dict[Kind, tuple[str, str]] = {
    Kind.LOCKED: (
        "is locked by another connection",
        "another run or a tool holds a write lock (a writer waits "
        "warehouse.connect_timeout_seconds for it); let it finish or stop it",
    ),
    Kind.READ_ONLY: (
        "is read-only and refuses writes",
        "make {where} writable (its permissions, its folder's, a read-only mount, a "
        "`mode=ro` URL, or a read-only server or standby)",
    ),
    Kind.IMMUTABLE: (
        "cannot be written: the file is marked immutable",
        "nobody can write it, not even root; remove the flag with `chattr -i {file}`",
    ),
    Kind.DISK_FULL: (
        "cannot be written: its disk is full",
        "free space on the filesystem holding {where} (or raise its quota)",
    ),
    Kind.CANNOT_OPEN: (
        "cannot be opened",
        "check that {where} and its folder exist and may be read and written",
    ),
    Kind.UNREACHABLE: ("cannot be reached", "check it is up"),
}


def _immutable(path: Path) -> bool:
    """Whether `path` carries the immutable attribute (`chattr +i`, Linux only). Any doubt
    (another system, a filesystem without attributes) answers no."""
    try:
        import fcntl

        descriptor = os.open(path, os.O_RDONLY)
    except (ImportError, OSError):
        return False
    try:
        flags = fcntl.ioctl(descriptor, _FS_IOC_GETFLAGS, bytes(4))
    except OSError:
        return False
    finally:
        os.close(descriptor)
    return bool(struct.unpack("I", flags[:4])[0] & _FS_IMMUTABLE_FL)
