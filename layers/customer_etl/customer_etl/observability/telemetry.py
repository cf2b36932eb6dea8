"""The one Logger, Metrics and Tracer of the project; everything imports them from here.

Log lines carry counts, stage names, run ids and error classes: never a record's values.
The handler's `RedactingFilter` is a safety net behind that rule, not a replacement for it.
"""

from __future__ import annotations

import functools
import logging
import sys
import threading
import traceback
from collections.abc import Callable
from time import perf_counter
from typing import IO, TYPE_CHECKING, Any, ParamSpec, TypeVar

from aws_lambda_powertools import Logger, Metrics

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

from customer_etl.observability import metric_names
from customer_etl.observability.redaction import RedactingFilter

SERVICE = metric_names.SERVICE
METRICS_NAMESPACE = metric_names.NAMESPACE


class _LogDestination(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the stream `send_logs_to` chose, or else to whatever `sys.stderr` is when
    the record is emitted, so that the CLI can send the JSON log to a file and keep the
    console for people."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.chosen: IO[str] | None = None

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = self.chosen or sys.stderr
        super().emit(record)


_handler = _LogDestination()
REDACTION_FILTER = RedactingFilter()
"""Redacts personal-data patterns from every record the project's logger writes: a safety
net behind the rule that log lines carry no record values, not a replacement for it."""
_handler.addFilter(REDACTION_FILTER)
LOG_HANDLER: logging.Handler = _handler
"""The handler of the project's logger (the no-leak test removes the filter from it, to
check that the code itself logs no values)."""

logger = Logger(service=SERVICE, logger_handler=_handler)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)

if TYPE_CHECKING:
    tracer: Tracer


@functools.cache
def _tracer() -> Tracer:
    from aws_lambda_powertools import Tracer

    return Tracer(service=SERVICE)


def __getattr__(name: str) -> Any:
    """`tracer` is made when first imported: Powertools' Tracer loads the X-Ray SDK (over a
    second of imports), which only the Lambda handlers use."""
    if name == "tracer":
        return _tracer()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def send_logs_to(stream: IO[str] | None) -> IO[str] | None:
    """Write the structured log to `stream` from now on (None means standard error) and
    return the stream it went to before, so that a caller can restore it."""
    previous, _handler.chosen = _handler.chosen, stream
    return previous


class FunctionTimings:
    """Seconds spent in each `timed` function while a stage runs, summed over its calls.

    Thread-safe: the enrichment lookups run on worker threads."""

    def __init__(self) -> None:
        self._seconds: dict[str, float] = {}
        self._lock = threading.Lock()

    def record(self, name: str, seconds: float) -> None:
        with self._lock:
            self._seconds[name] = self._seconds.get(name, 0.0) + seconds

    def totals(self) -> dict[str, float]:
        with self._lock:
            return {name: round(seconds, 3) for name, seconds in sorted(self._seconds.items())}


# One stage runs at a time in a process (the local runner's loop, one Lambda invocation),
# so one collector at module level is enough; a context variable would not reach the
# enrichment worker threads.
_timings = FunctionTimings()


def start_timings() -> FunctionTimings:
    """Start collecting `timed` durations afresh (at the start of a stage) and return the
    collector, whose `totals()` the stage report keeps."""
    global _timings
    _timings = FunctionTimings()
    return _timings


P = ParamSpec("P")
R = TypeVar("R")


def timed(func: Callable[P, R]) -> Callable[P, R]:
    """Log each call's duration at DEBUG and add it to the current stage's timings.

    Example:
        >>> @timed
        ... def plan(rows: int) -> int:
        ...     return rows
        >>> plan(3)
        3
    """
    name = f"{func.__module__.rsplit('.', 1)[-1]}.{func.__qualname__}"

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        started = perf_counter()
        try:
            return func(*args, **kwargs)
        finally:
            seconds = perf_counter() - started
            _timings.record(name, seconds)
            logger.debug("timed", extra={"function": name, "duration_seconds": round(seconds, 4)})

    return wrapper


def raised_at(error: BaseException) -> list[str]:
    """Where an exception was raised, as `file:line in function` frames, innermost last.

    Used instead of a full traceback: an exception's message may quote a record's value."""
    frames = traceback.extract_tb(error.__traceback__)[-5:]
    return [
        f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} in {frame.name}" for frame in frames
    ]
