"""Extract: check that a file is a readable customer CSV and read it in chunks."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from customer_etl.errors import InputFileError
from customer_etl.schema import CANONICAL_COLUMNS, REQUIRED_COLUMNS
from customer_etl.stages.context import SOURCE_ROW

_SNIFF_BYTES = 64 * 1024
_ENCODING = "utf-8-sig"  # reads UTF-8 with or without a byte-order mark


@dataclass(frozen=True)
class FileFacts:
    """What extract learned about a file: safe to report (no values, only names and sizes)."""

    size_bytes: int
    encoding: str
    columns_found: tuple[str, ...]
    columns_ignored: tuple[str, ...]


def normalise_header(name: str) -> str:
    """`" First Name "` and `first_name` name the same column."""
    return "_".join(name.strip().lower().replace("-", " ").split())


def inspect_file(path: Path) -> FileFacts:
    """Check the file can be read as a customer CSV, or raise InputFileError saying why."""
    if not path.is_file():
        raise InputFileError(f"input file {path.name} not found: check the path")
    size = path.stat().st_size
    if size == 0:
        raise InputFileError(f"input file {path.name} is empty: expected a CSV with a header row")
    with path.open("rb") as handle:
        head = handle.read(_SNIFF_BYTES)
    if b"\x00" in head:
        raise InputFileError(f"input file {path.name} is binary, not a CSV text file")
    text = _decode_head(head, path.name)
    header_line = next(csv.reader(io.StringIO(text)), [])
    columns = tuple(normalise_header(name) for name in header_line)
    if not any(columns):
        raise InputFileError(f"input file {path.name} has no header row")
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise InputFileError(
            f"input file {path.name} lacks required column(s) {', '.join(missing)}: "
            "add them to the header (see docs/data-dictionary.md)"
        )
    duplicated = sorted({name for name in columns if columns.count(name) > 1 and name})
    if duplicated:
        raise InputFileError(
            f"input file {path.name} repeats column(s) {', '.join(duplicated)} in its header"
        )
    ignored = tuple(name for name in columns if name not in CANONICAL_COLUMNS)
    return FileFacts(size, "utf-8", columns, ignored)


def _decode_head(head: bytes, name: str) -> str:
    try:
        return head.decode(_ENCODING)
    except UnicodeDecodeError as error:
        # A multi-byte character cut at the sniff boundary is not an encoding problem.
        if len(head) == _SNIFF_BYTES and error.start >= len(head) - 4:
            return head[: error.start].decode(_ENCODING)
        raise InputFileError(
            f"input file {name} is not UTF-8 text (byte {error.start}): save it as UTF-8"
        ) from None


def read_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The file's rows as string DataFrames of at most `chunk_rows` rows, canonical columns
    only, plus `source_row`. Empty cells are empty strings, never NaN."""
    next_row = 1
    try:
        reader = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            encoding=_ENCODING,
            chunksize=chunk_rows,
            skip_blank_lines=True,
            on_bad_lines="error",
        )
        with reader:
            for raw in reader:
                raw.columns = [normalise_header(str(name)) for name in raw.columns]
                chunk = raw.loc[:, list(CANONICAL_COLUMNS)].fillna("")
                chunk.insert(0, SOURCE_ROW, range(next_row, next_row + len(chunk)))
                next_row += len(chunk)
                yield chunk.reset_index(drop=True)
    except pd.errors.ParserError as error:
        # pandas' message names line numbers and field counts, never cell values.
        raise InputFileError(
            f"input file {path.name} is not a well-formed CSV ({_first_line(error)}): "
            "fix the rows' field counts or quoting"
        ) from None
    except UnicodeDecodeError:
        raise InputFileError(
            f"input file {path.name} is not UTF-8 text: save it as UTF-8"
        ) from None


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
