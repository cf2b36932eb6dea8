"""Measure whole local runs, with 1 and more worker processes, against two floors measured in
the same run on the same file, and derive the cloud's cost per million rows.

    .venv/bin/python scripts/bench_pipeline.py --rows 1000000 --workers 1 2

Each run: encryption on (a local key file), the postcodes API served by the project's fake on
loopback with `--api-latency-ms` per call, a fresh SQLite warehouse. The floors: reading the
file and inserting its rows into SQLite with the standard library (read-and-insert), and
what a first script would do, `pandas.read_csv` + `DataFrame.to_sql`. Peak memory is the
resident high-water mark of the runner and, separately, of its largest worker (getrusage of
the children), so run the pipeline before the floors, which hold the whole file. CPU time is
the user and system time of the runner and its workers over each run (getrusage deltas).

`--json FILE` also writes the figures (docs/figures/bench-pipeline.json is the one
docs/environmental-impact.md quotes and scripts/energy_figures.py reads).

The cost model prices the 1-worker run's per-stage time as Lambda GB-seconds at the stage
functions' memory, plus state transitions, S3, KMS and DynamoDB requests, at list prices
(eu-west-2, x86, December 2026); docs/scaling.md explains each term.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from customer_etl.adapters.warehouse.configured import build_warehouse
from customer_etl.config import Config
from customer_etl.core.manifest import RunManifest
from customer_etl.reference.sample import write_sample
from customer_etl.runtime.factory import local_ports
from customer_etl.runtime.local_runner import LocalRunner

# The fake API lives with the tests; the script runs from anywhere in the repository.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.fakes.postcodes_api import FakePostcodesApi, serve

LAMBDA_GB_SECOND = 0.0000166667
LAMBDA_REQUEST = 0.20 / 1_000_000
STATE_TRANSITION = 0.025 / 1000
S3_PUT = 0.0053 / 1000
S3_GET = 0.00042 / 1000
KMS_REQUEST = 0.03 / 10_000
DYNAMODB_READ = 0.283 / 1_000_000
DYNAMODB_WRITE = 1.4135 / 1_000_000
STAGE_MEMORY_GB = 2.0


def peak_mb(who: int) -> float:
    divisor = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(who).ru_maxrss / divisor


def cpu_seconds() -> float:
    """User and system CPU time of this process and of its finished children."""
    return sum(
        usage.ru_utime + usage.ru_stime
        for usage in (
            resource.getrusage(resource.RUSAGE_SELF),
            resource.getrusage(resource.RUSAGE_CHILDREN),
        )
    )


def run_pipeline(
    root: Path, source: Path, workers: int, chunk_rows: int, api_url: str
) -> tuple[RunManifest, float, float]:
    folder = root / f"workers-{workers}"
    config = Config.model_validate(
        {
            "environment": "local",
            "pipeline": {
                "output_dir": str(folder / "runs"),
                "chunk_rows": chunk_rows,
                "workers": workers,
            },
            "warehouse": {"url": f"sqlite:///{folder / 'warehouse.db'}"},
            "encryption": {"enabled": True, "key_file": str(folder / "keys.json")},
            "enrichment": {
                "postcodes": {"base_url": api_url},
                "companies_house": {"enabled": False},
                "cache_path": str(folder / "cache.db"),
            },
            "quality": {"max_bad_ratio": 0.2},
        }
    )
    ports = local_ports(config)
    build_warehouse(config).upgrade()  # as `customer-etl db upgrade` does before a first run
    started, cpu_started = time.perf_counter(), cpu_seconds()
    manifest = LocalRunner(config, ports, local_ports).run(source, "bench")
    return manifest, time.perf_counter() - started, cpu_seconds() - cpu_started


def read_and_insert(source: Path, database: Path) -> float:
    started = time.perf_counter()
    with source.open(newline="", encoding="utf-8") as handle, sqlite3.connect(database) as db:
        reader = csv.reader(handle)
        header = next(reader)
        columns = ", ".join(f'"{name}"' for name in header)
        db.execute(f"create table customers ({columns})")
        marks = ", ".join("?" * len(header))
        db.executemany(f"insert into customers values ({marks})", reader)
    return time.perf_counter() - started


def pandas_to_sql(source: Path, database: Path) -> float:
    started = time.perf_counter()
    frame = pd.read_csv(source, dtype=str, keep_default_na=False)
    with sqlite3.connect(database) as connection:
        frame.to_sql("customers", connection, index=False)
    return time.perf_counter() - started


def cost_per_million(manifest: RunManifest, rows: int) -> dict[str, float]:
    """The cloud's cost of a million rows from a 1-worker run's stage times (one Lambda
    invocation per chunk and stage, as the Distributed Maps make them)."""
    scale = 1_000_000 / rows
    chunks = (manifest.chunks or 1) * scale
    seconds = sum(report.duration_seconds for report in manifest.stages.values()) * scale
    invocations = 1 + 3 * (chunks + 1)  # extract; per stage one per chunk and a completion
    # Per chunk of each mapped stage: a child execution's start, task and end, plus the
    # parent's states.
    transitions = 3 * chunks * 3 + 12
    puts = chunks * (4 * 2 + 1)  # checkpoint and report per stage, scores
    gets = chunks * 3 * 2  # each stage reads its input and the previous report
    apis = manifest.stages["enrich"].apis.get("postcodes.io")
    cache = (apis.calls if apis else 0) * scale
    return {
        "Lambda compute": seconds * STAGE_MEMORY_GB * LAMBDA_GB_SECOND,
        "Lambda requests": invocations * LAMBDA_REQUEST,
        "state transitions": transitions * STATE_TRANSITION,
        "S3 requests": puts * S3_PUT + gets * S3_GET,
        # One GenerateDataKey per run, one Decrypt per later chunk's load.
        "KMS requests": (1 + chunks) * KMS_REQUEST,
        "DynamoDB (cache, breakers)": cache * (DYNAMODB_READ + DYNAMODB_WRITE),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--chunk-rows", type=int, default=50_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--api-latency-ms", type=float, default=20.0)
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        source = root / "customers.csv"
        write_sample(source, rows=args.rows, seed=1, defect_rate=0.02)
        results: dict[int, tuple[RunManifest, float, float]] = {}
        fake = FakePostcodesApi(latency_seconds=args.api_latency_ms / 1000, record=False)
        with serve(fake) as api:
            for workers in args.workers:
                results[workers] = run_pipeline(
                    root, source, workers, args.chunk_rows, api.base_url
                )
        runner_peak = peak_mb(resource.RUSAGE_SELF)
        worker_peak = peak_mb(resource.RUSAGE_CHILDREN)
        floor = read_and_insert(source, root / "floor.db")
        baseline = pandas_to_sql(source, root / "baseline.db")

    print(
        f"rows: {args.rows:,}, chunk {args.chunk_rows:,}, encryption on, postcodes API "
        f"{args.api_latency_ms:g} ms per call"
    )
    for workers, (manifest, seconds, cpu) in results.items():
        print(
            f"{workers} worker(s): {manifest.status}, {manifest.chunks} chunk(s), CPU {cpu:.1f} s"
        )
        for name, report in manifest.stages.items():
            rate = report.rows_in / report.duration_seconds if report.duration_seconds else 0
            print(f"  {name:<9} {report.duration_seconds:8.2f} s  {rate:12,.0f} rows/s")
        print(
            f"  end to end {seconds:8.2f} s  {args.rows / seconds:12,.0f} rows/s; "
            f"{seconds / floor:.1f}x read-and-insert, {seconds / baseline:.1f}x read_csv+to_sql"
        )
    if len(results) > 1:
        one = results[min(results)][1]
        for workers, (_, seconds, _) in results.items():
            print(f"speed-up with {workers} worker(s): {one / seconds:.2f}x")
    print(f"read-and-insert floor: {floor:.2f} s, {args.rows / floor:,.0f} rows/s")
    print(f"read_csv + to_sql: {baseline:.2f} s, {args.rows / baseline:,.0f} rows/s")
    print(f"peak RSS: runner {runner_peak:.0f} MB, largest worker {worker_peak:.0f} MB")
    if 1 in results:
        costs = cost_per_million(results[1][0], args.rows)
        print("cloud cost per million rows (list prices, from the 1-worker stage times):")
        for name, dollars in costs.items():
            print(f"  {name:<28} ${dollars:.4f}")
        print(f"  {'total':<28} ${math.fsum(costs.values()):.4f}")
    if args.json:
        figures = {
            "command": "make bench-pipeline BENCH_ARGS=" + repr(" ".join(sys.argv[1:])),
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "rows": args.rows,
            "chunk_rows": args.chunk_rows,
            "api_latency_ms": args.api_latency_ms,
            "peak_rss_mb": {"runner": round(runner_peak), "largest_worker": round(worker_peak)},
            "runs": {
                str(workers): {
                    "status": manifest.status,
                    "seconds": round(seconds, 1),
                    "cpu_seconds": round(cpu, 1),
                    "stage_seconds": {
                        name: round(report.duration_seconds, 1)
                        for name, report in manifest.stages.items()
                    },
                }
                for workers, (manifest, seconds, cpu) in results.items()
            },
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
