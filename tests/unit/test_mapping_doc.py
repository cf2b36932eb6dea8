"""docs/mapping.md's worked mappings are valid mapping files, and it shows every feature."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from customer_etl.core.mapping import SourceMapping

DOC = Path(__file__).resolve().parents[2] / "docs" / "mapping.md"
BLOCKS = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)


@pytest.mark.parametrize("block", BLOCKS, ids=lambda block: block.split("\n", 1)[0][:40])
def test_every_worked_mapping_is_a_valid_mapping_file(block: str) -> None:
    SourceMapping.model_validate(yaml.safe_load(block))


def test_every_key_of_a_mapping_file_has_a_worked_example() -> None:
    shown = {key for block in BLOCKS for key in yaml.safe_load(block)}
    assert shown == set(SourceMapping.model_fields)
