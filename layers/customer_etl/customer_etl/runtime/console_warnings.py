"""A console line for every warning the structured log records, while a command runs.

The JSON log goes to a file (runtime.log_file); a person at the console still needs to know
that the postcode API was unreachable, that company enrichment was skipped, or that a run
passed a quality warning. This handler writes one line to standard error per distinct
warning, such as

    customer-etl: warning: API request gave up (api postcodes.io, error_kind connection)

Only the message and a few fields that name things (an API, a stage, a setting, an error's
kind or class) are shown, never the others (an alert's body, a batch's counts), and the
project's redaction filter runs first: a log line holds no personal data, and this is the
same line, shortened. A warning repeated (a retry per batch) is shown once; the log file
has every one. Warnings the console already tells in its own words (quarantined rows are in
the stage lines, a failure and an interruption have the command's closing line) are left to
the log.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from tqdm import tqdm

from customer_etl.observability.telemetry import REDACTION_FILTER, SERVICE

PREFIX = "customer-etl: warning: "
SHOWN_FIELDS = (
    "api",
    "stage",
    "setting",
    "kind",
    "error_kind",
    "error_class",
    "status_code",
    "from_state",
    "to_state",
    "signal",
)
"""Fields that name a thing, never a value of a record, shown in this order."""
TOLD_ELSEWHERE = frozenset(
    {
        "rows quarantined",  # each stage line counts them
        "alert",  # the alert's cause has its own line (a failure, a quality warning)
        "run failed",
        "run interrupted",
    }
)
"""Warnings the console already tells: the command's closing line or a stage line."""


def console_line(record: logging.LogRecord) -> str:
    """The one line shown for a warning record.

    Example:
        >>> record = logging.makeLogRecord(
        ...     {"msg": "circuit state changed", "api": "postcodes.io", "to_state": "open"}
        ... )
        >>> console_line(record)
        'customer-etl: warning: circuit state changed (api postcodes.io, to_state open)'
    """
    text = record.getMessage()
    detail = getattr(record, "warning", None)
    if isinstance(detail, str) and detail:
        text = f"{text}: {detail}"  # a quality warning's own sentence
    fields = [
        f"{name} {value}"
        for name in SHOWN_FIELDS
        if (value := getattr(record, name, None)) not in (None, "")
    ]
    return PREFIX + text + (f" ({', '.join(fields)})" if fields else "")


class ConsoleWarnings(logging.Handler):
    """Writes `console_line` of each WARNING record to whatever `sys.stderr` is when it is
    emitted, once per distinct line. ERROR records are left to the log: each comes with a
    failure, whose one line the command prints and whose details the log file keeps."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.addFilter(REDACTION_FILTER)
        self._shown: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno != logging.WARNING or record.getMessage() in TOLD_ELSEWHERE:
            return
        try:
            line = console_line(record)
        except Exception:  # a warning must never break the command it describes
            self.handleError(record)
            return
        if line in self._shown:
            return
        self._shown.add(line)
        # tqdm.write clears a progress bar being drawn (on a terminal) and redraws it below
        # the line, so the two never garble each other; stderr is looked up now, so that a
        # redirected one is honoured.
        tqdm.write(line, file=sys.stderr)


@contextmanager
def warnings_on_console() -> Iterator[ConsoleWarnings]:
    """While the block runs, the project's warnings also reach the console."""
    handler = ConsoleWarnings()
    project_logger = logging.getLogger(SERVICE)  # the standard logger under Powertools'
    project_logger.addHandler(handler)
    try:
        yield handler
    finally:
        project_logger.removeHandler(handler)
