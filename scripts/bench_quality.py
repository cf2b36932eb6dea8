"""Measure the rules engine's throughput against the same rules written in pandera and as a
plain per-row Python loop, on the same generated rows, in the same process.

    .venv/bin/python scripts/bench_quality.py --rows 1000000

Each contender validates the same chunks (the pipeline's chunk size). Ours is the whole
transform stage: every shipped rule, normalisation, scores and quarantine. pandera runs the
same checks (lazy validation, so every failure is collected as ours does); the per-row loop
runs them record by record. Peak memory is the process's resident high-water mark after
each contender (getrusage), so ours runs first: the others can only raise it.
"""

from __future__ import annotations

import argparse
import re
import resource
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date, datetime

import pandas as pd
import pandera.pandas as pa
import phonenumbers

from customer_etl.core import formats
from customer_etl.core.context import RunContext
from customer_etl.reference.sample import generate_customers
from customer_etl.stages.settings import default_rules
from customer_etl.stages.transform import transform

TODAY = date(2026, 1, 1)
_DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y")
_CONSENT = {"true", "false", "yes", "no", "y", "n", "1", "0"}


def peak_rss_mb() -> float:
    divisor = 1024 * 1024 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / divisor


def chunks(frame: pd.DataFrame, size: int) -> Iterator[pd.DataFrame]:
    for start in range(0, len(frame), size):
        yield frame.iloc[start : start + size]


def ours(frame: pd.DataFrame, size: int) -> int:
    context = RunContext("bench", TODAY)
    rules = default_rules()
    bad = 0
    for chunk in chunks(frame, size):
        bad += len(transform(chunk, context, rules).quarantined)
    return bad


def _phone_ok(value: str) -> bool:
    try:
        number = phonenumbers.parse(value, "GB")
    except phonenumbers.NumberParseException:
        return False
    return bool(
        phonenumbers.is_possible_number_with_reason(number)
        == phonenumbers.ValidationResult.IS_POSSIBLE
    )


def _parse_date(value: str) -> datetime | None:
    for date_format in _DATE_FORMATS:
        try:
            return datetime.strptime(value, date_format)
        except ValueError:
            continue
    return None


def _dates(column: pd.Series) -> pd.Series:
    parsed = pd.to_datetime(column, format=_DATE_FORMATS[0], errors="coerce")
    return parsed.fillna(pd.to_datetime(column, format=_DATE_FORMATS[1], errors="coerce"))


def _pandera_schema() -> pa.DataFrameSchema:
    """The shipped rules, as far as pandera expresses them (checks return True for good)."""
    today = pd.Timestamp(TODAY)
    text = {
        name: pa.Column(str, pa.Check.str_length(1, limit))
        for name, limit in (("customer_id", 64), ("first_name", 100), ("last_name", 100))
    }
    return pa.DataFrameSchema(
        {
            **text,
            "customer_id": pa.Column(str, [pa.Check.str_length(1, 64)], unique=True),
            "email": pa.Column(
                str, pa.Check(lambda s: s.str.lower().str.match(formats.EMAIL_PATTERN))
            ),
            "postcode": pa.Column(
                str,
                pa.Check(
                    lambda s: (
                        s.str.upper()
                        .str.replace(r"\s+", "", regex=True)
                        .str.match(formats.UK_POSTCODE_PATTERN)
                    )
                ),
            ),
            "phone": pa.Column(str, pa.Check(lambda v: v == "" or _phone_ok(v), element_wise=True)),
            "date_of_birth": pa.Column(
                str,
                [
                    pa.Check(lambda s: (s == "") | _dates(s).notna()),
                    pa.Check(lambda s: ~(_dates(s) > today)),
                    pa.Check(
                        lambda s: (s == "") | ((today - _dates(s)).dt.days // 365).between(16, 120)
                    ),
                ],
            ),
            "signup_date": pa.Column(
                str,
                [
                    pa.Check(lambda s: _dates(s).notna()),
                    pa.Check(lambda s: ~(_dates(s) > today)),
                ],
            ),
            "country": pa.Column(str, pa.Check.str_matches(formats.COUNTRY_PATTERN)),
            "marketing_consent": pa.Column(str, pa.Check(lambda s: s.str.lower().isin(_CONSENT))),
        },
        checks=[
            pa.Check(
                lambda df: ~(_dates(df["signup_date"]) < _dates(df["date_of_birth"])),
                name="signup_after_birth",
            )
        ],
    )


def with_pandera(frame: pd.DataFrame, size: int) -> int:
    schema = _pandera_schema()
    bad = 0
    for chunk in chunks(frame, size):
        try:
            schema.validate(chunk, lazy=True)
        except pa.errors.SchemaErrors as errors:
            bad += errors.failure_cases["index"].nunique()
    return bad


_EMAIL = re.compile(formats.EMAIL_PATTERN)
_POSTCODE = re.compile(formats.UK_POSTCODE_PATTERN)


def per_row(frame: pd.DataFrame, size: int) -> int:
    seen: set[str] = set()
    bad = 0
    for record in frame.to_dict("records"):
        ok = all(record[name].strip() for name in ("customer_id", "first_name", "email"))
        ok &= bool(_EMAIL.match(record["email"].lower()))
        ok &= bool(_POSTCODE.match(record["postcode"].upper().replace(" ", "")))
        ok &= record["phone"] == "" or _phone_ok(record["phone"])
        born = _parse_date(record["date_of_birth"]) if record["date_of_birth"] else None
        signed = _parse_date(record["signup_date"])
        ok &= signed is not None and (record["date_of_birth"] == "" or born is not None)
        ok &= not (born and signed and signed < born)
        ok &= record["marketing_consent"].lower() in _CONSENT
        ok &= record["customer_id"] not in seen
        seen.add(record["customer_id"])
        bad += not ok
    return bad


def measure(
    name: str, check: Callable[[pd.DataFrame, int], int], frame: pd.DataFrame, size: int
) -> float:
    started = time.perf_counter()
    bad = check(frame, size)
    seconds = time.perf_counter() - started
    rate = len(frame) / seconds
    print(
        f"{name:<22} {len(frame):>9,} rows  {seconds:7.2f} s  {rate:>10,.0f} rows/s  "
        f"{bad:>7,} bad  peak RSS {peak_rss_mb():,.0f} MB"
    )
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--chunk-rows", type=int, default=50_000)
    parser.add_argument("--per-row-rows", type=int, default=100_000, help="rows for the slow loop")
    args = parser.parse_args()

    started = time.perf_counter()
    frame = generate_customers(args.rows, seed=42, defect_rate=0.05).frame
    frame.insert(0, "source_row", range(1, len(frame) + 1))
    print(f"generated {len(frame):,} rows in {time.perf_counter() - started:.1f} s")

    ours_rate = measure("rules engine (ours)", ours, frame, args.chunk_rows)
    pandera_rate = measure("pandera", with_pandera, frame, args.chunk_rows)
    loop_rate = measure("per-row Python", per_row, frame.head(args.per_row_rows), args.chunk_rows)
    print(f"ours / pandera: {ours_rate / pandera_rate:.2f}x")
    print(f"ours / per-row Python: {ours_rate / loop_rate:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
