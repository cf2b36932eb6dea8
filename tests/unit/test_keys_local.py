"""The local key file: owner-only, versioned, context-bound wraps, atomic rotation."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from customer_etl.adapters.keys_local import KeyFileError, LocalKeyFile

CONTEXT = {"application": "customer-etl", "data_key_id": "0123456789abcdef"}


def test_the_key_file_is_created_on_first_use_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "keys.json"
    LocalKeyFile(path).generate_data_key(CONTEXT)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind


def test_a_data_key_unwraps_with_its_context_and_not_with_another(tmp_path: Path) -> None:
    keys = LocalKeyFile(tmp_path / "keys.json")
    key = keys.generate_data_key(CONTEXT)
    assert len(key.plaintext) == 32 and key.plaintext not in key.wrapped
    assert keys.unwrap(key.wrapped, key.kek_version, CONTEXT) == key.plaintext
    with pytest.raises(KeyFileError):
        keys.unwrap(key.wrapped, key.kek_version, {**CONTEXT, "data_key_id": "f" * 16})


def test_a_new_version_becomes_current_and_old_wraps_still_unwrap(tmp_path: Path) -> None:
    keys = LocalKeyFile(tmp_path / "keys.json")
    old = keys.generate_data_key(CONTEXT)
    kek_id, version = keys.add_version()
    assert (kek_id, version) == (old.kek_id, "2") == keys.current_version()
    assert keys.unwrap(old.wrapped, "1", CONTEXT) == old.plaintext
    wrapped, rewrapped_version = keys.rewrap(old.wrapped, "1", CONTEXT)
    assert rewrapped_version == "2" and wrapped != old.wrapped
    assert keys.unwrap(wrapped, "2", CONTEXT) == old.plaintext
    assert stat.S_IMODE((tmp_path / "keys.json").stat().st_mode) == 0o600


def test_the_blind_index_secret_survives_a_rotation(tmp_path: Path) -> None:
    keys = LocalKeyFile(tmp_path / "keys.json")
    secret = keys.index_secret()
    keys.add_version()
    assert keys.index_secret() == secret and len(secret) == 32


def test_another_key_file_cannot_unwrap_and_says_so_without_the_key(tmp_path: Path) -> None:
    key = LocalKeyFile(tmp_path / "a.json").generate_data_key(CONTEXT)
    with pytest.raises(KeyFileError) as raised:
        LocalKeyFile(tmp_path / "b.json").unwrap(key.wrapped, key.kek_version, CONTEXT)
    assert key.plaintext.hex() not in str(raised.value)


def test_a_missing_version_is_named(tmp_path: Path) -> None:
    keys = LocalKeyFile(tmp_path / "keys.json")
    key = keys.generate_data_key(CONTEXT)
    with pytest.raises(KeyFileError, match="no key version 7"):
        keys.unwrap(key.wrapped, "7", CONTEXT)


def test_a_data_key_s_repr_never_shows_its_plaintext(tmp_path: Path) -> None:
    key = LocalKeyFile(tmp_path / "keys.json").generate_data_key(CONTEXT)
    assert repr(key.plaintext) not in repr(key) and "plaintext" not in repr(key)


def test_a_missing_key_file_is_not_replaced_once_the_warehouse_holds_data_keys(
    tmp_path: Path,
) -> None:
    path = tmp_path / "keys.json"
    keys = LocalKeyFile(path, known_kek_ids=lambda: {"local-0011223344556677"})
    for use in (keys.index_secret, lambda: keys.generate_data_key(CONTEXT)):
        with pytest.raises(KeyFileError, match=r"does not exist.*restore it from its backup"):
            use()
    assert not path.exists()


def test_a_missing_key_file_is_created_while_the_warehouse_holds_no_data_key(
    tmp_path: Path,
) -> None:
    path = tmp_path / "keys.json"
    key = LocalKeyFile(path, known_kek_ids=frozenset).generate_data_key(CONTEXT)
    assert path.exists() and key.kek_id.startswith("local-")


def test_a_key_file_the_warehouse_does_not_know_is_refused_before_sealing(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    kek_id, _ = LocalKeyFile(path).current_version()  # a key file from elsewhere
    foreign = LocalKeyFile(path, known_kek_ids=lambda: {"local-0011223344556677"})
    with pytest.raises(KeyFileError, match=r"is not the one that wrapped.*backup") as raised:
        foreign.generate_data_key(CONTEXT)
    assert str(path.absolute()) in str(raised.value)
    known = LocalKeyFile(path, known_kek_ids=lambda: {kek_id, "local-0011223344556677"})
    assert known.generate_data_key(CONTEXT).kek_id == kek_id


def test_a_version_added_since_the_rotation_read_the_file_is_not_added_again(
    tmp_path: Path,
) -> None:
    path = tmp_path / "keys.json"
    first, second = LocalKeyFile(path), LocalKeyFile(path)
    _, seen = first.current_version()
    assert first.add_version(after=seen)[1] == "2"
    with pytest.raises(KeyFileError, match="another rotation added a version"):
        second.add_version(after=seen)  # what a concurrent rotation would have seen
    assert second.current_version()[1] == "2"
    assert sorted(path.parent.iterdir()) == [path, path.with_name("keys.json.lock")]
