"""The local artefacts retention looks after: per run folder its checkpoints, quarantine and
report, the period reports, the log files; with when each was last written, and the two
ways to let one go (delete, or move it to the archive folder).

A run's time is when its manifest was last written (at every stage's end, and by a resume):
a run still being resumed is young however old its id, and letting one artefact go (which
touches the folder) does not make the others young.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

CHECKPOINT_FOLDERS = ("extract", "transform", "enrich", "load", "scores")
"""Per run: the stage checkpoints and the record scores (Parquet, one row per record)."""
QUARANTINE_FOLDER = "quarantine"
RUN_REPORT = "report.html"


@dataclass(frozen=True)
class Artefact:
    path: Path
    run_id: str | None
    written_at: datetime


def _written_at(path: Path) -> datetime:
    """The newest modification time of a file, or of any file under a folder."""
    times = [path.stat().st_mtime]
    if path.is_dir():
        times += [p.stat().st_mtime for p in path.rglob("*") if p.is_file()]
    return datetime.fromtimestamp(max(times), UTC)


def _run_folders(runs: Path) -> list[Path]:
    if not runs.is_dir():
        return []
    return sorted(p for p in runs.iterdir() if p.is_dir() and (p / "manifest.json").exists())


def artefacts(store: str, runs: Path, reports: Path, logs: Path) -> list[Artefact]:
    """The artefacts of `store` (`checkpoints`, `quarantine`, `reports`, `logs`)."""
    found: list[Artefact] = []
    if store in ("checkpoints", "quarantine", "reports"):
        names = {
            "checkpoints": CHECKPOINT_FOLDERS,
            "quarantine": (QUARANTINE_FOLDER,),
            "reports": (RUN_REPORT,),
        }[store]
        for folder in _run_folders(runs):
            run_time = _written_at(folder / "manifest.json")
            found += [
                Artefact(folder / name, folder.name, run_time)
                for name in names
                if (folder / name).exists()
            ]
    if store == "reports" and reports.is_dir():
        found += [
            Artefact(p, None, _written_at(p)) for p in sorted(reports.iterdir()) if p.is_file()
        ]
    if store == "logs" and logs.is_dir():
        found += [Artefact(p, _log_run_id(p), _written_at(p)) for p in sorted(logs.glob("*.jsonl"))]
    return found


def _log_run_id(path: Path) -> str | None:
    """`<run_id>-<UTC stamp>.jsonl` (runtime/log_file.py): the run id, or a command's name."""
    stem, _, _stamp = path.stem.rpartition("-")
    return stem or None


def remove(artefact: Artefact) -> None:
    if artefact.path.is_dir():
        shutil.rmtree(artefact.path)
    else:
        artefact.path.unlink(missing_ok=True)


def archive(artefact: Artefact, archive_root: Path, store: str) -> Path:
    """Move the artefact under `archive_root/<store>/<run id>/` (owner-only folders)."""
    target_folder = archive_root / store / (artefact.run_id or "-")
    target_folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = target_folder / artefact.path.name
    shutil.move(artefact.path, target)
    return target
