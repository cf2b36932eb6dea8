"""Measure how fast the sample generator makes and writes customer records.

    .venv/bin/python scripts/bench_generate.py --rows 1000000

Prints rows per second and the process's peak resident memory. Peak memory is read from
`resource.getrusage` rather than tracemalloc, because tracemalloc slows allocation-heavy code
several-fold and would distort the timing it sits beside.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from customer_etl.reference.sample import write_sample


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports kibibytes, macOS bytes.
    divisor = 1024 * 1024 if sys.platform == "darwin" else 1024
    return peak / divisor


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to generate")
    parser.add_argument("--seed", type=int, default=42, help="generator seed")
    parser.add_argument("--defect-rate", type=float, default=0.05, help="share of bad rows")
    args = parser.parse_args(argv)

    baseline_mb = _peak_rss_mb()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "customers.csv"
        started = time.perf_counter()
        sample = write_sample(path, rows=args.rows, seed=args.seed, defect_rate=args.defect_rate)
        elapsed = time.perf_counter() - started
        size_mb = path.stat().st_size / (1024 * 1024)

    print(f"rows:            {args.rows:,}")
    print(f"defective rows:  {len(sample.defects):,}")
    print(f"file size:       {size_mb:,.1f} MiB")
    print(f"elapsed:         {elapsed:,.2f} s")
    print(f"throughput:      {args.rows / elapsed:,.0f} rows/s")
    print(f"peak RSS:        {_peak_rss_mb():,.0f} MiB (after imports: {baseline_mb:,.0f} MiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
