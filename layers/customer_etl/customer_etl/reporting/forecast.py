"""Which sources are heading for a threshold before they cross it: a robust trend over each
source's recent runs, from `etl_runs` alone.

For each source (the file name with its digits folded, so `customers-2026-12-01.csv` and
`customers-2026-12-02.csv` are one source) and each measure (the run's duration against the
longest a run may take, its quarantine rate against `quality.max_bad_ratio`, its enrichment
API error rate against the share of rows that may fall back, and its slowest API's 95th
percentile latency against the request timeout), the last
`WINDOW` finished runs are fitted with a Theil-Sen line: the slope is the median of the
slopes between every pair of runs, the intercept the median of what is left. A source is
"likely to breach" when that line, carried `HORIZON` runs ahead, reaches the limit while
the last run is still under it.

Why this method: a source has tens of runs in the 28 days a report reads, one a day or a
few. With so few points a least-squares trend follows its outliers (one slow night tilts
it), while Theil-Sen ignores up to 29% of wild points and needs no distribution; its
n(n-1)/2 pairs are nothing at these sizes. No seasonal term: a weekly pattern needs several
weeks of each weekday before it can be told from noise, more history than the report
keeps, and a drift toward a limit is a trend, not a season. The confidence of a
prediction is the share of run pairs whose slope agrees with the trend's sign: 0.5 is a
coin (no trend), 1.0 every pair rising. Predictions under `MIN_CONFIDENCE` are not shown.
What it cannot see: a single wild run that crosses a limit with no trend before it (a bad
file); the run's own alert covers that.

`make backtest` (scripts/backtest_forecast.py) replays generated histories with planted
drifts and prints the precision and recall of these predictions.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import PurePosixPath

from customer_etl.core.ports import RunRecord
from customer_etl.reporting.run_times import RETENTION_KIND, duration_seconds, utc

WINDOW = 8
"""Runs of a source the trend is fitted to: the most recent ones. Eight give 28 pair slopes
and see a drift a few runs after it starts; the backtest measured 20 runs at 95% precision
but 14% recall (the flat runs before a drift outvote it), 8 at 88% and 46%."""
MIN_RUNS = 6
"""Fewer runs than this say nothing about a trend: no prediction."""
HORIZON = 3
"""How many runs ahead a breach is looked for."""
MIN_CONFIDENCE = 0.7
"""Predictions whose run pairs agree less than this on the trend are not made."""


@dataclass(frozen=True)
class Prediction:
    source: str
    measure: str
    """`duration` (seconds), `quarantine rate` (a share of the rows in), `API error rate`
    (a share of the enrichment API calls) or `API latency` (milliseconds, the slowest API's
    95th percentile)."""
    latest: float
    forecast: float
    """The trend's value `runs_ahead` runs after the latest."""
    limit: float
    runs_ahead: int
    confidence: float


@dataclass(frozen=True)
class Limits:
    """The thresholds a source's runs are watched against."""

    max_bad_ratio: float
    max_duration_seconds: float
    max_api_error_rate: float | None = None
    """The share of enrichment API calls that may fail; None: not watched."""
    max_api_latency_ms: float | None = None
    """The request timeout a call's latency must stay under; None: not watched."""


def source_of(source_file: str) -> str:
    """A file's source: its name with every run of digits folded to `#`."""
    return re.sub(r"\d+", "#", PurePosixPath(source_file).name)


def likely_breach(values: Sequence[float], limit: float) -> tuple[int, float, float] | None:
    """(runs ahead, forecast, confidence) when the trend of `values` reaches `limit` within
    HORIZON runs while the latest value is under it; None otherwise."""
    recent = list(values[-WINDOW:])
    if len(recent) < MIN_RUNS or recent[-1] >= limit:
        return None
    slopes = [(b - a) / (j - i) for (i, a), (j, b) in combinations(enumerate(recent), 2)]
    slope = statistics.median(slopes)
    if slope <= 0:
        return None
    intercept = statistics.median(value - slope * x for x, value in enumerate(recent))
    confidence = sum(s > 0 for s in slopes) / len(slopes)
    if confidence < MIN_CONFIDENCE:
        return None
    last = len(recent) - 1
    for ahead in range(1, HORIZON + 1):
        forecast = intercept + slope * (last + ahead)
        if forecast >= limit:
            return ahead, forecast, confidence
    return None


def breach_predictions(records: Sequence[RunRecord], limits: Limits) -> list[Prediction]:
    """Every source and measure whose trend is likely to breach its limit, most urgent
    first. Only finished pipeline runs count."""
    by_source: dict[str, list[RunRecord]] = defaultdict(list)
    for record in sorted(records, key=lambda r: utc(r.started_at)):
        if record.kind != RETENTION_KIND and record.finished_at is not None:
            by_source[source_of(record.source_file)].append(record)
    measures: tuple[tuple[str, Callable[[RunRecord], float | None], float], ...] = (
        ("duration", duration_seconds, limits.max_duration_seconds),
        ("quarantine rate", _quarantine_rate, limits.max_bad_ratio),
    )
    if limits.max_api_error_rate is not None:
        measures += (("API error rate", _api_error_rate, limits.max_api_error_rate),)
    if limits.max_api_latency_ms is not None:
        measures += (("API latency", _api_latency, limits.max_api_latency_ms),)
    found: list[Prediction] = []
    for source, runs in sorted(by_source.items()):
        for measure, read, limit in measures:
            values = [v for v in map(read, runs) if v is not None]
            if (hit := likely_breach(values, limit)) is not None:
                ahead, forecast, confidence = hit
                found.append(
                    Prediction(source, measure, values[-1], forecast, limit, ahead, confidence)
                )
    return sorted(found, key=lambda p: (p.runs_ahead, -p.confidence, p.source))


def _quarantine_rate(record: RunRecord) -> float | None:
    return record.rows_quarantined / record.rows_in if record.rows_in else None


def _api_error_rate(record: RunRecord) -> float | None:
    """Failed calls over calls; None for a run that asked no API (or was recorded before
    schema 0010), which says nothing about the API."""
    if not record.api_calls or record.api_errors is None:
        return None
    return record.api_errors / record.api_calls


def _api_latency(record: RunRecord) -> float | None:
    """None for a run that asked no API (or was recorded before schema 0013)."""
    return record.api_latency_ms
