"""Measure a whole local run against a naive baseline on the same file, in the same process.

    .venv/bin/python scripts/bench_pipeline.py --rows 200000

The baseline is what a first script would do: `pandas.read_csv` the whole file and
`DataFrame.to_sql` it into SQLite, with no validation, checkpoints or upsert. The pipeline
does far more per row; the ratio says what that costs. Enrichment uses the reference table
only (no network), so the figure measures our code, not an API.

Peak memory is the process's resident high-water mark after each phase (getrusage), so run
the pipeline first: the baseline loads the whole file at once and would mask it.
"""

from __future__ import annotations

import argparse
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from customer_etl.config import Config
from customer_etl.reference.sample import write_sample
from customer_etl.runtime.factory import local_ports
from customer_etl.runtime.local_runner import LocalRunner


def peak_rss_mb() -> float:
    divisor = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / divisor


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--chunk-rows", type=int, default=50_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        source = root / "customers.csv"
        write_sample(source, rows=args.rows, seed=1, defect_rate=0.05)
        before = peak_rss_mb()

        config = Config.model_validate(
            {
                "environment": "local",
                "pipeline": {"output_dir": str(root / "runs"), "chunk_rows": args.chunk_rows},
                "warehouse": {"url": f"sqlite:///{root / 'warehouse.db'}"},
                "enrichment": {"postcodes": {"enabled": False}},
            }
        )
        started = time.perf_counter()
        manifest = LocalRunner(config, local_ports(config)).run(source, "bench")
        pipeline_seconds = time.perf_counter() - started
        pipeline_peak = peak_rss_mb()

        started = time.perf_counter()
        frame = pd.read_csv(source, dtype=str, keep_default_na=False)
        with sqlite3.connect(root / "baseline.db") as connection:
            frame.to_sql("customers", connection, index=False)
        baseline_seconds = time.perf_counter() - started

    print(f"rows: {args.rows:,} (chunk {args.chunk_rows:,}); status {manifest.status}")
    for name, report in manifest.stages.items():
        rate = report.rows_in / report.duration_seconds if report.duration_seconds else 0
        print(f"  {name:<9} {report.duration_seconds:7.2f} s  {rate:12,.0f} rows/s")
    print(f"pipeline: {pipeline_seconds:.2f} s, {args.rows / pipeline_seconds:,.0f} rows/s")
    print(
        f"baseline (read_csv + to_sql): {baseline_seconds:.2f} s, "
        f"{args.rows / baseline_seconds:,.0f} rows/s"
    )
    print(f"pipeline / baseline time: {pipeline_seconds / baseline_seconds:.1f}x")
    print(f"peak RSS: {before:.0f} MB after generating, {pipeline_peak:.0f} MB after the run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
