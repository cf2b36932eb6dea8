"""Settings of the run's logs and console output (docs/logging.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class ObservabilitySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    log_dir: Path = Field(
        Path(".etl/logs"),
        description="Local runs: folder of the JSON-lines log files, one per run "
        "(`<run_id>-<UTC timestamp>.jsonl`).",
    )
    log_level: LogLevel = Field(
        "INFO",
        description="Lowest level written to the structured log; DEBUG adds the duration "
        "of every timed function call.",
    )
    console_progress: bool = Field(
        True,
        description="Local runs: show a progress bar on long stages when standard error is "
        "a terminal (the one line per stage is always shown).",
    )
