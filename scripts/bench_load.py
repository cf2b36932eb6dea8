"""Measure the warehouse load against pandas.to_sql and awswrangler on the same rows.

    make bench-load                                  # 1,000,000 rows, SQLite and PostgreSQL
    scripts/with-postgres.sh .venv-bench/bin/python scripts/bench_load.py --rows 200000

Rows are generated (`customer_etl.reference.sample`, no defects), typed and hashed as the load stage
gets them. Each measurement runs in a fresh process against a fresh database, so that its
peak memory (the process's resident high-water mark, VmHWM) is its own:

- ours: `SqlWarehouse` insert into an empty warehouse, then a full re-upsert of the same
  rows (all unchanged), then one where every row changed. Plaintext rows, as the libraries
  get them: the cost of field encryption is measured apart (scripts/bench_encrypt.py);
- pandas: `DataFrame.to_sql(if_exists="append")` into the same table (it cannot upsert);
- awswrangler: `postgresql.to_sql(mode="upsert")` (pg8000) into the same table, into an
  empty table and again over the same rows. PostgreSQL only.

PostgreSQL comes from ETL_TEST_POSTGRES_URL (scripts/with-postgres.sh sets it); without it
only SQLite is measured. awswrangler lives in `.venv-bench` (it pins pyarrow below the
version the tests use); without it that comparison is left out and said so.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.adapters.warehouse.tables import customers, metadata
from customer_etl.core.schema import ENRICHMENT_COLUMNS
from customer_etl.reference.postcode_areas import POSTCODE_AREAS, area_of
from customer_etl.reference.sample import generate_customers
from customer_etl.stages.load import prepare_load

POSTGRES_URL = "ETL_TEST_POSTGRES_URL"
CHUNK_ROWS = 50_000  # the pipeline's default chunk


def prepare(rows: int, path: Path) -> None:
    """Typed, enriched, hashed records, as the load stage receives them."""
    frame = generate_customers(rows=rows, seed=1, defect_rate=0.0).frame
    frame.insert(0, "source_row", range(1, len(frame) + 1))
    for name in ("date_of_birth", "signup_date"):
        frame[name] = pd.to_datetime(frame[name], errors="coerce").dt.date
    frame["marketing_consent"] = frame["marketing_consent"].str.lower().isin(["true", "yes", "1"])
    for name in ("phone", "company_name", "company_number"):
        frame[name] = frame[name].replace("", None)
    for name in ENRICHMENT_COLUMNS:
        frame[name] = None
    areas = frame["postcode"].map(area_of).map(POSTCODE_AREAS.get)
    frame["post_town"] = areas.map(lambda a: a.post_town if a else None)
    frame["postcode_country"] = areas.map(lambda a: a.country if a else None)
    frame["latitude"] = frame["longitude"] = float("nan")
    frame["enrichment_source"] = "reference"
    prepare_load(frame).to_parquet(path, index=False)


def changed(frame: pd.DataFrame) -> pd.DataFrame:
    edited = frame.copy()
    edited["email"] = "new." + edited["email"]
    return prepare_load(edited.drop(columns="content_hash"))


def chunks(frame: pd.DataFrame) -> list[pd.DataFrame]:
    return [frame.iloc[i : i + CHUNK_ROWS] for i in range(0, len(frame), CHUNK_ROWS)]


def as_table_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows with every `customers` column, for the libraries that insert frames as is."""
    now = datetime.now(UTC)
    rows = frame.drop(columns="source_row").copy()
    for name in ("first_seen_at", "last_updated_at", "last_seen_at"):
        rows[name] = now
    rows["last_run_id"] = "bench"
    for column in customers.columns:
        if column.name not in rows:  # the blind indexes: empty, as our plaintext load leaves them
            rows[column.name] = None
    return rows.loc[:, [c.name for c in customers.columns]]


def ours(url: str, frame: pd.DataFrame) -> dict[str, float]:
    warehouse = SqlWarehouse(url)
    warehouse.upgrade()
    edited = changed(frame)
    return {
        "insert": timed(lambda: warehouse.load_customers(chunks(frame), "insert")),
        "re-upsert unchanged": timed(lambda: warehouse.load_customers(chunks(frame), "same")),
        "re-upsert changed": timed(lambda: warehouse.load_customers(chunks(edited), "changed")),
    }


def pandas_to_sql(url: str, frame: pd.DataFrame) -> dict[str, float]:
    engine = create_engine(url)
    metadata.create_all(engine, tables=[customers])
    rows = as_table_rows(frame)
    return {
        "insert": timed(
            lambda: rows.to_sql(
                "customers",
                engine,
                if_exists="append",
                index=False,
                chunksize=10_000,
                dtype={c.name: c.type for c in customers.columns},  # type: ignore[misc]
            )
        )
    }


def awswrangler_upsert(url: str, frame: pd.DataFrame) -> dict[str, float]:
    import awswrangler as wr
    import pg8000

    engine = create_engine(url)
    metadata.create_all(engine, tables=[customers])
    parts = make_url(url)
    connection = pg8000.connect(
        user=parts.username, host=parts.host, port=parts.port, database=parts.database
    )
    rows = as_table_rows(frame)

    def upsert() -> None:
        wr.postgresql.to_sql(
            rows,
            connection,
            table="customers",
            schema="public",
            mode="upsert",
            upsert_conflict_columns=["customer_id"],
            index=False,
            chunksize=1000,
            use_column_names=True,
        )

    return {"insert": timed(upsert), "re-upsert unchanged": timed(upsert)}


METHODS: dict[str, Callable[[str, pd.DataFrame], dict[str, float]]] = {
    "ours": ours,
    "pandas.to_sql": pandas_to_sql,
    "awswrangler upsert": awswrangler_upsert,
}


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def worker(method: str, url: str, data: Path) -> None:
    frame = pd.read_parquet(data)
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    baseline = peak_rss_mb()
    timings = METHODS[method](url, frame)
    print(json.dumps({"timings": timings, "baseline_mb": baseline, "peak_mb": peak_rss_mb()}))


def fresh_database(dialect: str, folder: Path, label: str) -> str:
    if dialect == "sqlite":
        return f"sqlite:///{folder / (label.replace(' ', '_') + '.db')}"
    server = make_url(os.environ[POSTGRES_URL])
    name = "bench_" + "".join(c for c in label if c.isalnum())
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


def measure(method: str, url: str, data: Path) -> dict[str, Any] | None:
    done = subprocess.run(
        [sys.executable, __file__, "--worker", method, "--url", url, "--data", str(data)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        errors = [line for line in done.stderr.splitlines() if "Error" in line]
        reason = errors[-1] if errors else "failed"
        print(f"  {method:<20} not measured: {reason}")
        return None
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.url, args.data)
        return 0

    dialects = ["sqlite"] + (["postgresql"] if os.environ.get(POSTGRES_URL) else [])
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        data = root / "rows.parquet"
        started = time.perf_counter()
        prepare(args.rows, data)
        print(f"{args.rows:,} rows prepared in {time.perf_counter() - started:.0f} s")
        for dialect in dialects:
            print(f"\n{dialect}")
            rates: dict[tuple[str, str], float] = {}
            for method in METHODS:
                if dialect == "sqlite" and method.startswith("awswrangler"):
                    continue
                result = measure(method, fresh_database(dialect, root, method), data)
                if result is None:
                    continue
                for phase, seconds in result["timings"].items():
                    rates[method, phase] = args.rows / seconds
                    print(
                        f"  {method:<20} {phase:<20} {seconds:7.1f} s "
                        f"{args.rows / seconds:10,.0f} rows/s"
                    )
                print(
                    f"  {method:<20} {'peak memory':<20} {result['peak_mb']:7.0f} MB "
                    f"(data alone {result['baseline_mb']:.0f} MB)"
                )
            for (method, phase), rate in rates.items():
                if method != "ours" and ("ours", phase) in rates:
                    print(f"  ours / {method} ({phase}): {rates['ours', phase] / rate:.1f}x")
    if "postgresql" not in dialects:
        print(f"\nPostgreSQL not measured: {POSTGRES_URL} unset (see scripts/with-postgres.sh)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
