"""Counts of a run's columns that add up over its chunks (quality/drift.py turns them into
the profiles its drift check compares): small enough to travel in the run manifest, and
holding no value.

Per column: the cells, the filled cells, the distinct values *within each chunk* summed
(an exact distinct count over a run would need its values, or hashes of them, in the
manifest), the value lengths as a histogram, and the value shapes by a digest of the shape
(a shape of a short value could give it away; the drift check needs only to tell shapes
apart), counted over an even sample of about SHAPE_SAMPLE filled cells per chunk. Each
chunk keeps its SHAPES_PER_CHUNK commonest shapes and pools the rest as `other`.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, Field

K = TypeVar("K", int, str)

SHAPES_PER_CHUNK = 16
SHAPE_SAMPLE = 2000
"""Filled cells per column and chunk whose shapes are counted (about; every k-th cell)."""
SHAPES_PER_RUN = 64
"""The most shapes a run's counts keep (the rest join `other`): the manifest's size bound."""
LONGEST = 200
"""Lengths above it are counted as LONGEST: the histogram's size bound."""
OTHER_SHAPES = "other"


class ColumnCounts(BaseModel):
    rows: int = 0
    filled: int = 0
    distinct: int = 0
    """Distinct filled values per chunk, summed over the chunks."""
    shaped: int = 0
    """Filled cells whose shape was counted: an even sample of each chunk's."""
    lengths: dict[int, int] = Field(default_factory=dict)
    """Value length -> filled cells of that length."""
    shapes: dict[str, int] = Field(default_factory=dict)
    """Digest of a value shape (or `other`) -> sampled cells of that shape."""

    def merged(self, other: ColumnCounts) -> ColumnCounts:
        return ColumnCounts(
            rows=self.rows + other.rows,
            filled=self.filled + other.filled,
            distinct=self.distinct + other.distinct,
            shaped=self.shaped + other.shaped,
            lengths=_summed(self.lengths, other.lengths),
            shapes=_capped(_summed(self.shapes, other.shapes)),
        )


class ProfileCounts(BaseModel):
    """The counts of every profiled column of a run (or of one chunk)."""

    columns: dict[str, ColumnCounts] = Field(default_factory=dict)

    def merged(self, other: ProfileCounts) -> ProfileCounts:
        names = dict.fromkeys([*self.columns, *other.columns])
        return ProfileCounts(
            columns={
                name: self.columns.get(name, ColumnCounts()).merged(
                    other.columns.get(name, ColumnCounts())
                )
                for name in names
            }
        )


def _capped(shapes: dict[str, int]) -> dict[str, int]:
    if len(shapes) <= SHAPES_PER_RUN:
        return shapes
    ranked = sorted(((n, key) for key, n in shapes.items() if key != OTHER_SHAPES), reverse=True)
    kept = dict((key, n) for n, key in ranked[:SHAPES_PER_RUN])
    kept[OTHER_SHAPES] = sum(shapes.values()) - sum(kept.values())
    return kept


def _summed(left: dict[K, int], right: dict[K, int]) -> dict[K, int]:
    total = dict(left)
    for key, count in right.items():
        total[key] = total.get(key, 0) + count
    return total
