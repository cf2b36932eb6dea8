"""Energy and carbon of a run, local and on Lambda, from a benchmark's measured CPU time,
memory and duration (docs/environmental-impact.md, `make doc-figures`).

The coefficients are Cloud Carbon Footprint's published ones (its methodology, appendices I
and V): a measured quantity times a published coefficient, so that anyone can redo the sum.
Nothing here is metered: no wall socket and no AWS account report energy to this project.

Example:
    >>> bench = {"rows": 1000, "peak_rss_mb": {"runner": 100, "largest_worker": 100},
    ...          "runs": {"1": {"seconds": 10.0, "cpu_seconds": 5.0,
    ...                         "stage_seconds": {"load": 8.0}}}}
    >>> energy_figures(bench)["local"]["cpu_utilisation"]
    0.5
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MIN_WATTS_PER_VCPU = 0.74
"""CCF's AWS average at 0% CPU (SPECpower), watts per vCPU."""
MAX_WATTS_PER_VCPU = 3.5
"""CCF's AWS average at 100% CPU, watts per vCPU."""
MEMORY_KWH_PER_GB_HOUR = 0.000392
"""CCF's memory coefficient (the mean of Crucial's and Micron's DDR4 figures)."""
AWS_PUE = 1.135
"""CCF's power usage effectiveness for AWS data centres."""
LOCAL_PUE = 1.0
"""A machine under a desk has no cooling plant to share: its own draw is the whole of it."""
GRID_KG_PER_KWH = 0.225
"""CCF's factor for eu-west-2 (England, EEA data): 0.000225 t CO2e per kWh. The same grid is
assumed for a local run in the UK."""
LAMBDA_MB_PER_VCPU = 1792
"""Lambda gives one vCPU per 1,792 MB of memory (CCF, after AWS's Lambda documentation)."""
STAGE_MEMORY_MB = 2048
"""The stage functions' memory, `aws.lambda_memory_mb` in every deployed environment's file,
as the cost model in scripts/bench_pipeline.py assumes."""
LAMBDA_UTILISATION = 0.5
"""Lambda reports no CPU use: CCF's hyperscale average utilisation stands in for it."""


def energy_figures(bench: Mapping[str, Any]) -> dict[str, Any]:
    """Energy (Wh) and carbon (g CO2e) of the benchmark's 1-worker run, and per million rows.

    Local: CPU time at the busy per-vCPU draw, plus the worker's peak memory held for the
    run's duration. Lambda: each stage's time on a 2 GB function (1.14 vCPU) at the average
    utilisation, plus its 2 GB, times AWS's PUE.
    """
    run = bench["runs"]["1"]
    rows = int(bench["rows"])
    scale = 1_000_000 / rows
    seconds, cpu = float(run["seconds"]), float(run["cpu_seconds"])
    memory_gb = max(bench["peak_rss_mb"].values()) / 1024
    hours = seconds / 3600
    local_wh = (
        cpu / 3600 * MAX_WATTS_PER_VCPU + memory_gb * hours * MEMORY_KWH_PER_GB_HOUR * 1000
    ) * LOCAL_PUE

    stage_hours = sum(float(value) for value in run["stage_seconds"].values()) / 3600
    vcpus = STAGE_MEMORY_MB / LAMBDA_MB_PER_VCPU
    watts = MIN_WATTS_PER_VCPU + LAMBDA_UTILISATION * (MAX_WATTS_PER_VCPU - MIN_WATTS_PER_VCPU)
    lambda_wh = (
        stage_hours * vcpus * watts
        + STAGE_MEMORY_MB / 1024 * stage_hours * MEMORY_KWH_PER_GB_HOUR * 1000
    ) * AWS_PUE

    def place(wh: float) -> dict[str, float]:
        return {
            "wh_per_run": round(wh, 3),
            "g_co2e_per_run": round(wh * GRID_KG_PER_KWH, 3),
            "wh_per_million_rows": round(wh * scale, 2),
            "g_co2e_per_million_rows": round(wh * scale * GRID_KG_PER_KWH, 2),
        }

    return {
        "rows": rows,
        "local": {
            **place(local_wh),
            "seconds": seconds,
            "cpu_seconds": cpu,
            "cpu_utilisation": round(cpu / seconds, 2),
            "memory_gb": round(memory_gb, 2),
        },
        "lambda": {
            **place(lambda_wh),
            "stage_seconds": round(stage_hours * 3600, 1),
            "vcpus": round(vcpus, 2),
            "watts_per_vcpu": round(watts, 2),
        },
    }
