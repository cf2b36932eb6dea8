"""Writing the run's small documents (manifest, summary, reports) whole or not at all."""

from __future__ import annotations

from pathlib import Path


def write_text_atomically(path: Path, text: str) -> None:
    """Write `text` to a `.partial` file beside `path`, then rename it over `path`: a reader
    (or a resume after a crash) never sees half a document."""
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
