"""The local key-encryption key: a JSON key file of versioned AES-256 keys.

The file is created on first use with owner-only permissions (0600) and holds, base64:
every key version (old ones stay, to unwrap data keys not yet rotated), which version is
current, and the blind-index secret (never rotated: the index must stay stable). Data
keys are wrapped with AES-256-GCM under the current version, with the encryption context
and the key version as associated data, so a wrap cannot be replayed under another
context. (AES-GCM rather than RFC 3394 key wrap: the latter binds no context.)

A missing key file is created only while the warehouse holds no data key: once data keys
are stored, a new file could open none of them (and its blind-index secret would index
every later row differently), so a missing or foreign file is an error that says to
restore the backup. The warehouse is asked through `known_kek_ids`, which the runtime wires.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import secrets
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from customer_etl.core.errors import CustomerEtlError
from customer_etl.core.ports import DataKey

FILE_FORMAT = 1
KEY_BYTES = 32
NONCE_BYTES = 12


class KeyFileError(CustomerEtlError):
    """The key file is missing, missing a version, unreadable or does not match the
    warehouse's wrapped keys."""


KnownKekIds = Callable[[], Collection[str]]
"""The key-encryption key ids of the data keys the warehouse holds (empty: none yet)."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _associated(context: Mapping[str, str], kek_id: str, version: str) -> bytes:
    bound = {"context": dict(sorted(context.items())), "kek_id": kek_id, "version": version}
    return json.dumps(bound, sort_keys=True, separators=(",", ":")).encode()


class LocalKeyFile:
    """A `KeyProvider` over a local key file.

    Example:
        >>> import tempfile, pathlib
        >>> keys = LocalKeyFile(pathlib.Path(tempfile.mkdtemp()) / "keys.json")
        >>> key = keys.generate_data_key({"data_key_id": "1"})
        >>> keys.unwrap(key.wrapped, key.kek_version, {"data_key_id": "1"}) == key.plaintext
        True
    """

    def __init__(self, path: Path, known_kek_ids: KnownKekIds | None = None) -> None:
        """`known_kek_ids` reads the warehouse's `data_keys`; without it (no warehouse to
        ask: tests, a first health check) a missing file is created."""
        self.path = path
        self._known_kek_ids = known_kek_ids
        self._known: frozenset[str] | None = None

    def __repr__(self) -> str:
        return f"LocalKeyFile({str(self.path)!r})"

    # -- the file ---------------------------------------------------------------------
    def _warehouse_kek_ids(self) -> frozenset[str] | None:
        """The warehouse's key-encryption key ids, read once, on the first use of the file
        (before a load opens its transaction); None when there is no warehouse to ask."""
        if self._known_kek_ids is None:
            return None
        if self._known is None:
            self._known = frozenset(self._known_kek_ids())
        return self._known

    def _read(self) -> dict[str, Any]:
        known = self._warehouse_kek_ids()
        if not self.path.exists():
            if known:
                raise KeyFileError(
                    f"key file {self.path.absolute()} does not exist, but the warehouse holds "
                    "data keys: restore it from its backup (or point encryption.key_file "
                    "at it). A new key file could open none of them"
                )
            self._create()
        try:
            content: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise KeyFileError(
                f"key file {self.path} could not be read ({type(error).__name__}): restore it "
                "from its backup"
            ) from None
        if content.get("format") != FILE_FORMAT:
            raise KeyFileError(f"key file {self.path} has an unknown format")
        return content

    def _write_new(self, content: dict[str, Any]) -> Path:
        """A temporary file beside the key file, owner-only from its creation."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(content, handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        return temporary

    def _create(self) -> None:
        content = {
            "format": FILE_FORMAT,
            "kek_id": f"local-{secrets.token_hex(8)}",
            "current_version": "1",
            "versions": {"1": _b64(os.urandom(KEY_BYTES))},
            "index_secret": _b64(os.urandom(KEY_BYTES)),
        }
        temporary = self._write_new(content)
        try:
            # link() fails if the file exists: two first runs at once keep one key file.
            os.link(temporary, self.path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
        _fsync_directory(self.path.parent)

    def _key(self, content: dict[str, Any], version: str) -> bytes:
        encoded = content["versions"].get(version)
        if encoded is None:
            raise KeyFileError(
                f"key file {self.path} has no key version {version}: restore the key file "
                "that wrapped it"
            )
        return base64.b64decode(encoded)

    # -- KeyProvider ------------------------------------------------------------------
    def _wrap(
        self, content: dict[str, Any], plaintext: bytes, context: Mapping[str, str]
    ) -> DataKey:
        kek_id, version = content["kek_id"], content["current_version"]
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self._key(content, version)).encrypt(
            nonce, plaintext, _associated(context, kek_id, version)
        )
        return DataKey(
            plaintext=plaintext, wrapped=nonce + sealed, kek_id=kek_id, kek_version=version
        )

    def generate_data_key(self, context: Mapping[str, str]) -> DataKey:
        content = self._read()
        self._check_known(str(content["kek_id"]))
        return self._wrap(content, os.urandom(KEY_BYTES), context)

    def _check_known(self, kek_id: str) -> None:
        """Refuse to seal under a key file the warehouse does not know, once it holds data
        keys: the rows sealed so far would stay unreadable with it, and its blind indexes
        would not match theirs."""
        known = self._warehouse_kek_ids()
        if known and kek_id not in known:
            raise KeyFileError(
                f"key file {self.path.absolute()} is not the one that wrapped the warehouse's "
                f"data keys (its id {kek_id} is not in `data_keys`): restore the right key "
                "file from its backup"
            )

    def unwrap(self, wrapped: bytes, kek_version: str, context: Mapping[str, str]) -> bytes:
        content = self._read()
        key = self._key(content, kek_version)
        try:
            return AESGCM(key).decrypt(
                wrapped[:NONCE_BYTES],
                wrapped[NONCE_BYTES:],
                _associated(context, content["kek_id"], kek_version),
            )
        except InvalidTag:
            raise KeyFileError(
                f"a data key wrapped under version {kek_version} does not open with key file "
                f"{self.path}: wrong key file, or the wrap or its context was altered"
            ) from None

    def rewrap(
        self, wrapped: bytes, kek_version: str, context: Mapping[str, str]
    ) -> tuple[bytes, str]:
        content = self._read()
        rewrapped = self._wrap(content, self.unwrap(wrapped, kek_version, context), context)
        return rewrapped.wrapped, rewrapped.kek_version

    def current_version(self) -> tuple[str, str]:
        content = self._read()
        return str(content["kek_id"]), str(content["current_version"])

    def add_version(self, after: str | None = None) -> tuple[str, str]:
        """Add a key version and make it current. `after` is the current version the
        caller saw: if another rotation added one since, this one refuses rather than
        start a second new version."""
        with self._locked():
            content = self._read()
            if after is not None and str(content["current_version"]) != after:
                raise KeyFileError(
                    f"key file {self.path} is at version {content['current_version']}, not "
                    f"{after}: another rotation added a version; run `keys rotate` again"
                )
            version = str(max(int(number) for number in content["versions"]) + 1)
            if version in content["versions"]:  # a version's key is never replaced
                raise KeyFileError(f"key file {self.path} already has key version {version}")
            content["versions"][version] = _b64(os.urandom(KEY_BYTES))
            content["current_version"] = version
            # Atomic replace: an interruption leaves the old file or the new one, never
            # half; the directory is synced so that the rename itself survives a crash.
            self._write_new(content).replace(self.path)
            _fsync_directory(self.path.parent)
        return str(content["kek_id"]), version

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """An exclusive lock on a sibling `.lock` file around a read-modify-write, so that
        two rotations at once cannot both write a version."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = self.path.with_name(f"{self.path.name}.lock")
        descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            yield
        finally:
            os.close(descriptor)  # closing releases the lock

    # -- the blind index ---------------------------------------------------------------
    def index_secret(self) -> bytes:
        """The blind-index secret: created with the file, never rotated."""
        return base64.b64decode(self._read()["index_secret"])


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
