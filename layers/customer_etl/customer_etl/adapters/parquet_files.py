"""Parquet files written chunk by chunk and read back in chunks, shared by the local and
S3 checkpoint stores (S3 uploads the finished file). Files are owner-only (0600) from their
creation; the local stores also encrypt them (adapters/parquet_crypto.py)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyarrow.parquet.encryption as pe

from customer_etl.adapters.files import output_write_error, remove_partial
from customer_etl.adapters.private_files import private_file, private_folder


class ParquetFileWriter:
    """Writes chunks as row groups of one Parquet file at a temporary path; `close` renames
    it into place and hands it to `publish`, so that a stage that dies leaves no partial
    checkpoint behind. A write that fails (a full disk above all) removes the temporary
    file and raises OutputWriteError naming the file and the cause. With `encryption`, every
    column and the footer are encrypted as they are written (nothing in plaintext on disk)."""

    def __init__(
        self,
        path: Path,
        schema: pa.Schema,
        publish: Callable[[Path], str],
        encryption: Callable[[], pe.FileEncryptionProperties | None] = lambda: None,
    ) -> None:
        self._path = path
        self._partial = path.with_name(path.name + ".partial")
        self._schema = schema
        self._publish = publish
        try:
            private_folder(path.parent)
        except OSError as error:
            raise output_write_error(path, error) from None
        properties = encryption()  # the run's key is made or opened before any file is
        try:
            # Created owner-only before pyarrow opens it: the writer truncates the file it
            # finds, which keeps its mode, and the rename keeps it too.
            os.close(private_file(self._partial))
            self._writer = pq.ParquetWriter(
                self._partial, schema, compression="zstd", encryption_properties=properties
            )
        except OSError as error:
            remove_partial(self._partial)
            raise output_write_error(path, error) from None

    def write(self, chunk: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(
            chunk.loc[:, self._schema.names], schema=self._schema, preserve_index=False
        )
        try:
            self._writer.write_table(table)
        except OSError as error:
            raise self._failed(error) from None

    def close(self) -> str:
        try:
            self._writer.close()
            self._partial.replace(self._path)
        except OSError as error:
            raise self._failed(error) from None
        return self._publish(self._path)

    def _failed(self, error: OSError) -> Exception:
        """Close what is open, remove the temporary file, and say why."""
        with suppress(OSError):
            self._writer.close()
        remove_partial(self._partial)
        return output_write_error(self._path, error)


def read_parquet_chunks(
    path: Path, chunk_rows: int, parquet: pq.ParquetFile | None = None
) -> Iterator[pd.DataFrame]:
    """The file's rows as DataFrames of at most `chunk_rows` rows; an empty file yields one
    empty frame with the file's columns, so that the next stage still writes its checkpoint.
    `parquet` is the file opened already (with its decryption properties)."""
    parquet = parquet or pq.ParquetFile(path)
    yielded = False
    for batch in parquet.iter_batches(batch_size=chunk_rows):
        yielded = True
        yield batch.to_pandas()
    if not yielded:
        yield parquet.schema_arrow.empty_table().to_pandas()
