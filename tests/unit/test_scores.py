"""Record and run quality scores, and the thresholds that judge a run."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pandas as pd
import pytest

from customer_etl.config.model import QualitySettings
from customer_etl.core.context import RunContext
from customer_etl.core.quality_totals import DIMENSIONS, Dimension, QualityTotals
from customer_etl.core.schema import CANONICAL_COLUMNS
from customer_etl.quality.engine import evaluate
from customer_etl.quality.rules import RuleSet
from customer_etl.quality.scores import record_scores, run_scores
from customer_etl.quality.thresholds import judge

RULES = RuleSet.model_validate(
    {
        "rules": [
            {"check": "required", "field": "customer_id"},
            {"check": "required", "field": "email"},
            {"check": "format", "field": "email", "format": "email"},
            {"check": "unique", "field": "customer_id"},
        ]
    }
)


def scores_of(*rows: dict[str, Any], rules: RuleSet = RULES) -> pd.DataFrame:
    values = pd.DataFrame([{name: row.get(name) for name in CANONICAL_COLUMNS} for row in rows])
    evaluation = evaluate(values, rules, RunContext("r", date(2026, 1, 1)))
    return record_scores(evaluation, rules.dimension_weights)


def test_the_dimensions_are_the_five_of_the_method() -> None:
    assert (
        DIMENSIONS
        == tuple(d.value for d in Dimension)
        == ("completeness", "validity", "uniqueness", "consistency", "timeliness")
    )


def test_a_perfect_record_scores_100_and_dimensions_without_rules_are_unscored() -> None:
    [row] = scores_of({"customer_id": "A", "email": "a@b.co"}).to_dict("records")
    assert (row["completeness"], row["validity"], row["uniqueness"]) == (100.0, 100.0, 100.0)
    assert math.isnan(row["consistency"]) and math.isnan(row["timeliness"])
    assert row["quality_score"] == 100.0


def test_a_record_scores_the_share_of_applicable_rules_it_passes_per_dimension() -> None:
    scores = scores_of({"customer_id": "A", "email": "a@b.co"}, {"customer_id": "A"})
    second = scores.iloc[1]
    # Completeness: 1 of 2 required fields; validity: the email rule did not apply (no
    # email), so unscored; uniqueness: a duplicate.
    assert second["completeness"] == 50.0
    assert math.isnan(second["validity"])
    assert second["uniqueness"] == 0.0
    assert second["quality_score"] == 25.0  # mean of the two scored dimensions


def test_dimension_weights_weigh_the_record_score() -> None:
    weighted = RULES.model_copy(
        update={"dimension_weights": {Dimension.COMPLETENESS: 3.0, Dimension.UNIQUENESS: 1.0}}
    )
    [_, second] = scores_of(
        {"customer_id": "A", "email": "a@b.co"}, {"customer_id": "A"}, rules=weighted
    )["quality_score"]
    assert second == pytest.approx((3 * 50.0 + 1 * 0.0) / 4)


def test_run_scores_are_means_with_unreadable_records_at_zero() -> None:
    totals = QualityTotals()
    totals.add(
        scores_of({"customer_id": "A", "email": "a@b.co"}, {"customer_id": "B", "email": "bad"})
    )
    scores = run_scores(totals, unreadable=0)
    assert scores.dimensions["completeness"] == 100.0
    assert scores.dimensions["validity"] == 50.0
    assert scores.dimensions["timeliness"] is None
    assert scores.quality_score == pytest.approx((100.0 + (100 + 0 + 100) / 3) / 2, abs=0.01)
    with_ragged = run_scores(totals, unreadable=2)
    assert with_ragged.dimensions["completeness"] == 50.0
    assert run_scores(None, unreadable=0).quality_score is None


def test_accuracy_is_the_mean_of_the_records_checked_and_stays_out_of_the_overall_score() -> None:
    transform = QualityTotals()
    transform.add(scores_of({"customer_id": "A", "email": "a@b.co"}))
    first, second = QualityTotals(), QualityTotals()
    first.add_accuracy(pd.Series([100.0, 50.0, None], dtype=object))
    second.add_accuracy(pd.Series([0.0], dtype=object))
    merged = transform.merged(first).merged(second)
    scores = run_scores(merged, unreadable=5)
    assert scores.dimensions["accuracy"] == 50.0  # (100 + 50 + 0) / 3, unreadable not counted
    assert scores.quality_score == run_scores(transform, unreadable=5).quality_score
    assert run_scores(transform, unreadable=0).dimensions["accuracy"] is None


@pytest.mark.parametrize(
    ("bad", "settings", "fails"),
    [
        (50, QualitySettings(), False),  # exactly 5%: the bundled sample must pass
        (51, QualitySettings(), True),
        (0, QualitySettings(max_bad_ratio=0), False),
        (1, QualitySettings(on_invalid_rows="fail_file", max_bad_ratio=1), True),
        (0, QualitySettings(on_invalid_rows="fail_file"), False),
    ],
)
def test_max_bad_ratio_fails_only_when_strictly_exceeded(
    bad: int, settings: QualitySettings, fails: bool
) -> None:
    verdict = judge(1000, bad, 100.0, settings)
    assert (verdict.failure is not None) is fails
    if fails:
        assert f"{bad} of 1000 rows" in (verdict.failure or "")


def test_warning_thresholds_warn_without_failing() -> None:
    settings = QualitySettings(warn_bad_ratio=0.01, warn_below_quality_score=99)
    verdict = judge(1000, 20, 98.5, settings)
    assert verdict.failure is None
    assert len(verdict.warnings) == 2
    assert "warn_bad_ratio" in verdict.warnings[0]
    assert "98.5 is below quality.warn_below_quality_score 99" in verdict.warnings[1]
    quiet = QualitySettings(warn_bad_ratio=None, warn_below_quality_score=None)
    assert judge(1000, 20, 10.0, quiet).warnings == ()
