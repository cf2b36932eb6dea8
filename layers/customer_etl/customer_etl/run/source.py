"""The identity of a source file, so a run can tell that the file it read is the one it
was started for: its size, modification time and inode before and after reading, and a
hash of its content."""

from __future__ import annotations

import hashlib
from pathlib import Path

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
