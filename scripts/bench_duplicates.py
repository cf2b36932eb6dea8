"""Extract's file-wide uniqueness check at scale: `EarlierKeys` over a file's chunks against
a plain Python set of every earlier value (the obvious way), timed and traced in the same
run, at 1,000,000 and 5,000,000 keys by default.

    make bench-duplicates BENCH_ARGS="--rows 1000000 5000000"

Time is measured without tracing; memory in a second pass under tracemalloc (which slows
the run, so its time is not printed). Both include making the chunks' ids.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd

from customer_etl.stages.duplicates import EarlierKeys

CHUNK_ROWS = 50_000


def chunks_of(rows: int, repeat_share: float = 0.02) -> Iterator[np.ndarray]:
    """Customer ids chunk by chunk, `repeat_share` of them repeating an earlier id. Each
    chunk's strings are new objects, as each chunk read from a CSV file is: what a check
    keeps of them stays in memory."""
    rng = np.random.default_rng(1)
    for start in range(0, rows, CHUNK_ROWS):
        numbers = np.arange(start, min(start + CHUNK_ROWS, rows))
        repeats = rng.random(len(numbers)) < repeat_share
        numbers[repeats] = rng.integers(0, start + 1, int(repeats.sum()))
        yield np.array([f"CUST-{n:010d}" for n in numbers], dtype=object)


def with_earlier_keys(rows: int) -> int:
    keys = EarlierKeys(("customer_id",))
    return sum(
        int((keys.mark(pd.DataFrame({"customer_id": ids})) != "").sum()) for ids in chunks_of(rows)
    )


def with_a_set(rows: int) -> int:
    seen: set[str] = set()
    marked = 0
    for ids in chunks_of(rows):
        chunk = [str(v).strip() for v in ids]
        marked += sum(v in seen for v in chunk)
        seen.update(chunk)
    return marked


def measure(check: Callable[[int], int], rows: int) -> tuple[float, float, int]:
    started = time.perf_counter()
    marked = check(rows)
    seconds = time.perf_counter() - started
    tracemalloc.start()
    check(rows)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak / 1e6, marked


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 5_000_000])
    args = parser.parse_args()
    for rows in args.rows:
        ours, plain = measure(with_earlier_keys, rows), measure(with_a_set, rows)
        assert ours[2] == plain[2], "both find the same repeats"
        print(f"{rows:,} keys in chunks of {CHUNK_ROWS:,}, {ours[2]:,} repeated across chunks")
        for name, (seconds, peak, _) in (("EarlierKeys", ours), ("a Python set", plain)):
            print(
                f"  {name:<13} {seconds:7.2f} s  {rows / seconds:12,.0f} keys/s  "
                f"peak traced {peak:7.1f} MB"
            )
        print(f"  memory ratio set/EarlierKeys: {plain[1] / ours[1]:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
