"""The run's quality thresholds: when quarantined rows are too many the run fails (after
they are quarantined); below the warning levels operators are told but the run goes on."""

from __future__ import annotations

from dataclasses import dataclass

from customer_etl.config.model import QualitySettings
from customer_etl.core.errors import CustomerEtlError


class QualityThresholdError(CustomerEtlError):
    """Too many of a run's rows were quarantined for the rest to be loaded."""


@dataclass(frozen=True)
class Verdict:
    failure: str | None
    warnings: tuple[str, ...]


def judge(
    rows_in: int, rows_quarantined: int, quality_score: float | None, thresholds: QualitySettings
) -> Verdict:
    """Whether the run may go on. Messages carry counts and settings, never values.

    The bad ratio must *exceed* `max_bad_ratio` to fail: a file with exactly 5% bad rows
    passes the default.
    """
    ratio = rows_quarantined / rows_in if rows_in else 0.0
    share = f"{rows_quarantined} of {rows_in} rows ({ratio:.1%}) were quarantined"
    failure = None
    if thresholds.on_invalid_rows == "fail_file" and rows_quarantined:
        failure = (
            f"{share} and quality.on_invalid_rows is fail_file: nothing is loaded; fix the "
            "rows (customer-etl quarantine export) and run the file again"
        )
    elif ratio > thresholds.max_bad_ratio:
        failure = (
            f"{share}, above quality.max_bad_ratio {thresholds.max_bad_ratio:.1%}: nothing is "
            "loaded; fix the file and run it again, or raise the threshold and resume"
        )
    warnings = []
    if thresholds.warn_bad_ratio is not None and ratio > thresholds.warn_bad_ratio:
        warnings.append(f"{share}, above quality.warn_bad_ratio {thresholds.warn_bad_ratio:.1%}")
    floor = thresholds.warn_below_quality_score
    if floor is not None and quality_score is not None and quality_score < floor:
        warnings.append(
            f"quality score {quality_score:.1f} is below quality.warn_below_quality_score {floor:g}"
        )
    return Verdict(failure, tuple(warnings))
