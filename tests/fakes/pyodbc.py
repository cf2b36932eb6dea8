"""A stand-in for the pyodbc module that records what SQLAlchemy's real SQL Server dialect
sends, so that the SQL Server load can be checked where no SQL Server can run.

It answers the few queries the dialect asks when it first connects (server version 16,
the default schema, the isolation level), the schema revision, and the per-action counts;
every other statement succeeds and returns no rows. Only public DB-API surface is faked.
"""

from __future__ import annotations

import types
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SERVER_VERSION = "16.0.1000.6"  # SQL Server 2022


class Error(Exception):
    pass


class Warning(Exception):  # noqa: N818 - DB-API names
    pass


class InterfaceError(Error):
    pass


class DatabaseError(Error):
    pass


class DataError(DatabaseError):
    pass


class OperationalError(DatabaseError):
    pass


class IntegrityError(DatabaseError):
    pass


class InternalError(DatabaseError):
    pass


class ProgrammingError(DatabaseError):
    pass


class NotSupportedError(DatabaseError):
    pass


@dataclass
class Call:
    """One call that reached the driver: a statement with its parameter rows, or a
    transaction verb (COMMIT, ROLLBACK)."""

    sql: str
    rows: list[Sequence[Any]] = field(default_factory=list)
    many: bool = False
    fast_executemany: bool = False


@dataclass
class Server:
    calls: list[Call] = field(default_factory=list)
    revision: str | None = None
    actions: dict[str, int] = field(default_factory=dict)
    refuse: str | None = None
    """Statements containing this text fail with IntegrityError, as a constraint would."""

    def answer(self, sql: str) -> list[tuple[Any, ...]]:
        answers: dict[str, list[tuple[Any, ...]]] = {
            "SERVERPROPERTY('ProductVersion')": [(SERVER_VERSION,)],
            "schema_name()": [("dbo",)],
            "sys.system_views": [("dm_exec_sessions",)],
            "transaction_isolation_level": [("READ COMMITTED",)],
            "'test max support'": [("test max support",)],
            "alembic_version": [(self.revision,)] if self.revision else [],
            "customer_changes.action": sorted(self.actions.items()),
        }
        for marker, rows in answers.items():
            if marker in sql:
                return rows
        if "FROM sys.objects" in sql:
            # "Does this table exist?": the version table does once a revision is set.
            return [("alembic_version",)] if self.revision else []
        return []


class Cursor:
    def __init__(self, server: Server) -> None:
        self._server = server
        self._rows: list[tuple[Any, ...]] = []
        self.description: list[tuple[Any, ...]] | None = None
        self.rowcount = -1
        self.fast_executemany = False

    def execute(self, sql: str, *parameters: Any) -> Cursor:
        rows = (
            list(parameters[0])
            if len(parameters) == 1 and isinstance(parameters[0], (list, tuple))
            else list(parameters)
        )
        self._server.calls.append(Call(sql, [rows] if rows else []))
        if self._server.refuse and self._server.refuse in sql:
            raise IntegrityError("23000", "constraint violated")
        self._rows = self._server.answer(sql)
        width = len(self._rows[0]) if self._rows else 1
        self.description = [(f"c{i}", None, None, None, None, None, None) for i in range(width)]
        if not sql.lstrip().upper().startswith("SELECT"):
            self.description = None
        self.rowcount = len(self._rows) if self.description else 1
        return self

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._server.calls.append(Call(sql, list(rows), True, self.fast_executemany))
        self.description = None
        self.rowcount = len(rows)

    def setinputsizes(self, _sizes: Any) -> None:
        pass

    def fetchone(self) -> tuple[Any, ...] | None:
        return self._rows.pop(0) if self._rows else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows, self._rows = self._rows, []
        return rows

    def fetchmany(self, size: int = 1) -> list[tuple[Any, ...]]:
        rows, self._rows = self._rows[:size], self._rows[size:]
        return rows

    def nextset(self) -> bool:
        return False

    def close(self) -> None:
        pass


class Connection:
    def __init__(self, server: Server) -> None:
        self._server = server
        self.autocommit = False
        self.timeout = 0

    def cursor(self) -> Cursor:
        return Cursor(self._server)

    def commit(self) -> None:
        self._server.calls.append(Call("COMMIT"))

    def rollback(self) -> None:
        self._server.calls.append(Call("ROLLBACK"))

    def close(self) -> None:
        pass

    def getinfo(self, _what: int) -> str:
        return SERVER_VERSION

    def add_output_converter(self, *_args: Any) -> None:
        pass


def module(server: Server) -> types.ModuleType:
    """A pyodbc-shaped module whose connections all talk to `server`."""
    fake = types.ModuleType("pyodbc")
    for name, value in {
        "version": "5.2.0",
        "paramstyle": "qmark",
        "apilevel": "2.0",
        "threadsafety": 1,
        "SQL_DBMS_VER": 18,
        "SQL_VARCHAR": 12,
        "SQL_WVARCHAR": -9,
        "Binary": bytes,
        "STRING": str,
        "NUMBER": float,
        "DATETIME": datetime,
        "BINARY": bytearray,
        "ROWID": int,
        "BinaryNull": None,
        "Cursor": Cursor,
        "Error": Error,
        "Warning": Warning,
        "InterfaceError": InterfaceError,
        "DatabaseError": DatabaseError,
        "DataError": DataError,
        "OperationalError": OperationalError,
        "IntegrityError": IntegrityError,
        "InternalError": InternalError,
        "ProgrammingError": ProgrammingError,
        "NotSupportedError": NotSupportedError,
        "connect": lambda *_args, **_kwargs: Connection(server),
    }.items():
        setattr(fake, name, value)
    return fake
