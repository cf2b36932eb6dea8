"""Backtest of the "likely to breach" predictions (reporting/forecast.py) over generated run
histories with planted drifts, against a naive rule measured in the same run.

    make backtest

Each history is one source's runs of one measure, steady around its level with noise and the
odd wild run, and in half of them a drift that starts at a random run and climbs toward the
limit at a random pace. Each measure has its own shape (PROFILES): a duration is steady with
the odd slow night; a quarantine rate is noisier, with the odd bad file; an API error rate
is near zero and bursty, with the odd short outage; an API's p95 latency sits well under the
request timeout, with the odd slow night when the API is loaded. Each is scored on its own. At every
run whose value is still under the limit the predictor says whether the limit will be
reached within its horizon; the truth is whether one of the next runs does. Precision: of
the warnings, the share that came true; recall: of the breaches, the share warned of
beforehand. The naive rule warns whenever the latest value is above 80% of the limit.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from customer_etl.reporting.forecast import HORIZON, MIN_RUNS, likely_breach

LIMIT = 1.0
Predictor = Callable[[Sequence[float]], bool]


@dataclass(frozen=True)
class Profile:
    """How one measure behaves, as fractions of its limit."""

    level: tuple[float, float]
    noise: tuple[float, float]
    """Relative noise (the standard deviation over the level)."""
    wild_share: float
    """Share of runs that are wild: far off the level, and not a trend."""
    wild: tuple[float, float]
    pace: tuple[float, float]
    """How much a drift adds per run."""


PROFILES = {
    "duration": Profile((0.2, 0.6), (0.02, 0.10), 0.04, (1.5, 2.2), (0.01, 0.08)),
    "quarantine rate": Profile((0.05, 0.4), (0.10, 0.30), 0.05, (2.0, 4.0), (0.01, 0.06)),
    "API error rate": Profile((0.0, 0.15), (0.30, 0.80), 0.08, (3.0, 8.0), (0.02, 0.08)),
    "API latency": Profile((0.05, 0.4), (0.05, 0.25), 0.05, (2.0, 5.0), (0.01, 0.08)),
}


def history(rng: random.Random, runs: int, drifting: bool, profile: Profile) -> list[float]:
    level = rng.uniform(*profile.level)
    noise = rng.uniform(*profile.noise)
    start = rng.randint(MIN_RUNS, runs - 5) if drifting else runs
    pace = rng.uniform(*profile.pace)
    values = []
    for run in range(runs):
        value = level * (1 + rng.gauss(0, noise))
        if rng.random() < profile.wild_share:
            value *= rng.uniform(*profile.wild)  # a wild run: not a trend
        if run >= start:
            value += pace * (run - start + 1)
        values.append(max(value, 0.0))
    return values


def score(histories: list[list[float]], predict: Predictor) -> tuple[float, float, int]:
    hits = false_alarms = missed = 0
    for values in histories:
        for now in range(MIN_RUNS - 1, len(values) - 1):
            if values[now] >= LIMIT:
                continue  # already breached: the run's own alert says so
            coming = any(v >= LIMIT for v in values[now + 1 : now + 1 + HORIZON])
            warned = predict(values[: now + 1])
            hits += warned and coming
            false_alarms += warned and not coming
            missed += coming and not warned
    precision = hits / (hits + false_alarms) if hits + false_alarms else 0.0
    recall = hits / (hits + missed) if hits + missed else 0.0
    return precision, recall, hits + missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=400)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    predictors: dict[str, Predictor] = {
        "Theil-Sen trend": lambda values: likely_breach(values, LIMIT) is not None,
        "naive: latest > 80% of limit": lambda values: values[-1] > 0.8 * LIMIT,
    }
    print(
        f"{args.sources} sources x {args.runs} runs per measure, half with a planted drift; "
        f"a breach within {HORIZON} runs"
    )
    for measure, profile in PROFILES.items():
        rng = random.Random(args.seed)
        histories = [
            history(rng, args.runs, drifting=i % 2 == 0, profile=profile)
            for i in range(args.sources)
        ]
        print(measure)
        for name, predict in predictors.items():
            precision, recall, breaches = score(histories, predict)
            print(
                f"  {name:<30} precision {precision:6.1%}  recall {recall:6.1%}  "
                f"({breaches} breaches)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
