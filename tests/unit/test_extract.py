from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from customer_etl.core.context import RunContext
from customer_etl.core.errors import InputFileError
from customer_etl.core.mapping import SourceMapping
from customer_etl.core.schema import CANONICAL_COLUMNS
from customer_etl.reference.sample import ADDRESS_COLUMNS, SAMPLE_COLUMNS
from customer_etl.stages.extract import extract, inspect_file, read_chunks

HEADER = ",".join(SAMPLE_COLUMNS)  # the first layout: the record's first twelve fields
ROW = "C1,Ann,Lee,ann@example.com,,SW1A 1AA,,,1980-01-02,2020-01-01,GB,true"


def write(tmp_path: Path, content: bytes, name: str = "in.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def read_all(
    path: Path, chunk_rows: int = 1000, mapping: SourceMapping | None = None
) -> pd.DataFrame:
    facts = inspect_file(path, mapping)
    return pd.concat(list(read_chunks(path, chunk_rows, facts)), ignore_index=True)


def extracted(
    path: Path, mapping: SourceMapping | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    outcome = extract(read_all(path, mapping=mapping), RunContext("r", date(2026, 1, 1)), mapping)
    return outcome.passed, outcome.quarantined


def test_reads_utf8_with_bom_and_crlf_line_endings(tmp_path: Path) -> None:
    path = write(tmp_path, ("\ufeff" + HEADER + "\r\n" + ROW + "\r\n").encode("utf-8"))
    assert inspect_file(path).encoding == "utf-8-sig"
    passed, _ = extracted(path)
    assert list(passed.columns) == ["source_row", "source_line", *CANONICAL_COLUMNS]
    assert passed.loc[0, "customer_id"] == "C1"
    assert passed.loc[0, "marketing_consent"] == "true"


@pytest.mark.parametrize(
    ("encoding", "reported"),
    [
        ("utf-8", "utf-8"),
        ("utf-16", "utf-16"),  # Python writes a byte-order mark
        ("cp1252", "cp1252"),
        ("latin-1", "cp1252"),  # the same text: Windows-1252 is a superset of its letters
    ],
)
def test_encodings_are_detected_reported_and_decoded(
    tmp_path: Path, encoding: str, reported: str
) -> None:
    text = f"{HEADER}\n{ROW.replace('Ann', 'Zoë').replace('Lee', 'Brontë')}\n"
    path = write(tmp_path, text.encode(encoding))
    assert inspect_file(path).encoding == reported
    passed, _ = extracted(path)
    assert (passed.loc[0, "first_name"], passed.loc[0, "last_name"]) == ("Zoë", "Brontë")


def test_bytes_windows_1252_does_not_define_make_the_file_latin_1(tmp_path: Path) -> None:
    # 0x81 is undefined in Windows-1252 and a control character in Latin-1.
    path = write(tmp_path, f"{HEADER}\n{ROW}\n".encode().replace(b"Ann", b"A\x81nn\xe9"))
    assert inspect_file(path).encoding == "latin-1"
    assert extracted(path)[0].loc[0, "first_name"] == "A\x81nné"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_sniffed_from_the_header(tmp_path: Path, delimiter: str) -> None:
    # Quoted delimiters of the other kinds must not mislead the sniffing.
    row = ROW.replace(",", delimiter).replace("Lee", '"Lee, Smith; Jones | Co"')
    path = write(tmp_path, f"{HEADER.replace(',', delimiter)}\n{row}\n".encode())
    assert inspect_file(path).delimiter == delimiter
    passed, quarantined = extracted(path)
    assert quarantined.empty
    assert passed.loc[0, "last_name"] == "Lee, Smith; Jones | Co"


def test_a_configured_delimiter_is_used_as_given(tmp_path: Path) -> None:
    path = write(tmp_path, f"{HEADER.replace(',', ';')}\n{ROW.replace(',', ';')}\n".encode())
    with pytest.raises(InputFileError, match="lacks required column"):
        inspect_file(path, delimiter=",")
    assert inspect_file(path, delimiter=";").delimiter == ";"


def test_quoted_fields_keep_commas_quotes_and_newlines(tmp_path: Path) -> None:
    row = (
        'C1,Ann,"Lee, ""the"" 2nd\nline",ann@example.com,,SW1A 1AA,'
        '"A, B and C",,,2020-01-01,GB,true'
    )
    path = write(tmp_path, f"{HEADER}\n{row}\n{ROW}\n".encode())
    passed, _ = extracted(path)
    assert passed.loc[0, "last_name"] == 'Lee, "the" 2nd\nline'
    assert passed.loc[0, "company_name"] == "A, B and C"
    assert passed["source_line"].tolist() == [2, 4]


def test_blank_lines_are_skipped_and_trailing_delimiters_tolerated(tmp_path: Path) -> None:
    content = f"\n{HEADER},\n\n{ROW},\n   \n,,,,,,,,,,,,\n{ROW.replace('C1', 'C2')}\n\n"
    passed, quarantined = extracted(write(tmp_path, content.encode()))
    assert quarantined.empty
    assert passed["customer_id"].tolist() == ["C1", "C2"]
    assert passed["source_row"].tolist() == [1, 2]
    assert passed["source_line"].tolist() == [4, 7]


def test_ragged_rows_are_quarantined_with_a_reason_and_the_file_goes_on(tmp_path: Path) -> None:
    content = f"{HEADER}\n{ROW}\n{ROW},secret-value\nC3,Ann,Lee\n{ROW.replace('C1', 'C4')}\n"
    passed, quarantined = extracted(write(tmp_path, content.encode()))
    assert passed["customer_id"].tolist() == ["C1", "C4"]
    assert quarantined["reason_codes"].tolist() == ["too_many_fields", "too_few_fields"]
    assert quarantined["source_line"].tolist() == [3, 4]
    assert quarantined["source_row"].tolist() == [2, 3]
    # The row is kept whole, so a steward can fix it.
    assert quarantined.loc[0, "raw_record"] == f"{ROW},secret-value"
    assert quarantined.loc[1, "customer_id"] == "C3"


def test_empty_cells_are_empty_strings_and_rows_are_numbered_across_chunks(tmp_path: Path) -> None:
    rows = "\n".join(ROW.replace("C1", f"C{i}") for i in range(5))
    path = write(tmp_path, f"{HEADER}\n{rows}\n".encode())
    chunks = list(read_chunks(path, 2, inspect_file(path)))
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
    assert facts.columns_ignored == ("Website",)
    passed, _ = extracted(path)
    assert passed.loc[0, "first_name"] == "Ann"
    assert "website" not in passed.columns


def test_an_absent_optional_column_is_reported_missing_and_read_as_empty(tmp_path: Path) -> None:
    header = HEADER.replace(",phone", "")
    path = write(
        tmp_path, f"{header}\n{ROW.replace('ann@example.com,,', 'ann@example.com,')}\n".encode()
    )
    assert inspect_file(path).header.columns_missing == (
        "phone",
        *ADDRESS_COLUMNS,
    )
    passed, quarantined = extracted(path)
    assert quarantined.empty and passed.loc[0, "phone"] == ""


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "is empty"),
        (b"\n\n  \n", "has no header row"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is binary"),
        (b"customer_id,email\nC1,a@b.com\n", "lacks required column(s) first_name"),
        ((HEADER + ",email\n").encode(), "repeats column(s) email"),
    ],
)
def test_unusable_files_raise_a_clear_error(tmp_path: Path, content: bytes, expected: str) -> None:
    with pytest.raises(InputFileError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        inspect_file(write(tmp_path, content))


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match="not found"):
        inspect_file(tmp_path / "nope.csv")


def test_a_header_wider_than_the_limit_is_refused_and_one_at_the_limit_is_read(
    tmp_path: Path,
) -> None:
    extra = [f"extra_{n}" for n in range(300 - len(SAMPLE_COLUMNS))]
    at_limit = write(tmp_path, (",".join([HEADER, *extra]) + "\n").encode(), "at.csv")
    assert len(inspect_file(at_limit).columns_found) == 300
    wider = write(tmp_path, (",".join([HEADER, *extra, "one_more"]) + "\n").encode(), "wide.csv")
    with pytest.raises(InputFileError, match="301 columns, more than the 300 allowed"):
        inspect_file(wider)
    assert inspect_file(wider, max_columns=301).size_bytes > 0
