"""Local run artefacts encrypted at rest: Parquet modular encryption under a key of the run.

Each run gets an artefact key (256 bits) from the key provider (the local key file, or KMS
when configured), kept wrapped in `<run>/artefact-key.json`; its plaintext is held in memory
only. Checkpoints, quarantine and score files are written with pyarrow's Parquet modular
encryption (AES-GCM, footer encrypted too, so not even the column names are readable), its
file keys wrapped under the artefact key by `_RunKeyWrapper` (AES-256-GCM, bound to the run).
Deleting a run's `artefact-key.json` makes every artefact of that run unreadable.

Why modular encryption and not AES-256-GCM over each file's bytes (privacy/envelope.py's
primitive): measured on a 100,000-row, 13-column chunk (scripts/bench_artefact_encryption.py),
writing took 1.34 s plaintext, 1.54 s with modular encryption and 1.55 s encrypting the
bytes; reading 0.61, 0.51 and 0.46 s: no difference that matters. But whole-file encryption
holds each file in memory, up to `pipeline.chunk_rows` rows twice over, where modular
encryption keeps the writer streaming row groups to disk; it is the Parquet standard, so
any Parquet reader given the key opens the files; and a plaintext file of an earlier run
reads through the same call (the decryption properties are simply not used), so a run
started before this change still resumes. A file or key that does not open raises
DecryptionError, as a warehouse token that does not open does (the same alert and runbook).

The cloud is not concerned: its checkpoints live in the SSE-KMS checkpoint bucket.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyarrow.parquet.encryption as pe
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from customer_etl.adapters.private_files import private_file
from customer_etl.core.ports import KeyProvider
from customer_etl.privacy.envelope import DecryptionError

ARTEFACT_KEY_FILE = "artefact-key.json"
KEY_FILE_FORMAT = 1
ENCRYPTED_MAGIC = b"PARE"
"""The last four bytes of a Parquet file with an encrypted footer (plaintext: `PAR1`)."""
_MASTER_KEY = "run-artefacts"
_NONCE_BYTES = 12


def artefact_key_context(run_id: str) -> dict[str, str]:
    """The encryption context the artefact key is wrapped under (and needed to unwrap it)."""
    return {"application": "customer-etl", "purpose": "run-artefacts", "run_id": run_id}


def is_encrypted(path: Path) -> bool:
    """Whether a Parquet file was written encrypted (its footer ends with `PARE`)."""
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() < len(ENCRYPTED_MAGIC):
            return False
        handle.seek(-len(ENCRYPTED_MAGIC), os.SEEK_END)
        return handle.read() == ENCRYPTED_MAGIC


class _RunKeyWrapper(pe.KmsClient):  # type: ignore[misc]
    """pyarrow's "KMS client": wraps the keys pyarrow makes for each file under the run's
    artefact key, so no key of ours leaves this process and the key file's key-encryption
    key is asked once per run, not once per file."""

    def __init__(self, key: bytes, run_id: str) -> None:
        super().__init__()
        self._aead = AESGCM(key)
        self._run_id = run_id

    def _associated(self, master_key_identifier: str) -> bytes:
        return f"customer-etl|{self._run_id}|{master_key_identifier}".encode()

    def wrap_key(self, key_bytes: bytes, master_key_identifier: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, key_bytes, self._associated(master_key_identifier))
        return base64.b64encode(nonce + sealed)

    def unwrap_key(self, wrapped_key: bytes, master_key_identifier: str) -> bytes:
        raw = base64.b64decode(wrapped_key)
        try:
            return self._aead.decrypt(
                raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], self._associated(master_key_identifier)
            )
        except InvalidTag:
            raise DecryptionError(
                f"a file of run {self._run_id} was not encrypted under its artefact key"
            ) from None


class RunArtefactCipher:
    """Encryption and decryption properties for one run's Parquet artefacts.

    Example:
        >>> cipher = RunArtefactCipher(folder, run_id, keys)  # doctest: +SKIP
        >>> properties = cipher.encryption()  # doctest: +SKIP
        >>> pq.ParquetWriter(path, schema, encryption_properties=properties)  # doctest: +SKIP
    """

    def __init__(self, folder: Path, run_id: str, keys: KeyProvider) -> None:
        self._key_path = folder / ARTEFACT_KEY_FILE
        self._run_id = run_id
        self._keys = keys
        self._key: bytes | None = None
        self._factory: pe.CryptoFactory | None = None

    def __repr__(self) -> str:  # never the key
        return f"RunArtefactCipher(run_id={self._run_id!r})"

    def encryption(self) -> pe.FileEncryptionProperties:
        """Properties that encrypt every column and the footer (the run's key is created on
        the first call of a new run)."""
        configuration = pe.EncryptionConfiguration(
            footer_key=_MASTER_KEY,
            uniform_encryption=True,
            plaintext_footer=False,
            double_wrapping=True,
        )
        return self._crypto(create=True).file_encryption_properties(
            pe.KmsConnectionConfig(), configuration
        )

    def decryption(self) -> pe.FileDecryptionProperties:
        return self._crypto(create=False).file_decryption_properties(
            pe.KmsConnectionConfig(), pe.DecryptionConfiguration()
        )

    def _crypto(self, *, create: bool) -> pe.CryptoFactory:
        if self._factory is None:
            key, run_id = self._artefact_key(create), self._run_id
            self._factory = pe.CryptoFactory(lambda _config: _RunKeyWrapper(key, run_id))
        return self._factory

    def _artefact_key(self, create: bool) -> bytes:
        if self._key is None:
            if not self._key_path.is_file():
                if not create:
                    raise DecryptionError(
                        f"run {self._run_id} has encrypted files but no {ARTEFACT_KEY_FILE}: "
                        "it was deleted (the run's files are unreadable by design) or the run "
                        "folder was copied without it"
                    )
                self._create_key()
            self._key = self._read_key()
        return self._key

    def _create_key(self) -> None:
        """Store a new wrapped artefact key; of two workers creating it at once, the first
        link wins and both then read that one."""
        data_key = self._keys.generate_data_key(artefact_key_context(self._run_id))
        document = {
            "format": KEY_FILE_FORMAT,
            "run_id": self._run_id,
            "kek_id": data_key.kek_id,
            "kek_version": data_key.kek_version,
            "wrapped": base64.b64encode(data_key.wrapped).decode("ascii"),
        }
        temporary = self._key_path.with_name(f".{ARTEFACT_KEY_FILE}.{secrets.token_hex(4)}")
        with os.fdopen(private_file(temporary), "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=2)
        try:
            os.link(temporary, self._key_path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()

    def _read_key(self) -> bytes:
        try:
            document: Mapping[str, str] = json.loads(self._key_path.read_text(encoding="utf-8"))
            wrapped = base64.b64decode(document["wrapped"])
            version = str(document["kek_version"])
        except (OSError, ValueError, KeyError) as error:
            raise DecryptionError(
                f"{self._key_path} could not be read ({type(error).__name__})"
            ) from None
        return self._keys.unwrap(wrapped, version, artefact_key_context(self._run_id))


KeysOrNone = Callable[[], KeyProvider | None]
"""The key provider of the configuration, built on first use; None when encryption is off."""


class LocalRunArtefacts:
    """Where a runs folder's Parquet artefacts are encrypted and how they are read back: one
    cipher per run, from the configured key provider. Without one (encryption off) files are
    written in plaintext, as before; plaintext files are read in any case."""

    def __init__(self, root: Path, keys: KeysOrNone) -> None:
        self.root = root
        self._keys = keys
        self._ciphers: dict[str, RunArtefactCipher] = {}

    def encryption(self, run_id: str) -> pe.FileEncryptionProperties | None:
        cipher = self._cipher(run_id)
        return cipher.encryption() if cipher is not None else None

    def decryption(self, path: Path) -> pe.FileDecryptionProperties | None:
        """Properties to read `path` with; None for a plaintext file (no key is needed)."""
        if not is_encrypted(path):
            return None
        run_id = path.relative_to(self.root).parts[0]
        cipher = self._cipher(run_id)
        if cipher is None:  # encryption turned off since: the run's key still opens them
            raise DecryptionError(
                f"{path.name} of run {run_id} is encrypted but encryption is off in this "
                "configuration: turn encryption.enabled back on to read it"
            )
        return cipher.decryption()

    def parquet_file(self, path: Path) -> pq.ParquetFile:
        return pq.ParquetFile(path, decryption_properties=self.decryption(path))

    def read_frame(self, path: Path) -> pd.DataFrame:
        """A Parquet file of the runs folder, or every `*.parquet` under a folder of it (a
        stage's chunks, in order), as one DataFrame."""
        files = sorted(path.rglob("*.parquet")) if path.is_dir() else [path]
        tables = [self.parquet_file(file).read() for file in files]
        frame: pd.DataFrame = pa.concat_tables(tables).to_pandas()
        return frame

    def _cipher(self, run_id: str) -> RunArtefactCipher | None:
        if run_id not in self._ciphers:
            keys = self._keys()
            if keys is None:
                return None
            self._ciphers[run_id] = RunArtefactCipher(self.root / run_id, run_id, keys)
        return self._ciphers[run_id]
