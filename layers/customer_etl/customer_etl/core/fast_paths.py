"""The switch between the stages' fast paths and their reference paths.

Each fast path must decide exactly what its reference path decides; the reference paths are
kept so that a test can run the same file both ways and compare the warehouse, the
quarantine and the audit trail (tests/e2e/test_fast_paths.py). Production runs the fast
paths; nothing but that comparison turns them off.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class FastPaths:
    skip_unchanged: bool = True
    """Load: compare each record's content hash with the warehouse's before sealing, so an
    unchanged record is only marked seen (reference: seal and stage every record)."""
    joined_rows: bool = True
    """Load: a record's values are joined for its content hash by `str.join` over the
    columns' lists, four times faster than pandas' `str.cat` (reference)."""
    uk_phones: bool = True
    """Transform: well-formed UK numbers (`0` or `+44`, ten digits, spaces) are put in
    E.164 by a vectorised pattern (reference: `phonenumbers` for every distinct number)."""


ACTIVE = FastPaths()


@contextmanager
def reference_paths() -> Iterator[FastPaths]:
    """Run the block on the reference paths (in this process), then restore the fast ones."""
    saved = FastPaths(**vars(ACTIVE))
    for name in vars(ACTIVE):
        setattr(ACTIVE, name, False)
    try:
        yield ACTIVE
    finally:
        for name, value in vars(saved).items():
            setattr(ACTIVE, name, value)
