"""docs/data-dictionary.md must describe the record that core/schema.py defines."""

from __future__ import annotations

from pathlib import Path

import pytest

from customer_etl.core import schema
from customer_etl.core.schema import CANONICAL_FIELDS, ENRICHMENT_FIELDS, Field

DICTIONARY = Path(__file__).resolve().parents[2] / "docs" / "data-dictionary.md"
HEADER = ["Field", "Type", "Required", "Personal data", "Max length", "Meaning"]
NO_LIMIT = "—"


def field_rows(path: Path = DICTIONARY) -> list[dict[str, str]]:
    """The rows of the table under the "## Fields" heading, keyed by column title."""
    lines = path.read_text(encoding="utf-8").splitlines()
    start = lines.index("## Fields")
    table: list[list[str]] = []
    for line in lines[start + 1 :]:
        if line.startswith("## "):
            break
        if line.startswith("|"):
            table.append([cell.strip() for cell in line.strip().strip("|").split("|")])
        elif table:
            break  # the first table under the heading has ended
    assert table, "no table under '## Fields'"
    header, separator, *body = table
    assert header == HEADER
    assert all(set(cell) <= {"-", ":"} for cell in separator)
    return [dict(zip(header, row, strict=True)) for row in body]


def yes_no(value: bool) -> str:
    return "yes" if value else "no"


def unquote(cell: str) -> str:
    return cell.strip("`")


@pytest.fixture(scope="module")
def rows() -> list[dict[str, str]]:
    return field_rows()


def test_lists_every_field_in_schema_order(rows: list[dict[str, str]]) -> None:
    expected = [f.name for f in (*CANONICAL_FIELDS, *ENRICHMENT_FIELDS)]
    assert [unquote(row["Field"]) for row in rows] == expected


@pytest.mark.parametrize("field", [*CANONICAL_FIELDS, *ENRICHMENT_FIELDS], ids=lambda f: f.name)
def test_row_matches_schema(rows: list[dict[str, str]], field: Field) -> None:
    (row,) = [row for row in rows if unquote(row["Field"]) == field.name]
    assert unquote(row["Type"]) == field.type.value
    assert row["Required"] == yes_no(field.required)
    assert row["Personal data"] == yes_no(field.personal)
    expected_length = NO_LIMIT if field.max_length is None else str(field.max_length)
    assert row["Max length"] == expected_length
    assert row["Meaning"], f"{field.name} has no meaning"


def test_parser_notices_a_drifted_row(tmp_path: Path) -> None:
    # Guards the guard: a dictionary that calls `email` not personal data must parse as such,
    # so the comparison with the schema above would fail on it.
    original = DICTIONARY.read_text(encoding="utf-8")
    drifted = original.replace(
        "| `email` | `string` | yes | yes |", "| `email` | `string` | yes | no |"
    )
    assert drifted != original
    copy = tmp_path / "data-dictionary.md"
    copy.write_text(drifted, encoding="utf-8")
    email = next(row for row in field_rows(copy) if unquote(row["Field"]) == "email")
    assert email["Personal data"] != yes_no(schema.field("email").personal)
