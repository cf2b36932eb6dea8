"""Unusual runs by the modified z-score (median and MAD), and why not mean and stdev."""

from __future__ import annotations

import statistics

import pytest

from customer_etl.reporting.anomalies import (
    MIN_RELATIVE_SCALE,
    MIN_SAMPLES,
    modified_z_scores,
    outliers,
)

USUAL_SECONDS = [31.0, 29.5, 30.2, 33.0, 28.7, 30.9, 32.1, 29.8, 31.4]


def test_a_slow_run_is_flagged_and_the_usual_ones_are_not() -> None:
    assert outliers([*USUAL_SECONDS, 95.0]) == [9]


def test_a_small_run_is_flagged_too() -> None:
    rows = [1000.0, 1020.0, 990.0, 1005.0, 1010.0, 40.0]

    assert outliers(rows) == [5]
    assert modified_z_scores(rows)[5] < -3.5


def test_usual_variation_is_not_flagged() -> None:
    assert outliers(USUAL_SECONDS) == []


def test_one_huge_outlier_does_not_hide_a_second_one_as_it_does_from_mean_and_stdev() -> None:
    durations = [*USUAL_SECONDS, 90.0, 3000.0]
    mean, stdev = statistics.fmean(durations), statistics.stdev(durations)
    classic = [i for i, value in enumerate(durations) if abs(value - mean) / stdev > 3]

    # Mean and stdev: the huge run inflates the spread; the 90 s run looks usual.
    assert 9 not in classic
    # Median and MAD: both the 90 s and the 3000 s runs stand out.
    assert outliers(durations) == [9, 10]


def test_mean_and_stdev_cannot_flag_anything_in_a_small_sample() -> None:
    durations = [*USUAL_SECONDS[:6], 3000.0]
    mean, stdev = statistics.fmean(durations), statistics.stdev(durations)

    assert abs(durations[-1] - mean) / stdev < 3
    assert outliers(durations) == [6]


def test_when_most_values_are_equal_a_different_one_still_scores() -> None:
    # More than half equal: MAD is 0, the mean absolute deviation stands in.
    assert outliers([100.0] * 8 + [400.0]) == [8]
    assert modified_z_scores([5.0] * 6) == [0.0] * 6


def test_too_few_values_flag_nothing() -> None:
    assert outliers([10.0, 11.0, 10.5, 900.0][: MIN_SAMPLES - 1]) == []


@pytest.mark.parametrize("threshold", [3.5, 10.0])
def test_the_threshold_is_honoured(threshold: float) -> None:
    values = [*USUAL_SECONDS, 40.0]
    score = modified_z_scores(values)[-1]

    assert (9 in outliers(values, threshold)) == (abs(score) > threshold)


def test_one_more_row_than_the_usual_repeated_count_is_not_unusual() -> None:
    # Nine nights of the same 1,000 rows: MAD is 0 and the mean deviation tiny; without the
    # floor under the spread the 1,001-row run would score 8.
    rows = [1000.0] * 9 + [1001.0]

    assert outliers(rows) == []
    assert modified_z_scores(rows)[-1] == pytest.approx(1 / (MIN_RELATIVE_SCALE * 1000))


def test_a_real_outlier_among_repeated_counts_is_still_flagged() -> None:
    assert outliers([1000.0] * 9 + [1200.0]) == [9]
    assert outliers([1000.0] * 9 + [400.0]) == [9]


def test_a_difference_within_the_floor_is_never_unusual() -> None:
    # 3% above a median whose MAD is far smaller: under THRESHOLD x 1% of the median.
    assert outliers([1000.0, 1000.1, 999.9, 1000.0, 1000.2, 999.8, 1030.0]) == []
    assert outliers([1000.0, 1000.1, 999.9, 1000.0, 1000.2, 999.8, 1040.0]) == [6]
