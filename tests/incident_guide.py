"""The sections of docs/incident-response.md, as the anchors alerts link to."""

from __future__ import annotations

import re
from pathlib import Path

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "incident-response.md"


def guide_anchors() -> set[str]:
    """The anchors GitHub gives the guide's headings: lower case, punctuation dropped,
    spaces to hyphens."""
    headings = re.findall(r"^#+\s+(.+)$", GUIDE.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}
