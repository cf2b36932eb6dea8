"""Running sums of a run's record scores: small enough to travel in the run manifest."""

from __future__ import annotations

from enum import StrEnum

import pandas as pd
from pydantic import BaseModel, Field


class Dimension(StrEnum):
    COMPLETENESS = "completeness"
    VALIDITY = "validity"
    UNIQUENESS = "uniqueness"
    CONSISTENCY = "consistency"
    TIMELINESS = "timeliness"


DIMENSIONS: tuple[str, ...] = tuple(d.value for d in Dimension)
QUALITY_SCORE = "quality_score"
ACCURACY = "accuracy"
"""The sixth dimension: values that agree with a reference (quality/accuracy.py). The
enrich stage scores it, from the APIs' answers, after the rules have scored the five
others; it stays out of the overall score, which the quality gate judges before
enrichment."""


class QualityTotals(BaseModel):
    """Running sums of record scores over a run's chunks, kept in the manifest so that a
    run's scores can be computed from it alone."""

    records: int = 0
    score_sum: float = 0.0
    dimension_sums: dict[str, float] = Field(default_factory=lambda: dict.fromkeys(DIMENSIONS, 0.0))
    dimension_records: dict[str, int] = Field(default_factory=lambda: dict.fromkeys(DIMENSIONS, 0))
    accuracy_sum: float = 0.0
    accuracy_records: int = 0
    """Records with at least one accuracy check that applied (enrich's figures)."""

    def add(self, scores: pd.DataFrame) -> None:
        self.records += len(scores)
        self.score_sum += float(scores[QUALITY_SCORE].sum())
        for dimension in DIMENSIONS:
            column = scores[dimension]
            self.dimension_sums[dimension] += float(column.sum(skipna=True))
            self.dimension_records[dimension] += int(column.notna().sum())

    def add_accuracy(self, scores: pd.Series) -> None:
        """Add records' accuracy scores (0 to 100; None where no check applied)."""
        scored = scores.dropna()
        self.accuracy_records += len(scored)
        self.accuracy_sum += float(scored.astype(float).sum())

    def merged(self, other: QualityTotals) -> QualityTotals:
        return QualityTotals(
            records=self.records + other.records,
            score_sum=self.score_sum + other.score_sum,
            dimension_sums={
                d: self.dimension_sums.get(d, 0.0) + other.dimension_sums.get(d, 0.0)
                for d in DIMENSIONS
            },
            dimension_records={
                d: self.dimension_records.get(d, 0) + other.dimension_records.get(d, 0)
                for d in DIMENSIONS
            },
            accuracy_sum=self.accuracy_sum + other.accuracy_sum,
            accuracy_records=self.accuracy_records + other.accuracy_records,
        )
