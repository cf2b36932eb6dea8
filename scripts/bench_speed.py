"""The speed benchmark: a governed run of a generated file, its unchanged rerun, the import
times of the command line and of the Lambda handlers, peak memory, and dlt's merge load of
the same file into SQLite, timed in the same run.

    .venv/bin/python scripts/bench_speed.py --rows 1000000 --dlt-python .venv-dlt/bin/python

The run: one worker, chunks of 50,000, encryption on (a local key file), 2% defects, the
postcodes API served by the project's fake on loopback, in a process of its own, at
`--api-latency-ms` (20) a call,
a fresh SQLite warehouse. The rerun loads the same file into the same warehouse as a new
run: every record is unchanged, and the postcodes come from the answer cache, as they do
for a user's rerun. Import times are of fresh interpreters (`-X importtime`, the top
module's cumulative time) and the `customer-etl --help` process as a whole. Peak RSS is
this process's high-water mark after the runs, before dlt's load (which runs in its own
environment, `make bench-speed` builds it). `make bench-speed` runs it all.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from customer_etl.adapters.warehouse.configured import build_warehouse
from customer_etl.core.manifest import RunManifest
from customer_etl.reference.sample import write_sample

# The profile script's configuration and the fake API: the script runs from anywhere.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from scripts.profile_run import run_config, run_once
from tests.fakes.postcodes_api import serve_apart

REPO = Path(__file__).resolve().parents[1]
TARGET_ROWS_PER_SECOND = 50_000
FUNCTIONS = sorted(path.parent.name for path in (REPO / "functions").glob("*/handler.py"))


def import_seconds(module: str) -> float:
    """`module`'s cumulative import time in a fresh interpreter (`-X importtime`)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    for line in result.stderr.splitlines():
        fields = [part.strip() for part in line.removeprefix("import time:").split("|")]
        if len(fields) == 3 and fields[2] == module:
            return int(fields[1]) / 1_000_000
    raise RuntimeError(f"no import time reported for {module}")


def process_seconds(command: list[str]) -> float:
    """Wall time of a whole process, interpreter start included (best of three)."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run(command, cwd=REPO, capture_output=True, check=True)
        best = min(best, time.perf_counter() - started)
    return best


def print_imports() -> None:
    executable = Path(sys.executable).with_name("customer-etl")
    print("import times (fresh interpreter; target under 0.5 s):")
    bare = process_seconds([sys.executable, "-c", "pass"])
    print(f"  customer-etl --help process  {process_seconds([str(executable), '--help']):6.3f} s")
    print(f"  (an empty interpreter        {bare:6.3f} s)")
    for function in FUNCTIONS:
        seconds = import_seconds(f"functions.{function}.handler")
        print(f"  functions/{function + '/handler.py':<22} {seconds:6.3f} s")
    # What a stage function's first invocation then imports (its cold start's share).
    stage = import_seconds("customer_etl.runtime.lambda_handlers")
    print(f"  first call: lambda_handlers  {stage:6.3f} s")


def print_run(label: str, manifest: RunManifest, seconds: float, rows: int) -> None:
    print(f"{label}: {manifest.status}, {manifest.chunks} chunk(s)")
    for name, report in manifest.stages.items():
        rate = report.rows_in / report.duration_seconds if report.duration_seconds else 0
        print(f"  {name:<9} {report.duration_seconds:8.2f} s  {rate:12,.0f} rows/s")
    load = manifest.stages.get("load")
    if load is not None:
        actions = {k: load.counters.get(k, 0) for k in ("inserted", "updated", "unchanged")}
        print(f"  load actions {actions}")
    print(f"  end to end {seconds:8.2f} s  {rows / seconds:12,.0f} rows/s")


def dlt_load(dlt_python: Path, source: Path, folder: Path) -> dict[str, float]:
    result = subprocess.run(
        [
            str(dlt_python),
            str(REPO / "scripts" / "dlt_merge_load.py"),
            str(source),
            str(folder / "dlt.db"),
            str(folder / "dlt-work"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--api-latency-ms", type=float, default=20.0)
    parser.add_argument("--dlt-python", type=Path, help="dlt's environment (omit to skip dlt)")
    args = parser.parse_args()

    print_imports()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        source = root / "customers.csv"
        write_sample(source, rows=args.rows, seed=1, defect_rate=0.02)
        with serve_apart(args.api_latency_ms / 1000) as api_url:
            config = run_config(root, api_url)
            build_warehouse(config).upgrade()
            runs: list[tuple[str, RunManifest, float]] = []
            for run_id in ("first", "rerun"):
                started = time.perf_counter()
                manifest = run_once(config, source, run_id)
                runs.append((run_id, manifest, time.perf_counter() - started))
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        dlt = dlt_load(args.dlt_python, source, root) if args.dlt_python else None

    print(
        f"rows: {args.rows:,}, chunk 50,000, 1 worker, encryption on, 2% defects, "
        f"postcodes API {args.api_latency_ms:g} ms per call"
    )
    for label, manifest, seconds in runs:
        print_run(label, manifest, seconds, args.rows)
    first, rerun = runs[0][2], runs[1][2]
    print(f"unchanged rerun: {rerun:.2f} s, {first / rerun:.2f}x faster than the first run")
    rate = args.rows / first
    print(
        f"end to end {rate:,.0f} rows/s against the target of {TARGET_ROWS_PER_SECOND:,}: "
        f"{rate / TARGET_ROWS_PER_SECOND:.0%}"
    )
    print(f"peak RSS (this process, both runs): {peak:.0f} MB")
    if dlt is not None:
        dlt_rate = args.rows / dlt["seconds"]
        print(
            f"dlt merge load into SQLite: {dlt['seconds']:.2f} s, {dlt_rate:,.0f} rows/s; "
            f"the governed run takes {first / dlt['seconds']:.2f}x dlt's time"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
