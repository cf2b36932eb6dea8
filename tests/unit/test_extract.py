from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from customer_etl.errors import InputFileError
from customer_etl.schema import CANONICAL_COLUMNS
from customer_etl.stages.extract import inspect_file, read_chunks

HEADER = ",".join(CANONICAL_COLUMNS)
ROW = "C1,Ann,Lee,ann@example.com,,SW1A 1AA,,,1980-01-02,2020-01-01,GB,true"


def write(tmp_path: Path, content: bytes, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def read_all(path: Path, chunk_rows: int = 1000) -> pd.DataFrame:
    return pd.concat(list(read_chunks(path, chunk_rows)), ignore_index=True)


def test_reads_utf8_with_bom_and_crlf_line_endings(tmp_path: Path) -> None:
    path = write(tmp_path, ("\ufeff" + HEADER + "\r\n" + ROW + "\r\n").encode("utf-8"))
    inspect_file(path)
    frame = read_all(path)
    assert list(frame.columns) == ["source_row", *CANONICAL_COLUMNS]
    assert frame.loc[0, "customer_id"] == "C1"
    assert frame.loc[0, "marketing_consent"] == "true"


def test_quoted_fields_keep_commas_quotes_and_newlines(tmp_path: Path) -> None:
    row = (
        'C1,Ann,"Lee, ""the"" 2nd\nline",ann@example.com,,SW1A 1AA,'
        '"A, B and C",,,2020-01-01,GB,true'
    )
    frame = read_all(write(tmp_path, f"{HEADER}\n{row}\n".encode()))
    assert frame.loc[0, "last_name"] == 'Lee, "the" 2nd\nline'
    assert frame.loc[0, "company_name"] == "A, B and C"
    assert len(frame) == 1


def test_empty_cells_are_empty_strings_and_rows_are_numbered_across_chunks(tmp_path: Path) -> None:
    rows = "\n".join(ROW.replace("C1", f"C{i}") for i in range(5))
    chunks = list(read_chunks(write(tmp_path, f"{HEADER}\n{rows}\n".encode()), chunk_rows=2))
    assert [len(c) for c in chunks] == [2, 2, 1]
    frame = pd.concat(chunks, ignore_index=True)
    assert frame["source_row"].tolist() == [1, 2, 3, 4, 5]
    assert (frame["phone"] == "").all()


def test_header_names_are_matched_ignoring_case_and_spaces_and_extra_columns_reported(
    tmp_path: Path,
) -> None:
    header = HEADER.replace("first_name", " First Name ").upper() + ",Website"
    path = write(tmp_path, f"{header}\n{ROW},https://x\n".encode())
    facts = inspect_file(path)
    assert facts.columns_ignored == ("website",)
    assert read_all(path).loc[0, "first_name"] == "Ann"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is binary"),
        (b"customer_id,email\nC1,a@b.com\n", "lacks required column(s) first_name"),
        ((HEADER + "\nC1,Ann,L\xe9e\n").encode("latin-1"), "is not UTF-8"),
    ],
)
def test_unusable_files_raise_a_clear_error(tmp_path: Path, content: bytes, expected: str) -> None:
    with pytest.raises(InputFileError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        inspect_file(write(tmp_path, content))


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="not found"):
        inspect_file(tmp_path / "nope.csv")


def test_a_row_with_too_many_fields_is_an_error_naming_the_line_not_the_values(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, f"{HEADER}\n{ROW}\n{ROW},secret-value,more\n".encode())
    with pytest.raises(InputFileError, match="not a well-formed CSV") as caught:
        read_all(path)
    assert "secret-value" not in str(caught.value)
    assert "ann@example.com" not in str(caught.value)
