"""Rewrite every figure the operator documents quote from the JSON files under docs/figures/,
after `make drills`, `make bench-pipeline ... --json` or the other figure scripts have
measured again (`make doc-figures` runs it last).

A figure is written `<!-- figure FILE:KEY/PATH -->TEXT<!-- /figure -->`; TEXT is replaced by
the file's value at the same precision and with the same thousands separators as before.
The prose around a figure is not touched: read it again when a figure moved a lot.
tests/unit/test_docs_drift.py fails while a document and its figures disagree.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.unit.test_docs_drift import DOCS, DRIFTLESS, FIGURE, figure_value


def shown(value: object, before: str) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    decimals = len(before.split(".", 1)[1]) if re.fullmatch(r"[0-9,]*\.[0-9]+", before) else 0
    separator = "," if "," in before or abs(value) >= 10_000 else ""
    return f"{value:{separator}.{decimals}f}"


def refresh(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        value = figure_value(match["file"], match["key"])
        if value is None:
            raise SystemExit(f"no value {match['key']} in docs/figures/{match['file']}")
        head = match.group(0)[: match.start("text") - match.start()]
        return f"{head}{shown(value, match['text'].strip())}<!-- /figure -->"

    return FIGURE.sub(replace, text)


def main() -> int:
    for name in DRIFTLESS:
        path = DOCS / name
        before = path.read_text(encoding="utf-8")
        after = refresh(before)
        if after != before:
            path.write_text(after, encoding="utf-8")
            print(f"refreshed {path.relative_to(DOCS.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
