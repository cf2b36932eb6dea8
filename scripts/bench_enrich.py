"""Measure postcode enrichment against our fake API at a fixed latency per request, and the
naive one-request-per-row approach on a sample of the same rows, in the same run.

    .venv/bin/python scripts/bench_enrich.py --rows 100000 --latency-ms 20

The enrich stage runs as the pipeline runs it: in chunks, each distinct postcode asked once,
100 a request, several requests in flight. The persistent cache is off, so every distinct
postcode costs the API. The naive approach sends one request per row, one after another,
on a kept-alive session (kinder to it than a new connection per row).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from datetime import date
from pathlib import Path

import pandas as pd
import requests

from customer_etl.adapters.api_client import ApiClient
from customer_etl.adapters.postcodes_io import PostcodesIoLookup
from customer_etl.config.model import PostcodesSettings
from customer_etl.core.context import RunContext
from customer_etl.reference.sample import generate_customers
from customer_etl.stages.enrich import POSTCODES_API, EnrichmentSources, enrich

# The fake API lives with the tests; the script runs from anywhere in the repository.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.fakes.postcodes_api import FakePostcodesApi, serve


def canonical(postcodes: pd.Series) -> pd.Series:
    """The form the transform stage hands to enrich: upper case, one space before the last
    three characters."""
    squeezed = postcodes.str.upper().str.replace(" ", "", regex=False)
    return squeezed.str[:-3] + " " + squeezed.str[-3:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--naive-rows", type=int, default=500, help="sample for the naive way")
    parser.add_argument("--chunk-rows", type=int, default=50_000)
    parser.add_argument("--concurrency", type=int, default=PostcodesSettings().concurrency)
    args = parser.parse_args(argv)

    frame = generate_customers(rows=args.rows, seed=42, defect_rate=0.0).frame
    frame["postcode"] = canonical(frame["postcode"])
    frame["company_number"] = None  # postcodes only: Companies House has its own limiter
    distinct = frame["postcode"].nunique()
    settings = PostcodesSettings(concurrency=args.concurrency, cache_ttl_days=0)

    with serve(FakePostcodesApi(latency_seconds=args.latency_ms / 1000)) as api:
        lookup = PostcodesIoLookup(settings, ApiClient(POSTCODES_API, api.base_url, settings))
        sources = EnrichmentSources(postcodes=lookup)
        context = RunContext(run_id="bench", today=date.today())
        started = time.perf_counter()
        for start in range(0, len(frame), args.chunk_rows):
            enrich(frame.iloc[start : start + args.chunk_rows], context, sources)
        batched_seconds = time.perf_counter() - started
        report = context.api_stats[POSTCODES_API].report()
        batched_calls = len(api.requests)

        sample = frame["postcode"].head(args.naive_rows).tolist()
        session = requests.Session()
        started = time.perf_counter()
        for postcode in sample:
            response = session.post(f"{api.base_url}/postcodes", json={"postcodes": [postcode]})
            response.raise_for_status()
        naive_seconds = time.perf_counter() - started

    batched_rate = args.rows / batched_seconds
    naive_rate = len(sample) / naive_seconds
    floor = math.ceil(distinct / settings.batch_size)
    # Each chunk asks its new postcodes in batches of its own, so a chunk boundary may cost
    # one partly filled batch more than the whole file would.
    seen: set[str] = set()
    chunk_floor = 0
    for start in range(0, len(frame), args.chunk_rows):
        new = set(frame["postcode"].iloc[start : start + args.chunk_rows]) - seen
        chunk_floor += math.ceil(len(new) / settings.batch_size)
        seen |= new
    print(f"rows:                 {args.rows:,} ({distinct:,} distinct postcodes)")
    print(f"latency per request:  {args.latency_ms:g} ms; concurrency {args.concurrency}")
    print(f"batched wall time:    {batched_seconds:,.2f} s")
    print(
        f"batched calls:        {batched_calls:,} (distinct / 100 = {floor:,}, "
        f"per chunk {chunk_floor:,}; retries {report.retries})"
    )
    print(f"batched throughput:   {batched_rate:,.0f} rows/s")
    print(
        f"batched latency:      p50 {report.latency_ms_p50:g} ms, "
        f"p95 {report.latency_ms_p95:g} ms, max {report.latency_ms_max:g} ms"
    )
    print(
        f"naive sample:         {len(sample):,} rows, {len(sample):,} calls, {naive_seconds:,.2f} s"
    )
    print(f"naive throughput:     {naive_rate:,.1f} rows/s")
    print(f"speed-up:             {batched_rate / naive_rate:,.0f}x")
    calls_ok = batched_calls <= chunk_floor + report.retries
    fast_ok = batched_rate >= 100 * naive_rate
    print(
        f"target calls:         <= distinct/100 per chunk + retries: "
        f"{'met' if calls_ok else 'MISSED'}"
    )
    print(f"target speed-up:      >= 100x: {'met' if fast_ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
