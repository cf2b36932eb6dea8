"""Extract: check that a file is a readable customer CSV and read it in chunks.

Reads UTF-8 (with or without a byte-order mark), UTF-16 with a byte-order mark, and
Windows-1252 / Latin-1; comma, semicolon, tab or pipe delimited; quoted fields holding
delimiters, quotes and line breaks; blank lines (skipped) and trailing delimiters. A row
with too many or too few fields is quarantined with a reason and the file goes on.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from customer_etl.core.context import REASON_SEPARATOR, SOURCE_ROW, ChunkOutcome, RunContext
from customer_etl.core.errors import InputFileError
from customer_etl.core.mapping import (
    ALTERNATE_SEPARATOR,
    HeaderPlan,
    SourceMapping,
    alternate_column,
    normalise_header,
    plan_header,
)
from customer_etl.core.schema import CANONICAL_COLUMNS, REQUIRED_COLUMNS
from customer_etl.observability.telemetry import timed
from customer_etl.stages.source_format import (
    HEAD_BYTES,
    detect_delimiter,
    detect_encoding,
    first_row,
    head_text,
)
from customer_etl.stages.source_mapping import apply_mapping

SOURCE_LINE = "source_line"
"""Line of the file where the record starts (1 is the first line, usually the header)."""
RAW_RECORD = "raw_record"
"""A ragged row's fields as they were, re-joined as one CSV line; empty for other rows."""
REASON_CODES = "reason_codes"
TOO_MANY_FIELDS = "too_many_fields"
TOO_FEW_FIELDS = "too_few_fields"
FIELD_TOO_LARGE = "field_too_large"
"""A field longer than `source.max_field_bytes` (UTF-8 bytes): its row is quarantined with
the field cut to the limit, the rest of the file goes on."""
_RULE_OF_REASON = {
    TOO_MANY_FIELDS: "row_shape",
    TOO_FEW_FIELDS: "row_shape",
    FIELD_TOO_LARGE: "field_size",
}
DEFAULT_MAX_FIELD_BYTES = 65_536
# The csv module refuses fields over 128 KiB characters with an error that stops the file;
# the limit is raised so that a big, well-quoted field reaches the size check and is
# quarantined alone. Past this (a quote left open swallowing the file) it is still an error.
_CSV_FIELD_LIMIT = 1 << 28

__all__ = [
    "FIELD_TOO_LARGE",
    "FileFacts",
    "RawSample",
    "extract",
    "inspect_file",
    "normalise_header",
    "read_chunks",
]


@dataclass
class RawSample:
    """The first `rows` records of a file with every column of its header (not only the
    canonical ones), as `read_chunks` reads them: what personal-data classification looks
    at, without reading the file a second time. At most one chunk's rows."""

    rows: int
    frame: pd.DataFrame | None = None


@dataclass(frozen=True)
class FileFacts:
    """What extract learned about a file: safe to report (no values, only names and sizes)."""

    size_bytes: int
    encoding: str
    delimiter: str
    header: HeaderPlan

    @property
    def columns_found(self) -> tuple[str, ...]:
        return self.header.columns_found

    @property
    def columns_ignored(self) -> tuple[str, ...]:
        return self.header.columns_ignored


def inspect_file(
    path: Path,
    mapping: SourceMapping | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    max_columns: int = 300,
    required: tuple[str, ...] = REQUIRED_COLUMNS,
) -> FileFacts:
    """Check the file can be read as a customer CSV, or raise InputFileError saying why.

    `encoding` and `delimiter` are detected when None; `required` are the fields the header
    must give (or the mapping supply).
    """
    if not path.is_file():
        raise InputFileError(f"input file {path.name} not found: check the path")
    size = path.stat().st_size
    if size == 0:
        raise InputFileError(f"input file {path.name} is empty: expected a CSV with a header row")
    with path.open("rb") as handle:
        head = handle.read(HEAD_BYTES)
    encoding = encoding or detect_encoding(path, head)
    text = head_text(head, encoding)
    if not text.strip():
        raise InputFileError(f"input file {path.name} has no header row")
    if delimiter is None:
        sources = (
            [*mapping.columns, *(s for c in mapping.combine.values() for s in c)] if mapping else []
        )
        mapping_names = [normalise_header(n) for n in sources]
        delimiter = detect_delimiter(text, [*CANONICAL_COLUMNS, *mapping_names])
    header = _trim_trailing_empty(first_row(text, delimiter))
    if len(header) > max_columns:
        raise InputFileError(
            f"input file {path.name} has {len(header)} columns, more than the "
            f"{max_columns} allowed (source.max_columns): drop the columns the pipeline does "
            "not use before sending it, or raise the limit"
        )
    return FileFacts(size, encoding, delimiter, plan_header(header, mapping, path.name, required))


def read_chunks(
    path: Path,
    chunk_rows: int,
    facts: FileFacts | None = None,
    sample: RawSample | None = None,
    max_field_bytes: int = DEFAULT_MAX_FIELD_BYTES,
) -> Iterator[pd.DataFrame]:
    """The file's records as string DataFrames of at most `chunk_rows` rows: `source_row`,
    `source_line`, the canonical columns (empty strings where absent), `raw_record` and
    `reason_codes` (empty, or why the row is ragged). Blank lines are skipped.

    `sample`, when given, is filled from the first chunk before that chunk is yielded. A
    row with a field over `max_field_bytes` gets the reason `field_too_large` and the field
    cut to the limit."""
    facts = facts or inspect_file(path)
    positions = facts.header.positions
    alternates = facts.header.alternates
    width = len(_trim_trailing_empty(list(facts.columns_found)))
    next_row = 1
    csv.field_size_limit(max(csv.field_size_limit(), _CSV_FIELD_LIMIT))
    try:
        with path.open(encoding=facts.encoding, newline="") as handle:
            reader = csv.reader(handle, delimiter=facts.delimiter)
            _skip_to_header(reader)
            rows: list[list[str]] = []
            lines: list[int] = []
            reasons: list[str] = []
            raw: list[str | None] = []
            last_line = reader.line_num
            for row in reader:
                line, last_line = last_line + 1, reader.line_num
                if not any(row) or (len(row) == 1 and not row[0].strip()):
                    continue  # a blank line, or one of spaces or delimiters only: no record
                reason = ""
                if max(map(len, row), default=0) * 4 > max_field_bytes:
                    row, cut = _cut_oversized(row, max_field_bytes)
                    reason = FIELD_TOO_LARGE if cut else ""
                if len(row) > width:
                    if any(row[width:]):
                        reason = _joined(reason, TOO_MANY_FIELDS)
                    else:
                        row = row[:width]  # trailing delimiters
                elif len(row) < width:
                    reason = _joined(reason, TOO_FEW_FIELDS)
                if reason:
                    raw.append(_as_line(row, facts.delimiter))
                    row = (row + [""] * width)[:width]
                else:
                    raw.append(None)
                rows.append(row)
                lines.append(line)
                reasons.append(reason)
                if len(rows) == chunk_rows:
                    _fill(sample, rows, facts.columns_found, next_row)
                    yield _frame(rows, lines, reasons, raw, positions, next_row, alternates)
                    next_row += len(rows)
                    rows, lines, reasons, raw = [], [], [], []
            if rows or next_row == 1:
                _fill(sample, rows, facts.columns_found, next_row)
                yield _frame(rows, lines, reasons, raw, positions, next_row, alternates)
    except csv.Error as error:
        # The csv module's messages name the problem, never a cell's value.
        raise InputFileError(
            f"input file {path.name} is not a well-formed CSV near line {reader.line_num} "
            f"({error}): fix its quoting"
        ) from None
    except UnicodeDecodeError as error:
        raise InputFileError(
            f"input file {path.name} is not {facts.encoding} text (byte {error.start} of a "
            "block): save it as UTF-8"
        ) from None


@timed
def extract(
    chunk: pd.DataFrame, context: RunContext, mapping: SourceMapping | None
) -> ChunkOutcome:
    """Pass on the well-formed records with the source mapping applied (constants,
    defaults, value maps, date formats, combined columns, a derived `customer_id`, and no
    consent where none is given) and quarantine the ragged ones as they came."""
    ragged = chunk[REASON_CODES] != ""
    records = apply_mapping(chunk.drop(columns=[REASON_CODES, RAW_RECORD]), mapping, context)
    quarantined = chunk.loc[ragged].drop(columns=_alternates(chunk))
    codes = quarantined[REASON_CODES].str.split(REASON_SEPARATOR)
    for code, count in codes.explode().value_counts().items():
        context.counters[f"reason:{code}"] += int(count)
    quarantined["rules"] = codes.map(
        lambda found: REASON_SEPARATOR.join(_RULE_OF_REASON[code] for code in found)
    )
    return ChunkOutcome(
        passed=records.loc[~ragged].reset_index(drop=True),
        quarantined=quarantined.reset_index(drop=True),
    )


def _frame(
    rows: list[list[str]],
    lines: list[int],
    reasons: list[str],
    raw: list[str | None],
    positions: dict[str, int],
    first_row_number: int,
    alternates: dict[str, tuple[int, ...]] | None = None,
) -> pd.DataFrame:
    table = pd.DataFrame(rows, dtype=object)
    frame = pd.DataFrame(
        {
            SOURCE_ROW: range(first_row_number, first_row_number + len(rows)),
            SOURCE_LINE: lines,
        }
    )
    for name in CANONICAL_COLUMNS:
        frame[name] = table[positions[name]] if name in positions and rows else ""
    for name, places in (alternates or {}).items():
        for place, position in enumerate(places, start=1):
            frame[alternate_column(name, place)] = table[position] if rows else ""
    frame[RAW_RECORD] = pd.Series(raw, dtype=object)
    frame[REASON_CODES] = pd.Series(reasons, dtype=object)
    return frame.astype({SOURCE_LINE: "int64", SOURCE_ROW: "int64"}).astype(
        {name: object for name in CANONICAL_COLUMNS}
    )


def _cut_oversized(row: list[str], max_bytes: int) -> tuple[list[str], bool]:
    """The row with each field over `max_bytes` UTF-8 bytes cut to them (at a character
    boundary), and whether any was."""
    cut = False
    kept = []
    for cell in row:
        encoded = cell.encode("utf-8") if len(cell) * 4 > max_bytes else b""
        if len(encoded) > max_bytes:
            cell = encoded[:max_bytes].decode("utf-8", errors="ignore")
            cut = True
        kept.append(cell)
    return kept, cut


def _joined(reason: str, code: str) -> str:
    return f"{reason}{REASON_SEPARATOR}{code}" if reason else code


def _alternates(chunk: pd.DataFrame) -> list[str]:
    return [str(c) for c in chunk.columns if ALTERNATE_SEPARATOR in str(c)]


def _fill(
    sample: RawSample | None, rows: list[list[str]], header: tuple[str, ...], first_row: int
) -> None:
    if sample is None or first_row != 1:
        return
    width = len(_trim_trailing_empty(list(header)))
    sample.frame = pd.DataFrame(
        [row[:width] for row in rows[: sample.rows]], columns=list(header[:width]), dtype=object
    )


def _skip_to_header(reader: Iterator[list[str]]) -> None:
    for row in reader:
        if any(cell.strip() for cell in row):
            return


def _trim_trailing_empty(header: list[str]) -> list[str]:
    while header and not header[-1].strip():
        header = header[:-1]
    return header


def _as_line(row: list[str], delimiter: str) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="").writerow(row)
    return buffer.getvalue()
