"""The local run's JSON-lines log file: `<log_dir>/<run_id>-<UTC timestamp>.jsonl`.

One file per run invocation (a resume writes a second file with the same run id prefix),
so that a run's lines are found by its id and never mixed with another run's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from customer_etl.observability.telemetry import send_logs_to


def log_file_path(log_dir: Path, run_id: str, now: datetime | None = None) -> Path:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return log_dir / f"{run_id}-{stamp}.jsonl"


@contextmanager
def run_log_file(log_dir: Path, run_id: str) -> Iterator[Path]:
    """Send the structured log to a new file of the run while the block runs; yields its
    path. The stream the log went to before is restored afterwards."""
    path = log_file_path(log_dir, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as log:
        previous = send_logs_to(log)
        try:
            yield path
        finally:
            send_logs_to(previous)
