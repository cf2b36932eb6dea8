"""Which runs are unusual: the modified z-score of Iglewicz and Hoaglin.

    M = 0.6745 * (x - median) / MAD,   MAD = median(|x - median|)

and a value with |M| > 3.5 is an outlier (their recommended cut-off). Why robust: the mean
and standard deviation are pulled by the very outliers they are meant to expose. Among n
runs no run's classic z-score can exceed (n - 1) / sqrt(n), under 3 for ten runs or fewer
however slow it was, and one huge outlier inflates the standard deviation so much that a
second unusual run hides behind it. The median and MAD do not move until half the runs
are unusual.

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


def modified_z_scores(values: Sequence[float]) -> list[float]:
    """Each value's modified z-score against all of them.

    When more than half the values are equal MAD is 0; the mean absolute deviation about
    the median (scaled to match) stands in, so a lone different value still scores. When
    every value is equal, every score is 0.
    """
    if not values:
        return []
    median = statistics.median(values)
    deviations = [abs(value - median) for value in values]
    mad = statistics.median(deviations)
    if mad > 0:
        return [_MAD_SCALE * (value - median) / mad for value in values]
    mean_deviation = statistics.fmean(deviations)
    if mean_deviation > 0:
        return [(value - median) / (_MEAN_AD_SCALE * mean_deviation) for value in values]
    return [0.0] * len(values)


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
