"""dlt's merge (upsert) load of a customer CSV into SQLite, timed: what a user who only wants
the rows in a table would run. Runs in dlt's own environment (`make bench-speed` builds it),
so it imports nothing of this project.

    .venv-dlt/bin/python scripts/dlt_merge_load.py FILE DATABASE WORKDIR

Prints one JSON line: the seconds the whole load took (extract, normalize, load) and the
rows it read.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt

BATCH = 10_000


def main() -> int:
    source, database, workdir = (Path(arg) for arg in sys.argv[1:4])
    read = 0

    # dlt lives in its own environment, so mypy sees it untyped.
    @dlt.resource(name="customers", write_disposition="merge", primary_key="customer_id")  # type: ignore[untyped-decorator]
    def customers() -> Iterator[list[dict[str, Any]]]:
        nonlocal read
        with source.open(newline="", encoding="utf-8") as handle:
            batch: list[dict[str, Any]] = []
            for row in csv.DictReader(handle):
                # dlt refuses a null primary key; the governed run quarantines these rows.
                if row["customer_id"]:
                    batch.append(row)
                if len(batch) == BATCH:
                    read += len(batch)
                    yield batch
                    batch = []
            read += len(batch)
            yield batch

    pipeline = dlt.pipeline(
        pipeline_name="bench_merge",
        destination=dlt.destinations.sqlalchemy(f"sqlite:///{database}"),
        dataset_name="main",
        pipelines_dir=str(workdir),
    )
    started = time.perf_counter()
    pipeline.run(customers())
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "rows": read}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
