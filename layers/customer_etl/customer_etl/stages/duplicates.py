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
# Two independent keys (16 bytes each, as hash_array wants) for the two hashes of a value.
_FIRST_KEY = "customer-etl-k01"
_SECOND_KEY = "customer-etl-k02"


def normalised_text(column: pd.Series) -> pd.Series:
    """A column as the rules see it: text, trimmed, missing where empty (as transform
    prepares values)."""
    stripped = column.astype("str").str.strip()
    return stripped.mask(stripped == "", None)


class SeenValues:
    """The distinct values seen so far, each kept as two 64-bit hashes of independent keys
    (pandas' `hash_array`), sorted by the first.

    Why not a set or a pandas Index of the values themselves: a file's keys then cost their
    full size (about 90 bytes a short id as Python objects) and each chunk was looked up in
    every earlier chunk's index, so extract grew with the square of the file (a 5,000,000-row
    file took 12 times as long as a 1,000,000-row one). Here a value costs 16 bytes whatever
    its length, and a lookup is one binary search. Two different values are taken for one
    only if both hashes collide: about 1 in 10^28 for a pair, nothing a file of billions of
    rows approaches.
    """

    def __init__(self) -> None:
        self._first = np.empty(0, dtype=np.uint64)
        self._second = np.empty(0, dtype=np.uint64)

    def __len__(self) -> int:
        return len(self._first)

    def seen_then_add(self, values: np.ndarray) -> np.ndarray:
        """Which of `values` were seen before this call (a boolean mask); then they all
        count as seen."""
        first = pd.util.hash_array(values, hash_key=_FIRST_KEY, categorize=False)
        second = pd.util.hash_array(values, hash_key=_SECOND_KEY, categorize=False)
        # Sorted, the lookups walk the table in order and equal values sit side by side.
        order = np.lexsort((second, first))
        first, second = first[order], second[order]
        left = np.searchsorted(self._first, first, side="left")
        right = np.searchsorted(self._first, first, side="right")
        width = right - left
        hit = np.zeros(len(first), dtype=bool)
        single = width == 1
        hit[single] = self._second[left[single]] == second[single]
        for at in np.nonzero(width > 1)[0]:  # first hashes that collide: compare the second
            hit[at] = bool((self._second[left[at] : right[at]] == second[at]).any())
        new = ~hit
        new[1:] &= (first[1:] != first[:-1]) | (second[1:] != second[:-1])
        if new.any():
            self._first = np.insert(self._first, left[new], first[new])
            self._second = np.insert(self._second, left[new], second[new])
        seen = np.empty_like(hit)
        seen[order] = hit
        return seen


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
        self._seen = {name: SeenValues() for name in self._fields}

    def mark(self, chunk: pd.DataFrame) -> pd.Series:
        """The chunk's `repeated_keys` marks; then the chunk counts as read."""
        marks = np.full(len(chunk), "", dtype=object)
        for name in self._fields:
            keys = normalised_text(chunk[name]).astype(object)
            present = keys.notna().to_numpy(dtype=bool)
            repeated = np.zeros(len(chunk), dtype=bool)
            repeated[present] = self._seen[name].seen_then_add(keys[present].to_numpy())
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
