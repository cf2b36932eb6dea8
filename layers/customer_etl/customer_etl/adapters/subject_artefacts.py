"""A person's rows in the run artefacts that stay on disk: the checkpoints, quarantine and
score files under the runs folder. Found for an access request, removed for an erasure.

The files are read through the runs folder's `LocalRunArtefacts` (encrypted at rest under
each run's artefact key, or plaintext from before), and a file is rewritten as it was:
encrypted under its run's key if it was encrypted. It is written beside itself, owner-only,
and renamed into place, so an interrupted erasure leaves the old file or the new one, never
half of one; an erasure run again finds nothing more to remove.

Crypto-shredding a run (deleting its `artefact-key.json`) would make every file of that run
unreadable, for every person in it: an erasure rewrites the files instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from customer_etl.adapters.parquet_crypto import LocalRunArtefacts, is_encrypted
from customer_etl.adapters.private_files import private_file
from customer_etl.privacy.subject_requests import SubjectMatch


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


def find_rows(artefacts: LocalRunArtefacts, match: SubjectMatch) -> list[ArtefactRows]:
    """Every Parquet file of every run of the runs folder with rows of the person."""
    root = artefacts.root
    found = []
    for path in _files(root):
        frame = artefacts.parquet_file(path).read().to_pandas()
        rows = int(match.rows(frame).sum())
        if rows:
            relative = path.relative_to(root)
            found.append(ArtefactRows(relative.parts[0], relative.parts[1], path, rows))
    return found


def remove_rows(artefacts: LocalRunArtefacts, hits: list[ArtefactRows], match: SubjectMatch) -> int:
    """Rewrite each file without the person's rows; how many rows were removed."""
    removed = 0
    for hit in hits:
        table = artefacts.parquet_file(hit.path).read()
        frame = table.to_pandas()
        keep = ~match.rows(frame)
        removed += int((~keep).sum())
        kept = pa.Table.from_pandas(
            frame[keep.to_numpy()], schema=table.schema, preserve_index=False
        )
        encryption = artefacts.encryption(hit.run_id) if is_encrypted(hit.path) else None
        partial = hit.path.with_name(hit.path.name + ".erasing")
        os.close(private_file(partial))  # owner-only before pyarrow writes into it
        pq.write_table(kept, partial, compression="zstd", encryption_properties=encryption)
        partial.replace(hit.path)
    return removed
