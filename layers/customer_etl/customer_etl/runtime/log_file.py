"""The local run's JSON-lines log file: `<log_dir>/<run_id>-<UTC timestamp>.jsonl`.

One file per run invocation (a resume writes a second file with the same run id prefix),
so that a run's lines are found by its id and never mixed with another run's.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from customer_etl.adapters.private_files import private_file, private_folder
from customer_etl.observability.telemetry import send_logs_to


def _open_log(path: Path) -> TextIO:
    """A log file for appending, owner-only (0600) in an owner-only folder (0700): its lines
    carry no personal data, but they do say what ran, when, on which files."""
    private_folder(path.parent)
    return os.fdopen(private_file(path, append=True), "a", encoding="utf-8")


def log_file_path(log_dir: Path, run_id: str, now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return log_dir / f"{run_id}-{stamp}.jsonl"


@contextmanager
def run_log_file(log_dir: Path, run_id: str) -> Iterator[Path]:
    """Send the structured log to a new file of the run while the block runs; yields its
    path. The stream the log went to before is restored afterwards."""
    path = log_file_path(log_dir, run_id)
    with _open_log(path) as log:
        previous = send_logs_to(log)
        try:
            yield path
        finally:
            send_logs_to(previous)


class LazyLogFile:
    """A log stream that creates its file on the first line written: a command that logs
    nothing (`--version`, `config show`) leaves no empty file behind. `path` is asked for
    then, so the log folder can come from a configuration loaded meanwhile."""

    def __init__(self, path: Callable[[], Path]) -> None:
        self._path = path
        self._file: TextIO | None = None

    def write(self, text: str) -> int:
        if self._file is None:
            self._file = self._open()
        return self._file.write(text)

    def _open(self) -> TextIO:
        """The log file; when it cannot be written (a read-only folder), standard error, with
        one line saying so: the log is kept on the console rather than lost."""
        target = self._path()
        try:
            return _open_log(target)
        except OSError as error:
            sys.stderr.write(
                f"customer-etl: warning: cannot write the log file {target} "
                f"({type(error).__name__}); the JSON log follows on standard error\n"
            )
            return sys.stderr

    def flush(self) -> None:
        if self._file is not None:
            self._file.flush()

    def close(self) -> None:
        if self._file is not None and self._file is not sys.stderr:
            self._file.close()
        self._file = None


@contextmanager
def command_log_file(log_dir: Callable[[], Path], command: str) -> Iterator[None]:
    """Send the structured log of a command other than a run (`health`, `retention`,
    `keys rotate`, ...) to `<log_dir>/<command>-<UTC timestamp>.jsonl` instead of the
    console; a run inside it (`run`, `resume`, `quarantine replay`) opens its own file."""
    log = LazyLogFile(lambda: log_file_path(log_dir(), command))
    previous = send_logs_to(log)  # type: ignore[arg-type]
    try:
        yield
    finally:
        send_logs_to(previous)
        log.close()
