"""Data-quality drift per column against the source's recent runs: null rate, distinct
ratio, pattern mix and value length; a drift is a warning with the column and the measure,
never a value."""

from __future__ import annotations

import random
from dataclasses import astuple

import pandas as pd

from customer_etl.core.column_counts import SHAPE_SAMPLE
from customer_etl.quality.drift import (
    MIN_RUNS,
    ColumnProfile,
    column_profiles,
    count_columns,
    drift_warnings,
    shape,
    shape_digest,
)


def export(seed: int, rows: int = 400, **change: float) -> pd.DataFrame:
    """A sender's usual export; `change` bends one column the way a broken export would."""
    rng = random.Random(seed)
    first = ["Olivia", "Amelia", "Isla", "Ava", "Mohammed", "Noah", "George", "Oliver"]
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{seed:03d}{n:05d}" for n in range(rows)],
            "first_name": [rng.choice(first) for _ in range(rows)],
            "phone": [
                f"07{rng.randint(100, 999)} {rng.randint(100000, 999999)}" for _ in range(rows)
            ],
            "email": ["" if rng.random() < 0.02 else f"u{n}@example.org" for n in range(rows)],
            "country": [rng.choice(["GB", "GB", "GB", "IE"]) for _ in range(rows)],
        }
    )
    if "email_empty" in change:
        frame.loc[frame.sample(frac=change["email_empty"], random_state=seed).index, "email"] = ""
    if "phone_international" in change:
        moved = frame.sample(frac=change["phone_international"], random_state=seed).index
        frame.loc[moved, "phone"] = "+44" + frame.loc[moved, "phone"].str.replace(" ", "").str[1:]
    if "names_cut" in change:
        frame["first_name"] = frame["first_name"].str[:2]
    if "one_country" in change:
        frame["customer_id"] = "C0"
    return frame


def recent() -> list[dict[str, ColumnProfile]]:
    return [column_profiles(export(seed)) for seed in range(8)]


def warned(frame: pd.DataFrame) -> set[tuple[str, str]]:
    return {(w.column, w.measure) for w in drift_warnings(column_profiles(frame), recent())}


def test_a_run_like_the_recent_ones_raises_no_warning() -> None:
    assert warned(export(99)) == set()


def test_a_half_emptied_column_drifts_on_its_null_rate() -> None:
    assert warned(export(99, email_empty=0.5)) == {("email", "null_rate")}


def test_a_new_phone_format_drifts_on_the_pattern_mix() -> None:
    assert ("phone", "pattern_mix") in warned(export(99, phone_international=0.6))


def test_truncated_names_drift_on_their_length() -> None:
    assert ("first_name", "length_p50") in warned(export(99, names_cut=1))


def test_an_id_that_stops_being_distinct_drifts_on_its_distinct_ratio() -> None:
    assert ("customer_id", "distinct_ratio") in warned(export(99, one_country=1))


def test_too_few_recent_runs_say_nothing() -> None:
    few = [column_profiles(export(seed)) for seed in range(MIN_RUNS - 1)]
    assert drift_warnings(column_profiles(export(99, email_empty=0.9)), few) == []


def test_a_warning_names_the_column_and_the_measure_never_a_value_or_a_shape() -> None:
    frame = export(99, email_empty=0.5, phone_international=0.6, names_cut=1)
    warnings = drift_warnings(column_profiles(frame), recent())
    assert warnings
    said = " ".join(f"{w} {astuple(w)}" for w in warnings)
    values = {value for column in frame.columns for value in frame[column] if len(value) > 1}
    shapes = {shape(value) for value in values if len(shape(value)) > 1}
    assert [value for value in values if value in said] == []
    assert [pattern for pattern in shapes if pattern in said] == []


def test_shapes_keep_the_format_and_drop_the_characters() -> None:
    assert shape("SW1A 1AA") == shape("EC2V 7HH") == "A9A 9A"
    assert shape("07700 900123") == "9 9" and shape("+447700900123") == "+9"


def test_a_large_chunks_pattern_mix_is_estimated_from_an_even_sample_within_points() -> None:
    big = export(7, rows=60_000, phone_international=0.3)
    [international] = [
        share
        for digest, share in column_profiles(big)["phone"].pattern_mix.items()
        if digest == shape_digest(shape("+447700900123"))
    ]
    counts = count_columns(big).columns["phone"]
    assert SHAPE_SAMPLE <= counts.shaped <= 1.1 * SHAPE_SAMPLE, "a sample, not every cell"
    assert counts.filled == 60_000
    assert abs(international - 0.3) < 0.03
