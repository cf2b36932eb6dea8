"""Reading what a local run wrote to its log files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def run_log_files(log_dir: Path, run_id: str) -> list[Path]:
    """The run's log files (a resume writes a second one), oldest first."""
    return sorted(log_dir.glob(f"{run_id}-*.jsonl"))


def run_log(log_dir: Path, run_id: str) -> str:
    """Every log line a run wrote, over all its files."""
    return "".join(path.read_text(encoding="utf-8") for path in run_log_files(log_dir, run_id))


def run_log_records(log_dir: Path, run_id: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in run_log(log_dir, run_id).splitlines()]
