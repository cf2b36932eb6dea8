"""Which runs are unusual: the modified z-score of Iglewicz and Hoaglin.

    M = 0.6745 * (x - median) / MAD,   MAD = median(|x - median|)

and a value with |M| > 3.5 is an outlier (their recommended cut-off). Why robust: the mean
and standard deviation are pulled by the very outliers they are meant to expose. Among n
runs no run's classic z-score can exceed (n - 1) / sqrt(n), under 3 for ten runs or fewer
however slow it was, and one huge outlier inflates the standard deviation so much that a
second unusual run hides behind it. The median and MAD do not move until half the runs
are unusual.

The spread the score divides by has a floor of 1% of the median (MIN_RELATIVE_SCALE): runs
that repeat one figure (the same file of 1,000 rows every night) have a MAD of 0 and a tiny
mean deviation, and without the floor a run of 1,001 rows would score 8 and be flagged. With
it a run must differ from the median by more than 3.5% (THRESHOLD x 1%) to be unusual,
whatever the spread.

The standard library's `statistics` does this in a few lines; SciPy's
`median_abs_deviation` would add a large dependency to the Lambda layer for one call.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

THRESHOLD = 3.5
"""Iglewicz and Hoaglin's cut-off for |M|."""
MIN_SAMPLES = 5
"""Fewer values than this say nothing about what is usual: nothing is flagged."""
_MAD_SCALE = 0.6745
"""The 0.75 quantile of the standard normal: makes MAD comparable to a standard deviation."""
_MEAN_AD_SCALE = 1.253314
"""sqrt(pi / 2): the same for the mean absolute deviation, used when MAD is 0."""
MIN_RELATIVE_SCALE = 0.01
"""The spread is taken as at least this share of |median|: a difference of a few percent is
never unusual, however alike the other runs are."""
_MIN_SCALE = 1e-9
"""The floor when the median is 0 too: a spread to divide by, never 0."""


def modified_z_scores(values: Sequence[float]) -> list[float]:
    """Each value's modified z-score against all of them: (x - median) / spread.

    The spread is MAD / 0.6745. When more than half the values are equal MAD is 0; the mean
    absolute deviation about the median (scaled to match) stands in, so a lone different
    value still scores. Either way the spread is at least MIN_RELATIVE_SCALE of |median|.
    When every value is equal, every score is 0.
    """
    if not values:
        return []
    median = statistics.median(values)
    deviations = [abs(value - median) for value in values]
    mad = statistics.median(deviations)
    if mad > 0:
        spread = mad / _MAD_SCALE
    else:
        spread = _MEAN_AD_SCALE * statistics.fmean(deviations)
        if spread == 0:
            return [0.0] * len(values)
    spread = max(spread, MIN_RELATIVE_SCALE * abs(median), _MIN_SCALE)
    return [(value - median) / spread for value in values]


def outliers(values: Sequence[float], threshold: float = THRESHOLD) -> list[int]:
    """Positions of the values whose |modified z-score| exceeds `threshold`; none when there
    are fewer than MIN_SAMPLES values.

    Example:
        >>> outliers([30, 31, 29, 32, 30, 28, 400])
        [6]
    """
    if len(values) < MIN_SAMPLES:
        return []
    scores = modified_z_scores(values)
    return [index for index, score in enumerate(scores) if abs(score) > threshold]
