"""File-wide uniqueness, decided in extract before the chunks fan out.

A `unique` rule keeps the first record of the file with a value and quarantines the later
ones. Transform runs each chunk on its own (in parallel, in the cloud on separate Lambda
invocations), so it cannot know what earlier chunks held; extract reads the file once, in
order, and marks each record whose value an earlier chunk held. Transform then adds those
marks to the repeats it finds within its own chunk (quality/engine.py, `_unique`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

REPEATED_KEYS = "repeated_keys"
"""Extract's mark on a record: the `unique` fields (`;`-joined) whose value an earlier chunk
of the file held; empty when none."""
_SEPARATOR = ";"


def normalised_text(column: pd.Series) -> pd.Series:
    """A column as the rules see it: text, trimmed, missing where empty (as transform
    prepares values)."""
    stripped = column.astype("str").str.strip()
    return stripped.mask(stripped == "", None)


class EarlierKeys:
    """The distinct values of the `unique` rules' fields in the chunks read so far.

    Example:
        >>> keys = EarlierKeys(("customer_id",))
        >>> keys.mark(pd.DataFrame({"customer_id": ["C1", "C2"]})).tolist()
        ['', '']
        >>> keys.mark(pd.DataFrame({"customer_id": ["C2 ", "C3"]})).tolist()
        ['customer_id', '']
    """

    def __init__(self, fields: tuple[str, ...]) -> None:
        self._fields = tuple(dict.fromkeys(fields))
        self._seen: dict[str, list[pd.Index]] = {name: [] for name in self._fields}

    def mark(self, chunk: pd.DataFrame) -> pd.Series:
        """The chunk's `repeated_keys` marks; then the chunk counts as read."""
        marks = np.full(len(chunk), "", dtype=object)
        for name in self._fields:
            # Object keys: pandas' membership tests of Arrow strings against many values are
            # slow (as in the engine's own uniqueness check).
            keys = normalised_text(chunk[name]).astype(object)
            present = keys.notna().to_numpy(dtype=bool)
            lookup = pd.Index(keys[present])
            hit = np.zeros(len(lookup), dtype=bool)
            for seen in self._seen[name]:
                hit |= seen.get_indexer(lookup) >= 0
            self._seen[name].append(pd.Index(lookup.drop_duplicates()))
            repeated = np.zeros(len(chunk), dtype=bool)
            repeated[present] = hit
            marks[repeated] = [_join(mark, name) for mark in marks[repeated]]
        return pd.Series(marks, index=chunk.index, dtype=object)


def repeated_in_earlier_chunks(chunk: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per field, which records of the chunk extract marked (positional masks); empty for
    a chunk that carries no marks (one read before the marks existed, or a test's)."""
    if REPEATED_KEYS not in chunk:
        return {}
    marks = chunk[REPEATED_KEYS].fillna("").astype(str)
    fields = {name for mark in marks.unique() for name in mark.split(_SEPARATOR) if name}
    return {
        name: marks.map(lambda mark, name=name: name in mark.split(_SEPARATOR)).to_numpy(dtype=bool)
        for name in fields
    }


def _join(mark: str, name: str) -> str:
    return f"{mark}{_SEPARATOR}{name}" if mark else name
