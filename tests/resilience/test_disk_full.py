"""Drill: the disk fills while a checkpoint or one of the run's documents is written. No
`.partial` file is left, what was there before is intact, and OutputWriteError says the disk
is full and where. The full disk is the kernel's own where it can be had (`/dev/full`
answers every write with ENOSPC), else an ENOSPC raised at the OS boundary."""

from __future__ import annotations

import errno
import io
import logging
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from customer_etl.adapters.files import write_text_atomically
from customer_etl.adapters.local import LocalCheckpointStore, LocalQuarantineSink
from customer_etl.alerting.classification import classify
from customer_etl.core.errors import OutputWriteError

FULL = Path("/dev/full")
needs_dev_full = pytest.mark.skipif(not FULL.exists(), reason="no /dev/full on this system")
SCHEMA = pa.schema([("customer_id", pa.string()), ("score", pa.float64())])


def chunk(start: int, rows: int = 1000) -> pd.DataFrame:
    ids = [f"C{n}" for n in range(start, start + rows)]
    return pd.DataFrame({"customer_id": ids, "score": [0.5] * rows})


def partials(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.partial"))


def assert_disk_full(error: OutputWriteError, path: Path) -> None:
    assert error.kind == "disk_full"
    assert f"cannot write {path}: the disk is full (ENOSPC)" in str(error)
    assert f"free space on the filesystem holding {path.parent}" in str(error)


@needs_dev_full
def test_a_document_on_a_full_disk_leaves_the_old_one_and_no_partial(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    write_text_atomically(manifest, '{"status": "running"}\n')
    (tmp_path / "manifest.json.partial").symlink_to(FULL)  # the kernel answers ENOSPC
    with pytest.raises(OutputWriteError) as raised:
        write_text_atomically(manifest, '{"status": "failed"}\n' * 1000)
    assert_disk_full(raised.value, manifest)
    assert partials(tmp_path) == []
    assert manifest.read_text() == '{"status": "running"}\n'


def test_an_enospc_from_the_file_write_is_the_same_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The same without /dev/full: the file write raises ENOSPC after creating the file,
    as a write on a full filesystem does."""
    real_fdopen = os.fdopen

    class FullDisk(io.StringIO):
        """The file is created (its descriptor open), then its first write finds no space."""

        def __init__(self, descriptor: int, *_args: Any, **_kwargs: Any) -> None:
            super().__init__()
            real_fdopen(descriptor, "w").close()

        def write(self, _text: str) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fdopen", FullDisk)  # the one files.write_text_atomically calls
    with caplog.at_level(logging.ERROR), pytest.raises(OutputWriteError) as raised:
        LocalCheckpointStore(tmp_path).put_document("run-1", "summary.json", "{}\n" * 10_000)
    monkeypatch.undo()
    assert_disk_full(raised.value, tmp_path / "run-1" / "summary.json")
    assert partials(tmp_path) == []
    assert not (tmp_path / "run-1" / "summary.json").exists()
    [logged] = [r for r in caplog.records if r.getMessage() == "output not written"]
    assert (getattr(logged, "error_class", None), getattr(logged, "kind", None)) == (
        "OutputWriteError",
        "disk_full",
    )


@needs_dev_full
def test_a_checkpoint_whose_disk_is_full_from_the_start_leaves_nothing(tmp_path: Path) -> None:
    store = LocalCheckpointStore(tmp_path)
    checkpoint = tmp_path / "run-1" / "transform.parquet"
    checkpoint.parent.mkdir()
    (tmp_path / "run-1" / "transform.parquet.partial").symlink_to(FULL)
    with pytest.raises(OutputWriteError) as raised:
        writer = store.writer("run-1", "transform", SCHEMA)
        writer.write(chunk(0))
        writer.close()
    assert_disk_full(raised.value, checkpoint)
    assert partials(tmp_path) == []
    assert not checkpoint.exists()


def test_a_checkpoint_whose_disk_fills_mid_file_leaves_nothing_and_a_rerun_writes_it_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyarrow writes through its own C++ file, not os.write: its writer's `write_table`
    is the boundary, failing on the second chunk as a disk that just filled does."""
    real_write_table = pq.ParquetWriter.write_table
    calls = {"n": 0}

    def fills_on_second_chunk(self: pq.ParquetWriter, table: pa.Table, **kwargs: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(errno.ENOSPC, "Error writing bytes to file")
        real_write_table(self, table, **kwargs)

    monkeypatch.setattr(pq.ParquetWriter, "write_table", fills_on_second_chunk)
    sink = LocalQuarantineSink(tmp_path)
    path = tmp_path / "run-1" / "quarantine" / "transform.parquet"
    writer = sink.writer("run-1", "transform", SCHEMA)
    writer.write(chunk(0))
    with pytest.raises(OutputWriteError) as raised:
        writer.write(chunk(1000))
    assert_disk_full(raised.value, path)
    assert partials(tmp_path) == []
    assert not path.exists()

    monkeypatch.undo()  # space freed: the stage's rerun writes the file whole
    again = sink.writer("run-1", "transform", SCHEMA)
    again.write(chunk(0))
    again.write(chunk(1000))
    # Relative to the runs folder, so the folder can be moved and still resumed.
    assert again.close() == path.relative_to(tmp_path).as_posix()
    assert pq.read_table(path).num_rows == 2000
    assert partials(tmp_path) == []


def test_another_os_error_is_not_dressed_up_as_a_full_disk(tmp_path: Path) -> None:
    """A folder that does not exist is a defect, not the filesystem's doing: it stays an
    OSError of its own class (and still leaves no partial file)."""
    with pytest.raises(FileNotFoundError):
        write_text_atomically(tmp_path / "missing" / "manifest.json", "{}")
    assert partials(tmp_path) == []


def test_the_new_class_is_classified() -> None:
    assert classify("OutputWriteError").anchor == "outputwriteerror"
