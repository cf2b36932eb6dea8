"""The one Logger, Metrics and Tracer of the project; everything imports them from here.

Log lines carry counts, stage names, run ids and error classes: never a record's values.
"""

from __future__ import annotations

import logging
import sys
import traceback
from typing import IO

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE = "customer-etl"
METRICS_NAMESPACE = "CustomerEtl"


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

logger = Logger(service=SERVICE, logger_handler=_handler)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)


def send_logs_to(stream: IO[str] | None) -> None:
    """Write the structured log to `stream` from now on; None means standard error."""
    _handler.chosen = stream


def raised_at(error: BaseException) -> list[str]:
    """Where an exception was raised, as `file:line in function` frames, innermost last.

    Used instead of a full traceback: an exception's message may quote a record's value."""
    frames = traceback.extract_tb(error.__traceback__)[-5:]
    return [
        f"{frame.filename.rsplit('/', 1)[-1]}:{frame.lineno} in {frame.name}" for frame in frames
    ]
