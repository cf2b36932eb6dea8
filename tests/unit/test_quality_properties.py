"""Property-based tests: arbitrary bytes and arbitrary CSV never raise anything but our
InputFileError, and every record read comes out passed or quarantined, never lost."""

from __future__ import annotations

import csv
import io
import tempfile
from datetime import date
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customer_etl.core.context import RunContext
from customer_etl.core.errors import InputFileError
from customer_etl.core.schema import CANONICAL_COLUMNS
from customer_etl.stages.extract import extract, inspect_file, read_chunks
from customer_etl.stages.settings import default_rules
from customer_etl.stages.transform import transform

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

cells = st.one_of(
    # Text with a NUL is refused as binary, which the bytes test covers.
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12),
    st.sampled_from(
        [
            "",
            " ",
            "GB",
            "gb",
            "SW1A 1AA",
            "a@b.co",
            "2020-01-01",
            "29/02/2021",
            "yes",
            "07700 900123",
        ]
    ),
)


def run_file(content: bytes, chunk_rows: int = 3) -> tuple[int, int, int] | None:
    """(records read, passed, quarantined) through extract and transform; None when the
    file is refused with InputFileError."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "in.csv"
        path.write_bytes(content)
        context = RunContext("r", date(2026, 1, 1))
        read = passed = quarantined = 0
        try:
            facts = inspect_file(path)
            for chunk in read_chunks(path, chunk_rows, facts):
                extracted = extract(chunk, context, None)
                assert extracted.rows_in == len(chunk)
                transformed = transform(extracted.passed, context, default_rules())
                assert transformed.rows_in == len(extracted.passed)
                read += len(chunk)
                passed += len(transformed.passed)
                quarantined += len(extracted.quarantined) + len(transformed.quarantined)
        except InputFileError:
            return None
        return read, passed, quarantined


@SETTINGS
@given(st.binary(max_size=400))
def test_arbitrary_bytes_are_read_or_refused_with_our_error(content: bytes) -> None:
    outcome = run_file(content)
    if outcome is not None:
        read, passed, quarantined = outcome
        assert read == passed + quarantined


@SETTINGS
@given(
    st.lists(st.lists(cells, min_size=0, max_size=15), max_size=12),
    st.sampled_from([",", ";", "\t", "|"]),
    st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
)
def test_arbitrary_csv_keeps_every_record_passed_or_quarantined(
    rows: list[list[str]], delimiter: str, encoding: str
) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(CANONICAL_COLUMNS)
    writer.writerows(rows)
    try:
        content = buffer.getvalue().encode(encoding)
    except UnicodeEncodeError:
        content = buffer.getvalue().encode("utf-8")
    outcome = run_file(content)
    assert outcome is not None  # a header of our columns is always readable
    read, passed, quarantined = outcome
    assert read == passed + quarantined
    blank = sum(1 for row in rows if not any(cell.strip() for cell in row) and len(row) <= 1)
    assert read <= len(rows) - blank


@SETTINGS
@given(st.lists(st.fixed_dictionaries({name: cells for name in CANONICAL_COLUMNS}), max_size=20))
def test_the_rules_never_raise_and_account_for_every_record(rows: list[dict[str, str]]) -> None:
    frame = pd.DataFrame(rows, columns=list(CANONICAL_COLUMNS)).fillna("")
    frame.insert(0, "source_row", range(1, len(frame) + 1))
    outcome = transform(frame, RunContext("r", date(2026, 1, 1)), default_rules())
    assert outcome.rows_in == len(frame)
    assert outcome.scores is not None and len(outcome.scores) == len(frame)
    assert outcome.scores["quality_score"].between(0, 100).all()
    assert (outcome.quarantined["reason_codes"] != "").all()
