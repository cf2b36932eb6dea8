"""Envelope encryption of personal-data values: AES-256-GCM per value under a data key.

A run gets one data key (from the key provider: KMS or the local key file), keeps its
plaintext in memory only, and stores it wrapped in the warehouse's `data_keys` table. Each
value is then sealed locally, so the key provider is called once per run however many rows
there are.

A value becomes a token, text that fits a Unicode column:

    enc1:<data key id, 16 hex>:<nonce, 16 base64url>:<ciphertext and tag, base64url>

`enc1` is the format version. The associated data is `table|column|record key`: a token
moved to another record or column fails to decrypt instead of showing the wrong value.
A value that is not a token is legacy plaintext (a row loaded before encryption).
"""

from __future__ import annotations

import base64
import math
import os
import re
import secrets
from binascii import b2a_base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from customer_etl.core.errors import CustomerEtlError
from customer_etl.core.ports import CustomerLoad, DataKey, KeyProvider
from customer_etl.core.schema import CANONICAL_FIELDS, FieldType
from customer_etl.privacy.blind_index import BLIND_INDEXES, blind_index, derive_content_hash_key

TOKEN_VERSION = "enc1"
TABLE = "customers"
KEY_ID_CHARS = 16
NONCE_BYTES = 12  # 96 bits, GCM's native nonce size
_NONCE_CHARS = 16  # base64 of 12 bytes, no padding needed
_TAG_BYTES = 16
_HEADER_CHARS = len(TOKEN_VERSION) + 1 + KEY_ID_CHARS + 1 + _NONCE_CHARS + 1
TOKEN_PATTERN = (
    rf"^{TOKEN_VERSION}:(?P<key>[0-9a-f]{{{KEY_ID_CHARS}}}):"
    rf"(?P<nonce>[A-Za-z0-9_-]{{{_NONCE_CHARS}}}):(?P<body>[A-Za-z0-9_-]+)$"
)
_TOKEN = re.compile(TOKEN_PATTERN)


_URL_SAFE = bytes.maketrans(b"+/", b"-_")

DATE_CHARACTERS = 10
"""An ISO date, `YYYY-MM-DD`: what a date of birth is sealed as."""
PLAINTEXT_WIDTHS: dict[str, int] = {
    spec.name: DATE_CHARACTERS if spec.type is FieldType.DATE else spec.max_length or 255
    for spec in CANONICAL_FIELDS
    if spec.personal
}
"""The widths, in characters, of the personal columns' plaintext. A value must fit them
whether it is stored sealed (the load measures it before sealing: a token's width says
nothing of its value's) or plaintext (encryption off), though the column is as wide as a
token."""


class DecryptionError(CustomerEtlError):
    """A token could not be decrypted: its data key is unknown, or it was altered or moved."""


def token_length(max_characters: int) -> int:
    """The longest token of a value of up to `max_characters` characters (four UTF-8 bytes
    each at worst): the width an encrypted column needs."""
    body_bytes = 4 * max_characters + _TAG_BYTES
    return _HEADER_CHARS + math.ceil(body_bytes * 4 / 3)


def is_token(value: object) -> bool:
    return isinstance(value, str) and _TOKEN.match(value) is not None


def token_key_id(token: str) -> str | None:
    """The data key id a token was sealed under; None for a value that is not a token."""
    match = _TOKEN.match(token)
    return match["key"] if match else None


def new_data_key_id() -> str:
    return secrets.token_hex(KEY_ID_CHARS // 2)


def data_key_context(data_key_id: str) -> dict[str, str]:
    """The encryption context a data key is wrapped under (and needed to unwrap it)."""
    return {"application": "customer-etl", "data_key_id": data_key_id}


def associated_data(column: str, record_key: str, table: str = TABLE) -> bytes:
    return f"{table}|{column}|{record_key}".encode()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def as_plaintext(value: object) -> str:
    """The text a value is sealed as: dates in ISO form, everything else as `str`."""
    return value.isoformat() if isinstance(value, date) else str(value)


def seal_values(
    values: Sequence[str], aads: Sequence[bytes], data_key_id: str, key: bytes
) -> list[str]:
    """Tokens of `values`, each bound to its associated data."""
    count = len(values)
    if not count:
        return []
    # Batched where the work allows: one call for every nonce, one base64 pass over them
    # (12 bytes make exactly 16 characters), and one URL-safe translation of every body.
    # Per value there is then only the AES call and a C-level base64.
    nonces = os.urandom(NONCE_BYTES * count)
    nonce_text = _b64(nonces)
    encrypt = AESGCM(key).encrypt
    bodies = [
        b2a_base64(
            encrypt(nonces[i * NONCE_BYTES : (i + 1) * NONCE_BYTES], values[i].encode(), aads[i]),
            newline=False,
        )
        for i in range(count)
    ]
    texts = b"\n".join(bodies).translate(_URL_SAFE).replace(b"=", b"").decode("ascii")
    prefix = f"{TOKEN_VERSION}:{data_key_id}:"
    return [
        f"{prefix}{nonce_text[i * _NONCE_CHARS : (i + 1) * _NONCE_CHARS]}:{body}"
        for i, body in enumerate(texts.split("\n"))
    ]


def open_value(token: str, aad: bytes, keys: Callable[[str], bytes]) -> str:
    """The plaintext of a token; a value that is not a token is returned as it is (legacy
    plaintext). Raises DecryptionError, naming no value, if it cannot be opened."""
    match = _TOKEN.match(token)
    if match is None:
        return token
    try:
        plaintext = AESGCM(keys(match["key"])).decrypt(
            _unb64(match["nonce"]), _unb64(match["body"]), aad
        )
    except (InvalidTag, ValueError):
        raise DecryptionError(
            f"a token under data key {match['key']} failed authentication: it was altered, "
            "or moved from another record or column"
        ) from None
    return plaintext.decode("utf-8")


@dataclass(frozen=True)
class FieldProtection:
    """What a run needs to protect personal data: the key provider, the blind-index key
    (stable across runs) and the columns to encrypt."""

    keys: KeyProvider
    index_key: bytes = field(repr=False)
    columns: tuple[str, ...]

    def start_run(self, store: Callable[[str, DataKey], None]) -> Sealer:
        """A sealer with a new data key for this run; `store` records the wrapped key (in
        the load's transaction) before any value is sealed with it."""
        data_key_id = new_data_key_id()
        data_key = self.keys.generate_data_key(data_key_context(data_key_id))
        store(data_key_id, data_key)
        return Sealer(data_key_id, data_key.plaintext, self.index_key, self.columns)

    def sealer_for(self, unit: CustomerLoad) -> Sealer:
        """The sealer of a chunk's load: under the data key an earlier chunk of the run
        stored, unwrapped, so a run keeps one data key whatever its chunk count; else under a
        new one stored in this chunk's transaction."""
        stored = unit.run_data_key()
        if stored is None:
            return self.start_run(unit.store_data_key)
        context = data_key_context(stored.data_key_id)
        plaintext = self.keys.unwrap(stored.wrapped_key, stored.kek_version, context)
        return Sealer(stored.data_key_id, plaintext, self.index_key, self.columns)


def _holds_dates(values: pd.Series) -> bool:
    """An object column of dates reads as a string dtype to pandas; its first value tells."""
    return len(values) > 0 and isinstance(values.iloc[0], date)


class Sealer:
    """Seals a chunk's personal columns under one data key and adds its blind indexes."""

    def __init__(
        self,
        data_key_id: str,
        key: bytes,
        index_key: bytes,
        columns: tuple[str, ...],
        record_key: str = "customer_id",
    ) -> None:
        self.data_key_id = data_key_id
        self._key = key
        self._index_key = index_key
        self._columns = columns
        self._record_key = record_key
        self.content_hash_key = derive_content_hash_key(index_key)

    @property
    def columns(self) -> tuple[str, ...]:
        """The columns this sealer encrypts."""
        return self._columns

    @property
    def protection_tag(self) -> str:
        """What the content hash covers besides the record: the token format and the
        encrypted columns, so that changing either changes every hash and the next load
        rewrites (and so re-protects) every row, including rows stored in plaintext."""
        return f"{TOKEN_VERSION}:{','.join(sorted(self._columns))}"

    def __repr__(self) -> str:  # never the key
        return f"Sealer(data_key_id={self.data_key_id!r}, columns={self._columns!r})"

    def seal(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A copy of `frame` with blind indexes computed from the plaintext, then the
        configured columns replaced by tokens (nulls stay null)."""
        sealed = frame.copy()
        for index_column, source in BLIND_INDEXES.items():
            sealed[index_column] = blind_index(frame[source], self._index_key, source)
        record_keys = frame[self._record_key].astype(str)
        for column in self._columns:
            values = frame[column]
            present = values.notna().to_numpy()
            keys = record_keys[present].tolist()
            kept = values[present]
            plaintexts = (
                kept.astype(str).tolist()
                if pd.api.types.is_string_dtype(kept) and not _holds_dates(kept)
                else [as_plaintext(value) for value in kept.tolist()]
            )
            aad_prefix = f"{TABLE}|{column}|"  # associated_data(), built once per column
            aads = [f"{aad_prefix}{key}".encode() for key in keys]
            sealed_values = iter(seal_values(plaintexts, aads, self.data_key_id, self._key))
            # Nulls stay None (not NaN): the warehouse stores them as NULL.
            tokens = [next(sealed_values) if flag else None for flag in present]
            sealed[column] = pd.Series(tokens, index=frame.index, dtype=object)
        return sealed


class Opener:
    """Opens tokens with data keys it is given by id (already unwrapped)."""

    def __init__(self, keys: Mapping[str, bytes]) -> None:
        self._keys = dict(keys)

    def key(self, data_key_id: str) -> bytes:
        try:
            return self._keys[data_key_id]
        except KeyError:
            raise DecryptionError(f"data key {data_key_id} is not in `data_keys`") from None

    def open(self, value: object, column: str, record_key: str) -> object:
        """The plaintext of one stored value (None and legacy plaintext pass through)."""
        if not isinstance(value, str):
            return value
        return open_value(value, associated_data(column, record_key), self.key)
