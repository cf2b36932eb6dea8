"""Owner-only folders and files for what the pipeline keeps on the local disk.

Run folders hold checkpoints and quarantine files of personal data, and the logs and
reports beside them say what a run did: no other local account has a reason to read them.
So every folder the pipeline makes is 0700 and every file it writes 0600, set explicitly
rather than through the process umask, which a library cannot own (a test runner, a
notebook or a scheduler sets its own). A folder made by an earlier version (0755) is
tightened the next time the pipeline writes into it.
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600
STATE_FOLDER = ".etl"
"""The pipeline's own folder by default (runs, logs, key file, cache, SQLite warehouse)."""


def private_folder(path: Path, base: Path | None = None) -> Path:
    """Make `path` (and any missing parent) a folder only its owner can open. With `base`
    (an ancestor of `path`: the runs folder), every folder from `base` down to `path` is
    made owner-only too, so a run folder of an earlier version is tightened with its
    sub-folders; other existing parents are left as they are, except a parent named `.etl`
    (the pipeline's own folder)."""
    missing = [folder for folder in (path, *path.parents) if not folder.exists()]
    for folder in reversed(missing):
        with suppress(FileExistsError):  # another worker made it meanwhile
            folder.mkdir(mode=FOLDER_MODE)
    tightened = [path]
    if base is not None:
        tightened += [folder for folder in path.parents if folder.is_relative_to(base)]
    tightened += [folder for folder in path.parents if folder.name == STATE_FOLDER]
    for folder in (*missing, *tightened):
        _chmod(folder, FOLDER_MODE)
    return path


def private_file(path: Path, *, append: bool = False) -> int:
    """A descriptor open for writing on `path`, a file only its owner can read: created
    0600, or tightened to 0600 if it was there already (truncated unless `append`)."""
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    descriptor = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(descriptor, FILE_MODE)
    except OSError:
        os.close(descriptor)
        raise
    return descriptor


def write_private_text(path: Path, text: str) -> None:
    """Write a report for a named reader (owner-only, 0600); its folder is made owner-only
    when it has to be created."""
    if not path.parent.exists():
        private_folder(path.parent)
    with os.fdopen(private_file(path), "w", encoding="utf-8") as handle:
        handle.write(text)


def make_private(path: Path) -> None:
    """Tighten a file another library created (SQLite's cache file) to owner-only."""
    _chmod(path, FILE_MODE)


def _chmod(path: Path, mode: int) -> None:
    """Set `mode` when it differs; a folder this account does not own (a shared parent) is
    left as it is rather than failing the run."""
    try:
        if path.stat().st_mode & 0o777 != mode:
            path.chmod(mode)
    except PermissionError:
        pass
