"""A person's rows in the run artefacts that stay on disk: the checkpoints, quarantine and
score files under the runs folder (plaintext Parquet, docs/architecture.md). Found for an
access request, removed for an erasure.

A file is rewritten without the person's rows beside itself and renamed into place (owner
read and write only), so an interrupted erasure leaves the old file or the new one, never
half of one; an erasure run again finds nothing more to remove.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from customer_etl.privacy.subject_requests import SubjectMatch

ARTEFACT_MODE = 0o600


@dataclass(frozen=True)
class ArtefactRows:
    """A file of a run holding the person: its run, its kind (the run folder's first
    level: `extract`, `transform`, `quarantine`, `scores`...) and how many rows."""

    run_id: str
    kind: str
    path: Path
    rows: int


def _files(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(path for path in root.glob("*/**/*.parquet") if path.is_file())


def find_rows(root: Path, match: SubjectMatch) -> list[ArtefactRows]:
    """Every Parquet file of every run under `root` with rows of the person."""
    found = []
    for path in _files(root):
        frame = pq.read_table(path).to_pandas()
        rows = int(match.rows(frame).sum())
        if rows:
            relative = path.relative_to(root)
            found.append(ArtefactRows(relative.parts[0], relative.parts[1], path, rows))
    return found


def remove_rows(hits: list[ArtefactRows], match: SubjectMatch) -> int:
    """Rewrite each file without the person's rows; how many rows were removed."""
    removed = 0
    for hit in hits:
        table = pq.read_table(hit.path)
        frame = table.to_pandas()
        keep = ~match.rows(frame)
        removed += int((~keep).sum())
        kept = pa.Table.from_pandas(
            frame[keep.to_numpy()], schema=table.schema, preserve_index=False
        )
        partial = hit.path.with_name(hit.path.name + ".erasing")
        pq.write_table(kept, partial, compression="zstd")
        partial.chmod(ARTEFACT_MODE)
        partial.replace(hit.path)
    return removed
