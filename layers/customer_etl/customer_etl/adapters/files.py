"""Writing the run's small documents (manifest, summary, reports) whole or not at all, and
the error for a file the run cannot write (a full disk above all)."""

from __future__ import annotations

import errno
import os
from contextlib import suppress
from pathlib import Path

from customer_etl.adapters.private_files import private_file
from customer_etl.core.errors import OutputWriteError
from customer_etl.observability.telemetry import logger

_KINDS: dict[int, tuple[str, str, str]] = {
    errno.ENOSPC: (
        "disk_full",
        "the disk is full",
        "free space on the filesystem holding {folder}",
    ),
    errno.EDQUOT: (
        "disk_full",
        "the disk quota is used up",
        "raise the quota or free space in {folder}",
    ),
    errno.EROFS: ("read_only", "the filesystem is read-only", "remount {folder} read-write"),
    errno.EACCES: (
        "not_permitted",
        "writing is not permitted",
        "let the pipeline's account write {folder}",
    ),
    errno.EPERM: (
        "not_permitted",
        "writing is not permitted (an immutable file or folder?)",
        "check the permissions and attributes (`lsattr`) of {folder}",
    ),
}
"""Error number: the kind, the problem and what to do, in words."""


def output_write_error(path: Path, error: OSError) -> OSError | OutputWriteError:
    """Our error for `error` while writing `path` when it is the filesystem's doing (a full
    disk above all, a quota, a read-only mount, no permission): which kind it is, where, and
    what to do. Only the path (the run's folder and a file name, never a value) and the
    error number's name go into the message; the log line records the class, the kind and
    the error number. Any other OSError (a missing folder: a defect) is handed back as is."""
    if error.errno not in _KINDS:
        return error
    kind, problem, advice = _KINDS[error.errno]
    code = errno.errorcode[error.errno]
    failure = OutputWriteError(
        f"cannot write {path}: {problem} ({code}); {advice.format(folder=path.parent)}, "
        "then resume the run",
        kind,
    )
    logger.error(
        "output not written",
        extra={
            "error_class": type(failure).__name__,
            "kind": kind,
            "errno": code,
            "file": path.name,
        },
    )
    return failure


def remove_partial(partial: Path) -> None:
    """Remove a half-written file; a failure to do so must not hide the error being reported."""
    with suppress(OSError):
        partial.unlink(missing_ok=True)


def write_text_atomically(path: Path, text: str) -> None:
    """Write `text` to a `.partial` file beside `path`, then rename it over `path`: a reader
    (or a resume after a crash) never sees half a document. When the disk is full (or the
    file cannot be written for another reason) the `.partial` file is removed, `path` keeps
    what it held, and OutputWriteError says why (see `output_write_error`). The file is
    owner-only (0600) from its creation, and so is `path` after the rename."""
    partial = path.with_name(path.name + ".partial")
    try:
        with os.fdopen(private_file(partial), "w", encoding="utf-8") as handle:
            handle.write(text)
        partial.replace(path)
    except OSError as error:
        remove_partial(partial)
        raise output_write_error(path, error) from None
