"""Data-quality drift: a column whose shape moved away from the source's recent runs, though
every rule still passes (a sender's export that half-empties a column, starts writing phone
numbers in another format, or truncates names).

A run's profile holds, per column, four measures of its values, and never a value:

- `null_rate`: the share of empty cells;
- `distinct_ratio`: distinct values over filled cells (an id column near 1, a country
  column near 0);
- `pattern_mix`: the shares of the values' shapes, each character written as its class
  (`A` a letter, `9` a digit, punctuation kept) and runs collapsed, so `SW1A 1AA` and
  `EC2V 7HH` are both `A9A 9A` (kept to the TOP_PATTERNS commonest shapes and `other`);
- `length`: the 10th, 50th and 90th percentile of the values' lengths.

A measure drifts when the run's value is further from the median of the recent runs than
both a robust spread (THRESHOLD median absolute deviations, scaled to a standard deviation)
and the measure's floor allow; the pattern mix drifts when its total variation distance
from the recent runs' pooled mix passes PATTERN_FLOOR. The floors keep sources whose runs
are all alike (a MAD of 0) from warning on a change of a few rows. Fewer than MIN_RUNS
recent profiles say nothing: no warning.

In a run, transform counts each chunk's columns (`count_columns`, into
`core/column_counts.py`'s sums), the chunks' counts add up in the manifest, and the run's
profile (`profiles_of`) is kept in its `etl_runs` row, where the next runs of the same
source find it. Over chunks, `distinct_ratio` is the distinct values within each chunk over
the filled cells: comparable from run to run at the same chunk size, and needing no value.
Shapes are kept by a digest, never written out.

A drift is a warning with the column, the measure and two figures (this run's, the usual),
never a value and never a pattern: a shape of a short value could give it away.

Example:
    >>> import pandas as pd
    >>> shape("SW1A 1AA"), shape("jo.smith@example.org")
    ('A9A 9A', 'A.A@A.A')
    >>> column_profiles(pd.DataFrame({"postcode": ["SW1A 1AA", ""]}))["postcode"].null_rate
    0.5
"""

from __future__ import annotations

import hashlib
import json
import re
import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from customer_etl.core.column_counts import (
    LONGEST,
    OTHER_SHAPES,
    SHAPE_SAMPLE,
    SHAPES_PER_CHUNK,
    ColumnCounts,
    ProfileCounts,
)

TOP_PATTERNS = 8
"""Shapes kept per column; the rest are pooled as `other`."""
MIN_RUNS = 5
"""Recent profiles needed before a drift can be told from noise."""
THRESHOLD = 3.5
"""Robust deviations (the modified z-score's cut-off of Iglewicz and Hoaglin) beyond which a
measure drifts."""
FLOORS = {"null_rate": 0.05, "distinct_ratio": 0.10, "length_p50": 0.25}
"""The least change that counts, whatever the spread: 5 points of empty cells, 10 points of
distinct ratio, a quarter of the median length (relative)."""
PATTERN_FLOOR = 0.20
"""Total variation distance (half the sum of the shares' differences, 0 to 1) from which the
pattern mix drifts: a fifth of the values changed shape."""
_MAD_SCALE = 0.6745

_LETTERS = re.compile(r"[^\W\d_]+")
_DIGITS = re.compile(r"\d+")
_SPACES = re.compile(r"\s+")


def shape(value: str) -> str:
    """The value's shape: letters as `A`, digits as `9`, runs collapsed, punctuation kept."""
    return _SPACES.sub(" ", _DIGITS.sub("9", _LETTERS.sub("A", value.strip())))


@dataclass(frozen=True)
class ColumnProfile:
    """The measures of one column in one run (figures and shapes, never a value)."""

    null_rate: float
    distinct_ratio: float
    pattern_mix: Mapping[str, float]
    length_p10: float
    length_p50: float
    length_p90: float


@dataclass(frozen=True)
class DriftWarning:
    """A column's measure that moved away from the source's recent runs."""

    column: str
    measure: str
    """`null_rate`, `distinct_ratio`, `pattern_mix` (the distance) or `length_p50`."""
    value: float
    usual: float
    """The recent runs' median (0 for `pattern_mix`: `value` is the distance)."""

    def __str__(self) -> str:
        return f"column {self.column}: {self.measure} {self.value:.3g} (usually {self.usual:.3g})"


def column_profiles(frame: pd.DataFrame) -> dict[str, ColumnProfile]:
    """The profile of every column of `frame` (read as text: empty means missing)."""
    return profiles_of(count_columns(frame))


def count_columns(frame: pd.DataFrame) -> ProfileCounts:
    """The counts of every column of one chunk (read as text: empty means missing)."""
    columns = {}
    for column in frame.columns:
        text = frame[column].astype("string").fillna("").str.strip()
        filled = text[text != ""]
        weights = filled.value_counts()
        # The shapes of an even sample (every k-th filled cell), shaped once per distinct
        # value: shaping every distinct value of a 50,000-row chunk was a tenth of a run in
        # the profile, and a mix estimated from SHAPE_SAMPLE cells is within a few points,
        # far inside PATTERN_FLOOR.
        sample = filled.iloc[:: max(1, len(filled) // SHAPE_SAMPLE)]
        by_shape: Counter[str] = Counter()
        for value, count in sample.value_counts().items():
            by_shape[shape(str(value))] += int(count)
        shapes: Counter[str] = Counter()
        for pattern, count in by_shape.items():
            shapes[shape_digest(pattern)] += count
        top = dict(shapes.most_common(SHAPES_PER_CHUNK))
        if (rest := len(sample) - sum(top.values())) > 0:
            top[OTHER_SHAPES] = rest
        lengths = filled.str.len().clip(upper=LONGEST).value_counts()
        columns[str(column)] = ColumnCounts(
            rows=len(text),
            filled=len(filled),
            distinct=len(weights),
            shaped=len(sample),
            lengths=dict(zip(lengths.index.astype(int).tolist(), lengths.tolist(), strict=True)),
            shapes=top,
        )
    return ProfileCounts(columns=columns)


def shape_digest(pattern: str) -> str:
    """A short digest that tells shapes apart without writing one out."""
    return hashlib.blake2b(pattern.encode(), digest_size=6).hexdigest()


def profiles_of(counts: ProfileCounts) -> dict[str, ColumnProfile]:
    """The profile of each column from its counts (one chunk's, or a run's summed)."""
    return {name: _profile(column) for name, column in counts.columns.items()}


def _profile(counts: ColumnCounts) -> ColumnProfile:
    total = counts.filled
    shaped = counts.shaped
    shapes = {key: n for key, n in counts.shapes.items() if key != OTHER_SHAPES}
    top = dict(Counter(shapes).most_common(TOP_PATTERNS))
    mix = {pattern: n / shaped for pattern, n in top.items()} if shaped else {}
    if shaped and sum(top.values()) < shaped:
        mix[OTHER_SHAPES] = (shaped - sum(top.values())) / shaped
    lengths = np.repeat(
        np.fromiter(counts.lengths.keys(), dtype=np.int64, count=len(counts.lengths)),
        np.fromiter(counts.lengths.values(), dtype=np.int64, count=len(counts.lengths)),
    )
    p10, p50, p90 = np.quantile(lengths, [0.1, 0.5, 0.9]) if total else (0.0, 0.0, 0.0)
    return ColumnProfile(
        null_rate=(counts.rows - total) / counts.rows if counts.rows else 0.0,
        distinct_ratio=counts.distinct / total if total else 0.0,
        pattern_mix=mix,
        length_p10=float(p10),
        length_p50=float(p50),
        length_p90=float(p90),
    )


def profiles_json(profiles: Mapping[str, ColumnProfile]) -> str:
    """The profiles as JSON, for the run's `etl_runs` row (figures and digests only)."""
    return json.dumps(
        {name: asdict(profile) for name, profile in profiles.items()}, separators=(",", ":")
    )


def profiles_from_json(text: str) -> dict[str, ColumnProfile]:
    return {name: ColumnProfile(**fields) for name, fields in json.loads(text).items()}


def drift_warnings(
    current: Mapping[str, ColumnProfile], recent: Sequence[Mapping[str, ColumnProfile]]
) -> list[DriftWarning]:
    """Each column and measure of `current` that drifted from the `recent` runs' profiles
    (the source's, oldest first); a column the recent runs lack is not judged."""
    found = []
    for column, profile in current.items():
        history = [run[column] for run in recent if column in run]
        if len(history) < MIN_RUNS:
            continue
        for measure, floor in FLOORS.items():
            value = getattr(profile, measure)
            past = [getattr(run, measure) for run in history]
            usual = statistics.median(past)
            relative = measure == "length_p50"
            if _drifted(value, past, usual, floor * usual if relative else floor):
                found.append(DriftWarning(column, measure, value, usual))
        distance = _distance(profile.pattern_mix, _pooled([run.pattern_mix for run in history]))
        if distance > PATTERN_FLOOR:
            found.append(DriftWarning(column, "pattern_mix", distance, 0.0))
    return found


def _drifted(value: float, past: Sequence[float], usual: float, floor: float) -> bool:
    spread = statistics.median(abs(x - usual) for x in past) / _MAD_SCALE
    return abs(value - usual) > max(THRESHOLD * spread, floor)


def _pooled(mixes: Sequence[Mapping[str, float]]) -> dict[str, float]:
    pooled: Counter[str] = Counter()
    for mix in mixes:
        pooled.update(mix)
    return {pattern: share / len(mixes) for pattern, share in pooled.items()}


def _distance(left: Mapping[str, float], right: Mapping[str, float]) -> float:
    """Total variation distance between two mixes of shapes."""
    keys = set(left) | set(right)
    return 0.5 * sum(abs(left.get(key, 0.0) - right.get(key, 0.0)) for key in keys)
