"""What the database did during a load, counted from SQLAlchemy's engine and pool events.

Counters are integers named `db_*` (times in milliseconds), so that they sit in a stage
report's counters, in `summary.json`, and become metrics in the cloud. They hold statement
verbs and counts, never SQL text or parameters.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from time import perf_counter
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from sqlalchemy import Engine, event
from sqlalchemy.engine import Connection

_STARTED = "customer_etl_statement_started"


class DatabaseMetrics:
    """Counts statements by verb with their time, commits, rollbacks, savepoints and
    savepoint rollbacks, pool checkouts, new connections and the time spent waiting for one.

    Example:
        >>> metrics = DatabaseMetrics(engine)  # doctest: +SKIP
        >>> before = metrics.snapshot()  # doctest: +SKIP
        >>> metrics.since(before)["db_commits"]  # doctest: +SKIP
        1
    """

    def __init__(self, engine: Engine) -> None:
        self._counts: Counter[str] = Counter()
        event.listen(engine, "before_cursor_execute", self._before_statement)
        event.listen(engine, "after_cursor_execute", self._after_statement)
        event.listen(engine, "handle_error", self._failed_statement)
        event.listen(engine, "commit", lambda _c: self._count("db_commits"))
        event.listen(engine, "rollback", lambda _c: self._count("db_rollbacks"))
        event.listen(engine, "savepoint", lambda _c, _n: self._count("db_savepoints"))
        event.listen(
            engine, "rollback_savepoint", lambda _c, _n, _x: self._count("db_savepoint_rollbacks")
        )
        event.listen(engine, "checkout", lambda *_a: self._count("db_pool_checkouts"))
        event.listen(engine, "connect", lambda *_a: self._count("db_pool_connects"))

    def snapshot(self) -> Counter[str]:
        return Counter(self._counts)

    def since(self, earlier: Counter[str]) -> dict[str, int]:
        """What changed after `earlier` was taken, without the counters that did not move."""
        return {
            name: value - earlier[name]
            for name, value in sorted(self._counts.items())
            if value != earlier[name]
        }

    def record_statement(self, verb: str, seconds: float) -> None:
        """A statement the driver ran outside SQLAlchemy's cursor (PostgreSQL's COPY)."""
        self._count("db_statements")
        self._count(f"db_{verb.lower()}_statements")
        self._count("db_statement_ms", _ms(seconds))
        self._count(f"db_{verb.lower()}_ms", _ms(seconds))

    @contextmanager
    def waiting_for_connection(self) -> Iterator[None]:
        started = perf_counter()
        try:
            yield
        finally:
            self._count("db_pool_wait_ms", _ms(perf_counter() - started))

    def _count(self, name: str, amount: int = 1) -> None:
        self._counts[name] += amount

    def _before_statement(self, connection: Connection, *_args: Any) -> None:
        connection.info.setdefault(_STARTED, []).append(perf_counter())

    def _after_statement(
        self, connection: Connection, _cursor: Any, statement: str, *_args: Any
    ) -> None:
        started = connection.info[_STARTED].pop()
        self.record_statement(_verb(statement), perf_counter() - started)

    def _failed_statement(self, context: Any) -> None:
        connection = context.connection
        if connection is not None and connection.info.get(_STARTED):
            connection.info[_STARTED].pop()
        self._count("db_statement_errors")


def _verb(statement: str) -> str:
    words = statement.split(None, 1)
    return words[0].strip("(;").lower() if words else "empty"


def _ms(seconds: float) -> int:
    # Rounded up, so that a run of sub-millisecond statements still shows time spent.
    return math.ceil(seconds * 1000)


_CLOUDWATCH: dict[str, tuple[str, MetricUnit]] = {
    "db_statements": ("DbStatements", MetricUnit.Count),
    "db_statement_ms": ("DbStatementTime", MetricUnit.Milliseconds),
    "db_commits": ("DbCommits", MetricUnit.Count),
    "db_rollbacks": ("DbRollbacks", MetricUnit.Count),
    "db_savepoint_rollbacks": ("DbSavepointRollbacks", MetricUnit.Count),
    "db_pool_checkouts": ("DbPoolCheckouts", MetricUnit.Count),
    "db_pool_wait_ms": ("DbPoolWait", MetricUnit.Milliseconds),
}
"""The few counters worth a CloudWatch metric each; the rest stay in the summary."""


def database_metrics(counters: Mapping[str, int]) -> dict[str, tuple[MetricUnit, int]]:
    """CloudWatch metric name -> (unit, value) for a stage report's `db_*` counters."""
    return {
        name: (unit, counters[counter])
        for counter, (name, unit) in _CLOUDWATCH.items()
        if counter in counters
    }
