"""The identity of a source file, so a run can tell that the file it read is the one it
was started for: its size, modification time and inode before and after reading, and a
hash of its content."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path, PurePosixPath

Identity = tuple[int, int, int]
"""(size in bytes, modification time in nanoseconds, inode)"""

_BLOCK = 1 << 20


def source_identity(path: Path) -> Identity:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns, stat.st_ino


def content_sha256(path: Path) -> str:
    """The SHA-256 of the file's bytes, read in blocks (memory stays flat)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()


_UNSAFE = re.compile(r"[^A-Za-z0-9]+")


def run_id_for_object(bucket: str, key: str, version: str | None) -> str:
    """The run id of a landed object, derived from its identity alone (bucket, key and
    version id, or the event's sequencer or ETag where the bucket keeps no versions): the
    same object delivered twice gets the same id, so Step Functions starts it once; a new
    version gets a new id, so it starts a run of its own. Readable (the file's name first)
    and a valid execution name (80 characters of letters, digits, `-` and `_`).

    Example:
        >>> run_id_for_object("landing", "in/customers 2026.csv", "v1")
        'customers-2026-csv-6dede959060e33d06f9960f8'
    """
    digest = hashlib.sha256(f"{bucket}\x1f{key}\x1f{version or ''}".encode()).hexdigest()
    stem = _UNSAFE.sub("-", PurePosixPath(key).name).strip("-")[:40] or "object"
    return f"{stem}-{digest[:24]}"
