"""Blind indexes: a keyed HMAC-SHA-256 of a normalised value, so that a record can be found
by its email or phone without decrypting the table.

The index key is not a data key: data keys change every run, and an index must give the
same digest for the same value in every run. It is derived with HKDF from a long-lived
secret: the `index_key` of the local key file, or in the cloud the secret that
`encryption.blind_index_key_ref` names. Changing that secret orphans every index.
"""

from __future__ import annotations

import hashlib
import hmac
import re

import pandas as pd
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from customer_etl.core.errors import CustomerEtlError

DIGEST_CHARS = 64
MIN_SECRET_BYTES = 32
BLIND_INDEXES: dict[str, str] = {"email_bidx": "email", "phone_bidx": "phone"}
"""Index column -> the column whose normalised value it indexes."""
_HKDF_INFO = b"customer-etl blind index v1"
_CONTENT_HASH_INFO = b"customer-etl content hash v1"
_NOT_PHONE_DIGIT = re.compile(r"[^0-9+]")


class BlindIndexKeyError(CustomerEtlError, ValueError):
    """The blind-index secret is too short to derive a key from: a configuration error
    (docs/incident-response.md#encryptionconfigerror)."""


def derive_index_key(secret: bytes) -> bytes:
    """The 256-bit HMAC key derived from the blind-index secret (HKDF-SHA-256)."""
    if len(secret) < MIN_SECRET_BYTES:
        raise BlindIndexKeyError(
            f"the blind-index secret must have at least {MIN_SECRET_BYTES} bytes"
        )
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(secret)


def derive_content_hash_key(index_key: bytes) -> bytes:
    """The 256-bit HMAC key of the content hashes of encrypted records, expanded with HKDF
    from the blind-index key (so from the same long-lived secret, with its own info string):
    stable across runs, so that a reload of the same file stays unchanged, yet keyed, so that
    a stored hash does not let anyone who reads the table confirm a guessed value."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_CONTENT_HASH_INFO).derive(
        index_key
    )


def normalise(value: str, kind: str) -> str:
    """The form a value is indexed in: emails trimmed and case-folded; phones reduced to
    digits and `+`, so that `+44 20 7946 0000` and `+442079460000` match."""
    text = value.strip()
    if kind == "phone":
        return _NOT_PHONE_DIGIT.sub("", text)
    return text.casefold()


def digest(value: str, key: bytes, kind: str) -> str:
    return hmac.digest(key, normalise(value, kind).encode("utf-8"), hashlib.sha256).hex()


def blind_index(values: pd.Series, key: bytes, kind: str) -> pd.Series:
    """The index digest of each value (hex); None where the value is missing or empty."""
    present = values.notna().to_numpy()
    text = values[present].astype(str).str.strip()
    # Vectorised normalisation, the same as `normalise`; then one HMAC per value.
    if kind == "phone":
        text = text.str.replace(_NOT_PHONE_DIGIT, "", regex=True)
    else:
        text = text.str.casefold()
    texts = text.tolist()
    # One HMAC per distinct value: phone numbers repeat (households, switchboards).
    index_of = {
        value: hmac.digest(key, value.encode(), hashlib.sha256).hex() if value else None
        for value in dict.fromkeys(texts)
    }
    found = iter(index_of[value] for value in texts)
    digests = [next(found) if flag else None for flag in present]
    return pd.Series(digests, index=values.index, dtype=object)
