"""Quality scores, 0 to 100, of each record and of a run, by dimension.

A record's score in a dimension is the share of that dimension's rules which applied to it
and which it passed. Its overall score is the weighted mean of the dimensions that had at
least one rule apply. A run's scores are the means of its records' scores; a record that
could not be read (quarantined by extract) counts as 0 in every dimension. The method is
written out in docs/data-quality.md.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from pydantic import BaseModel

from customer_etl.core.quality_totals import (
    ACCURACY,
    DIMENSIONS,
    QUALITY_SCORE,
    Dimension,
    QualityTotals,
)
from customer_etl.quality.engine import Evaluation

__all__ = [
    "DIMENSIONS",
    "QUALITY_SCORE",
    "QualityTotals",
    "RunScores",
    "record_scores",
    "run_scores",
]


def record_scores(evaluation: Evaluation, weights: Mapping[Dimension, float]) -> pd.DataFrame:
    """One row per record: a column per dimension (NaN where no rule of it applied) and
    `quality_score`."""
    rows = len(evaluation.values)
    applied = {d: np.zeros(rows, dtype=np.int64) for d in DIMENSIONS}
    passed = {d: np.zeros(rows, dtype=np.int64) for d in DIMENSIONS}
    for outcome in evaluation.outcomes:
        dimension = outcome.rule.dimension.value
        applied[dimension] += outcome.applied
        passed[dimension] += outcome.applied & ~outcome.failed
    scores = pd.DataFrame(index=evaluation.values.index)
    weighted = np.zeros(rows)
    weight_total = np.zeros(rows)
    for dimension in DIMENSIONS:
        with np.errstate(invalid="ignore", divide="ignore"):
            score = np.where(
                applied[dimension] > 0, 100.0 * passed[dimension] / applied[dimension], np.nan
            )
        scores[dimension] = score
        weight = weights.get(Dimension(dimension), 1.0)
        scored = ~np.isnan(score)
        weighted[scored] += weight * score[scored]
        weight_total[scored] += weight
    with np.errstate(invalid="ignore", divide="ignore"):
        overall = np.where(weight_total > 0, weighted / weight_total, 100.0)
    scores[QUALITY_SCORE] = overall
    return scores


class RunScores(BaseModel):
    quality_score: float | None
    dimensions: dict[str, float | None]


def run_scores(totals: QualityTotals | None, unreadable: int) -> RunScores:
    """The run's scores from its totals; `unreadable` records score 0 in the five rule
    dimensions. None where nothing was scored. Accuracy is the mean over the records that
    had a check apply (an unreadable record was never asked about)."""
    totals = totals or QualityTotals()

    def mean(total: float, count: int) -> float | None:
        count += unreadable
        return round(total / count, 2) if count else None

    return RunScores(
        quality_score=mean(totals.score_sum, totals.records),
        dimensions={
            d: mean(totals.dimension_sums.get(d, 0.0), totals.dimension_records.get(d, 0))
            for d in DIMENSIONS
        }
        | {
            ACCURACY: round(totals.accuracy_sum / totals.accuracy_records, 2)
            if totals.accuracy_records
            else None
        },
    )
