"""Cost of encrypting a local checkpoint: Parquet modular encryption against AES-256-GCM over
the file's bytes, on a 100,000-row, 13-column chunk (best of three, milliseconds).

    .venv/bin/python scripts/bench_artefact_encryption.py

Measured when the choice was made (docs/encryption.md, "Local run artefacts").
"""

from __future__ import annotations

import base64
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyarrow.parquet.encryption as pe
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

ROWS = 100_000
KEY = os.urandom(32)
NONCE = 12


class _Wrapper(pe.KmsClient):  # type: ignore[misc]
    def wrap_key(self, key_bytes: bytes, master_key_identifier: str) -> bytes:
        nonce = os.urandom(NONCE)
        return base64.b64encode(nonce + AESGCM(KEY).encrypt(nonce, key_bytes, None))

    def unwrap_key(self, wrapped_key: bytes, master_key_identifier: str) -> bytes:
        raw = base64.b64decode(wrapped_key)
        return AESGCM(KEY).decrypt(raw[:NONCE], raw[NONCE:], None)


def chunk() -> pa.Table:
    rng = np.random.default_rng(1)
    numbers = rng.integers(0, 10**9, ROWS)
    frame = pd.DataFrame(
        {f"c{i}": [f"value-{i}-{n}@example.com" for n in numbers] for i in range(12)}
    )
    frame["source_row"] = np.arange(ROWS)
    return pa.Table.from_pandas(frame, preserve_index=False)


def best(action: Callable[[], object]) -> float:
    times = []
    for _ in range(3):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def main() -> None:
    table = chunk()
    folder = Path(tempfile.mkdtemp())
    plain, modular, sealed = folder / "p.parquet", folder / "m.parquet", folder / "b.bin"
    factory = pe.CryptoFactory(lambda _config: _Wrapper())
    connection = pe.KmsConnectionConfig()
    configuration = pe.EncryptionConfiguration(
        footer_key="run", uniform_encryption=True, double_wrapping=True, plaintext_footer=False
    )

    def modular_write() -> None:
        properties = factory.file_encryption_properties(connection, configuration)
        with pq.ParquetWriter(
            modular, table.schema, compression="zstd", encryption_properties=properties
        ) as writer:
            writer.write_table(table)

    def modular_read() -> None:
        properties = factory.file_decryption_properties(connection, pe.DecryptionConfiguration())
        pq.ParquetFile(modular, decryption_properties=properties).read()

    def bytes_write() -> None:
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, compression="zstd")
        nonce = os.urandom(NONCE)
        sealed.write_bytes(nonce + AESGCM(KEY).encrypt(nonce, sink.getvalue().to_pybytes(), None))

    def bytes_read() -> None:
        raw = sealed.read_bytes()
        pq.read_table(pa.BufferReader(AESGCM(KEY).decrypt(raw[:NONCE], raw[NONCE:], None)))

    cases: dict[str, Callable[[], object]] = {
        "plaintext write": lambda: pq.write_table(table, plain, compression="zstd"),
        "plaintext read": lambda: pq.read_table(plain),
        "modular write": modular_write,
        "modular read": modular_read,
        "bytes write": bytes_write,
        "bytes read": bytes_read,
    }
    for name, action in cases.items():
        print(f"{name:16s} {best(action):8.1f} ms")


if __name__ == "__main__":
    main()
