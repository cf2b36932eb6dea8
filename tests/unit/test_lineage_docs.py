"""docs/lineage.md and docs/catalogs.md name only settings that exist."""

from __future__ import annotations

import re
from pathlib import Path

from customer_etl.config.lineage import LineageSettings

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_lineage_docs_name_only_settings_that_exist() -> None:
    for page in ("lineage.md", "catalogs.md"):
        text = (DOCS / page).read_text(encoding="utf-8")
        named = set(re.findall(r"(?<![\w/])lineage\.([a-z_]+)", text)) - {"md", "ndjson", "html"}
        yaml_keys = set(re.findall(r"^  ([a-z_]+): ", text, flags=re.MULTILINE))
        assert named, page
        assert named | yaml_keys <= set(LineageSettings.model_fields), page
