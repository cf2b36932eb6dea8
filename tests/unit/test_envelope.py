"""AES-256-GCM tokens: format, associated data, legacy plaintext, the sealer over a frame."""

from __future__ import annotations

import base64
import hashlib
import os
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from customer_etl.adapters.keys_local import KeyFileError, LocalKeyFile
from customer_etl.core.ports import DataKey
from customer_etl.privacy.blind_index import derive_index_key
from customer_etl.privacy.envelope import (
    DecryptionError,
    FieldProtection,
    Opener,
    Sealer,
    associated_data,
    is_token,
    open_value,
    seal_values,
    token_key_id,
    token_length,
)
from customer_etl.stages.load import HASHED_COLUMNS, content_hashes, prepare_load

KEY = bytes(range(32))
KEY_ID = "0123456789abcdef"


def keys(_: str) -> bytes:
    return KEY


def test_a_token_names_its_format_and_data_key_and_opens_with_its_associated_data() -> None:
    aad = associated_data("email", "C1")
    [token] = seal_values(["ada@example.com"], [aad], KEY_ID, KEY)
    assert token.startswith(f"enc1:{KEY_ID}:") and "ada" not in token
    assert is_token(token) and token_key_id(token) == KEY_ID
    assert open_value(token, aad, keys) == "ada@example.com"


def test_the_same_value_seals_to_different_tokens() -> None:
    aad = associated_data("email", "C1")
    first, second = seal_values(["a@b.co", "a@b.co"], [aad, aad], KEY_ID, KEY)
    assert first != second


@pytest.mark.parametrize(
    "aad",
    [associated_data("email", "C2"), associated_data("phone", "C1"), b"other|email|C1"],
    ids=["another record", "another column", "another table"],
)
def test_a_token_moved_to_another_record_column_or_table_does_not_open(aad: bytes) -> None:
    [token] = seal_values(["ada@example.com"], [associated_data("email", "C1")], KEY_ID, KEY)
    with pytest.raises(DecryptionError) as raised:
        open_value(token, aad, keys)
    assert "ada" not in str(raised.value)


def test_an_altered_token_does_not_open() -> None:
    aad = associated_data("email", "C1")
    [token] = seal_values(["ada@example.com"], [aad], KEY_ID, KEY)
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(DecryptionError):
        open_value(flipped, aad, keys)


def test_a_value_that_is_not_a_token_is_legacy_plaintext() -> None:
    assert open_value("ada@example.com", associated_data("email", "C1"), keys) == (
        "ada@example.com"
    )
    assert not is_token("enc1:not-a-token")


def test_the_longest_value_of_a_column_fits_its_token_width() -> None:
    widest = "\U0001f600" * 100  # four UTF-8 bytes each: the worst case
    [token] = seal_values([widest], [associated_data("first_name", "C1")], KEY_ID, KEY)
    assert len(token) <= token_length(100)
    assert token_length(254) == 1415


def test_the_sealer_indexes_then_encrypts_personal_columns_and_leaves_nulls() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["C1", "C2"],
            "email": ["ada@example.com", "bob@example.com"],
            "phone": ["+447700900123", None],
            "date_of_birth": [date(1990, 1, 2), None],
            "country": ["GB", "GB"],
        }
    )
    index_key = os.urandom(32)
    sealed = Sealer(KEY_ID, KEY, index_key, ("email", "phone", "date_of_birth")).seal(frame)
    assert sealed["email"].map(is_token).all() and sealed["country"].tolist() == ["GB", "GB"]
    assert sealed["phone"][1] is None and sealed["date_of_birth"][1] is None
    assert sealed["email_bidx"].str.len().tolist() == [64, 64] and sealed["phone_bidx"][1] is None
    opener = Opener({KEY_ID: KEY})
    assert opener.open(sealed["date_of_birth"][0], "date_of_birth", "C1") == "1990-01-02"
    assert opener.open(sealed["email"][1], "email", "C2") == "bob@example.com"
    assert frame["email"][0] == "ada@example.com"  # the input is not changed


def test_an_opener_without_the_data_key_says_which_key_is_missing() -> None:
    [token] = seal_values(["x"], [associated_data("email", "C1")], KEY_ID, KEY)
    with pytest.raises(DecryptionError, match=KEY_ID):
        Opener({}).open(token, "email", "C1")


def _forms(key: bytes) -> list[str]:
    """Every way a key could be printed: repr, hex, base64 and base64url (padded or not)."""
    padded = [base64.b64encode(key).decode(), base64.urlsafe_b64encode(key).decode()]
    return [repr(key), key.hex(), *padded, *(text.rstrip("=") for text in padded)]


def test_no_key_shows_in_a_repr_or_an_error_in_any_encoding(tmp_path: Path) -> None:
    keys = LocalKeyFile(tmp_path / "keys.json")
    index_key = derive_index_key(keys.index_secret())
    protection = FieldProtection(keys, index_key, ("email",))
    stored: list[DataKey] = []
    sealer = protection.start_run(lambda _id, key: stored.append(key))
    [data_key] = stored
    frame = pd.DataFrame({"customer_id": ["C1"], "email": ["ada@example.com"], "phone": [None]})
    token = sealer.seal(frame)["email"][0]
    errors: list[str] = []
    with pytest.raises(DecryptionError) as moved:
        Opener({sealer.data_key_id: data_key.plaintext}).open(token, "email", "C2")
    errors.append(str(moved.value))
    with pytest.raises(KeyFileError) as unwrapped:
        keys.unwrap(data_key.wrapped, data_key.kek_version, {"data_key_id": "other"})
    errors.append(str(unwrapped.value))
    shown = " ".join([repr(sealer), repr(protection), repr(keys), repr(data_key), *errors])
    secrets = [data_key.plaintext, index_key, sealer.content_hash_key, keys.index_secret()]
    for secret in secrets:
        for form in _forms(secret):
            assert form not in shown


def test_the_content_hash_of_an_encrypted_record_is_keyed_and_tagged() -> None:
    record = pd.DataFrame([{name: "x" for name in HASHED_COLUMNS}])
    plain = content_hashes(record)[0]
    joined = "\x1f".join(["x"] * len(HASHED_COLUMNS))
    assert plain == hashlib.sha256(joined.encode()).hexdigest()  # encryption off: as before
    sealer = Sealer(KEY_ID, KEY, b"i" * 32, ("email", "phone"))
    assert sealer.protection_tag == "enc1:email,phone"
    keyed = prepare_load(record, sealer)["content_hash"][0]
    assert keyed != plain and len(keyed) == 64
    # Stable across runs (another data key, the same index key) ...
    assert (
        prepare_load(record, Sealer("f" * 16, os.urandom(32), b"i" * 32, ("phone", "email")))[
            "content_hash"
        ][0]
        == keyed
    )
    # ... and different under another secret or other encrypted columns.
    assert (
        prepare_load(record, Sealer(KEY_ID, KEY, b"j" * 32, ("email", "phone")))["content_hash"][0]
        != keyed
    )
    assert (
        prepare_load(record, Sealer(KEY_ID, KEY, b"i" * 32, ("email",)))["content_hash"][0] != keyed
    )
