"""Parquet files written chunk by chunk and read back in chunks, shared by the local and
S3 checkpoint stores (S3 uploads the finished file)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq


class ParquetFileWriter:
    """Writes chunks as row groups of one Parquet file at a temporary path; `close` renames
    it into place and hands it to `publish`, so that a stage that dies leaves no partial
    checkpoint behind."""

    def __init__(self, path: Path, schema: pa.Schema, publish: Callable[[Path], str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._path = path
        self._partial = path.with_name(path.name + ".partial")
        self._schema = schema
        self._publish = publish
        self._writer = pq.ParquetWriter(self._partial, schema, compression="zstd")

    def write(self, chunk: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(
            chunk.loc[:, self._schema.names], schema=self._schema, preserve_index=False
        )
        self._writer.write_table(table)

    def close(self) -> str:
        self._writer.close()
        self._partial.replace(self._path)
        return self._publish(self._path)


def read_parquet_chunks(path: Path, chunk_rows: int) -> Iterator[pd.DataFrame]:
    """The file's rows as DataFrames of at most `chunk_rows` rows; an empty file yields one
    empty frame with the file's columns, so that the next stage still writes its checkpoint."""
    parquet = pq.ParquetFile(path)
    yielded = False
    for batch in parquet.iter_batches(batch_size=chunk_rows):
        yielded = True
        yield batch.to_pandas()
    if not yielded:
        yield parquet.schema_arrow.empty_table().to_pandas()
