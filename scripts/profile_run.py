"""Profile a whole local run under cProfile, so that optimising starts from figures.

    .venv/bin/python scripts/profile_run.py --rows 100000 [--enrichment api|off] [--out DIR]

One run of a generated file (2% defects) in this process, one worker, encryption on, a
fresh SQLite warehouse; enrichment against the project's fake postcodes API on loopback, in a
process of its own as a real API is on another machine
(`--api-latency-ms` per call, 20 by default) or off (the built-in postcode areas only).
Writes to `--out` (default `.etl/profile`): `run.prof` (the raw pstats), `run-cumulative.txt`
and `run-tottime.txt` (the 60 costliest functions by each measure) and, when flameprof is
installed (a dev dependency), `run-flame.svg`. Then it prints the run's stage times and the
top of the self-time table. With `--rerun` it profiles a second, unchanged run of the same
file into the same warehouse instead (what a reload that changes nothing costs).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import subprocess
import sys
import tempfile
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

from customer_etl.adapters.warehouse.configured import build_warehouse
from customer_etl.config import Config
from customer_etl.core.manifest import RunManifest
from customer_etl.reference.sample import write_sample
from customer_etl.runtime.factory import local_ports
from customer_etl.runtime.local_runner import LocalRunner

# The fake API lives with the tests; the script runs from anywhere in the repository.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.fakes.postcodes_api import serve_apart


def run_config(folder: Path, api_url: str | None) -> Config:
    """The benchmark's configuration: one worker, encryption on, SQLite."""
    postcodes: dict[str, Any] = {"base_url": api_url} if api_url else {"enabled": False}
    return Config.model_validate(
        {
            "environment": "local",
            "pipeline": {"output_dir": str(folder / "runs"), "chunk_rows": 50_000, "workers": 1},
            "warehouse": {"url": f"sqlite:///{folder / 'warehouse.db'}"},
            "encryption": {"enabled": True, "key_file": str(folder / "keys.json")},
            "enrichment": {
                "postcodes": postcodes,
                "companies_house": {"enabled": False},
                "cache_path": str(folder / "cache.db"),
            },
            "quality": {"max_bad_ratio": 0.2},
        }
    )


def run_once(config: Config, source: Path, run_id: str) -> RunManifest:
    return LocalRunner(config, local_ports(config), local_ports).run(source, run_id)


def write_tables(profile: Path, out: Path) -> str:
    """The sorted tables; returns the top of the self-time one."""
    top = ""
    for order in ("cumulative", "tottime"):
        text = io.StringIO()
        pstats.Stats(str(profile), stream=text).strip_dirs().sort_stats(order).print_stats(60)
        (out / f"run-{order}.txt").write_text(text.getvalue())
        if order == "tottime":
            top = text.getvalue()
    return top


def flame_graph(profile: Path, svg: Path) -> bool:
    """flameprof's SVG of the profile, when flameprof is installed."""
    try:
        with svg.open("wb") as handle:
            subprocess.run(
                [sys.executable, "-m", "flameprof", str(profile)], stdout=handle, check=True
            )
    except (subprocess.CalledProcessError, OSError):
        svg.unlink(missing_ok=True)
        return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--enrichment", choices=("api", "off"), default="api")
    parser.add_argument("--api-latency-ms", type=float, default=20.0)
    parser.add_argument("--rerun", action="store_true", help="profile an unchanged rerun")
    parser.add_argument("--out", type=Path, default=Path(".etl/profile"))
    args = parser.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        source = root / "customers.csv"
        write_sample(source, rows=args.rows, seed=1, defect_rate=0.02)
        api: AbstractContextManager[str | None] = (
            serve_apart(args.api_latency_ms / 1000) if args.enrichment == "api" else nullcontext()
        )
        with api as api_url:
            config = run_config(root, api_url)
            build_warehouse(config).upgrade()
            if args.rerun:
                run_once(config, source, "first")
            profiler = cProfile.Profile()
            started = time.perf_counter()
            profiler.enable()
            manifest = run_once(config, source, "profiled")
            profiler.disable()
            seconds = time.perf_counter() - started

    profile = out / "run.prof"
    profiler.dump_stats(profile)
    top = write_tables(profile, out)
    flame = flame_graph(profile, out / "run-flame.svg")
    print(
        f"{args.rows:,} rows, enrichment {args.enrichment}, "
        f"{'unchanged rerun' if args.rerun else 'first run'}: {manifest.status} in "
        f"{seconds:.2f} s under cProfile ({args.rows / seconds:,.0f} rows/s)"
    )
    for name, report in manifest.stages.items():
        print(f"  {name:<9} {report.duration_seconds:8.2f} s")
    print(f"profile: {profile}, tables: {out}/run-cumulative.txt, {out}/run-tottime.txt")
    print(f"flame graph: {out / 'run-flame.svg'}" if flame else "flame graph: flameprof absent")
    print("\n".join(top.splitlines()[:40]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
