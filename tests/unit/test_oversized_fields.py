"""A field longer than `source.max_field_bytes` quarantines its row with a reason; the rest
of the file loads (no quoting error for a well-quoted big field)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from customer_etl.config.model import SourceSettings
from customer_etl.core.context import RunContext
from customer_etl.stages.extract import FIELD_TOO_LARGE, extract, inspect_file, read_chunks
from tests.unit.test_extract import HEADER, ROW


def extracted(path: Path, max_field_bytes: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    facts = inspect_file(path)
    frame = pd.concat(
        list(read_chunks(path, 100, facts, max_field_bytes=max_field_bytes)), ignore_index=True
    )
    outcome = extract(frame, RunContext("r", date(2026, 1, 1)), None)
    assert len(outcome.passed) + len(outcome.quarantined) == len(frame)
    return outcome.passed, outcome.quarantined


def test_a_one_megabyte_field_quarantines_its_row_and_the_rest_loads(tmp_path: Path) -> None:
    huge = "x" * (1 << 20)
    rows = [ROW, ROW.replace("C1", "C2").replace("Lee", f'"{huge}"'), ROW.replace("C1", "C3")]
    path = tmp_path / "in.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")

    passed, quarantined = extracted(path, SourceSettings().max_field_bytes)

    assert passed["customer_id"].tolist() == ["C1", "C3"]
    assert quarantined["customer_id"].tolist() == ["C2"]
    assert quarantined.loc[0, "reason_codes"] == FIELD_TOO_LARGE
    assert quarantined.loc[0, "rules"] == "field_size"
    # The quarantined row keeps no megabyte: the big field is cut to the limit, so the
    # quarantine stays small, and `source_line` says where the row is in the file.
    assert len(str(quarantined.loc[0, "last_name"])) <= SourceSettings().max_field_bytes
    assert quarantined.loc[0, "source_line"] == 3


def test_the_limit_counts_bytes_not_characters(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    # 40 characters of 2 bytes each: 80 bytes.
    path.write_text(f"{HEADER}\n{ROW.replace('Lee', 'é' * 40)}\n", encoding="utf-8")
    assert extracted(path, 80)[1].empty
    assert extracted(path, 79)[1]["reason_codes"].tolist() == [FIELD_TOO_LARGE]


def test_max_field_bytes_is_validated() -> None:
    with pytest.raises(ValueError, match="max_field_bytes"):
        SourceSettings(max_field_bytes=10)
