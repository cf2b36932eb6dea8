"""Blind indexes: keyed, normalised, stable for the same key, different under another."""

from __future__ import annotations

import pandas as pd
import pytest

from customer_etl.privacy.access import lookup_email, lookup_phone
from customer_etl.privacy.blind_index import (
    BlindIndexKeyError,
    blind_index,
    derive_index_key,
    digest,
)

KEY = derive_index_key(b"s" * 32)


def test_the_same_email_in_another_case_or_with_spaces_has_the_same_index() -> None:
    assert digest(" Ada@Example.COM ", KEY, "email") == digest("ada@example.com", KEY, "email")


def test_phones_that_differ_only_in_punctuation_have_the_same_index() -> None:
    assert digest("+44 (0)20-7946 0000", KEY, "phone") == digest("+440207946 0000", KEY, "phone")


def test_the_index_is_keyed_and_never_the_plain_hash() -> None:
    other = derive_index_key(b"t" * 32)
    assert digest("ada@example.com", KEY, "email") != digest("ada@example.com", other, "email")
    assert "ada" not in digest("ada@example.com", KEY, "email")


def test_the_key_derivation_is_stable_across_calls() -> None:
    assert derive_index_key(b"s" * 32) == KEY and len(KEY) == 32


def test_a_short_secret_is_refused() -> None:
    with pytest.raises(BlindIndexKeyError):
        derive_index_key(b"short")


def test_missing_or_empty_values_have_no_index() -> None:
    index = blind_index(pd.Series(["a@b.co", None, "  "]), KEY, "email")
    assert index[0] == digest("a@b.co", KEY, "email")
    assert index[1] is None and index[2] is None


def test_lookups_are_normalised_by_the_validation_s_own_functions() -> None:
    # As the load stored them: E.164 for phones (region GB unless told), lower case emails.
    assert lookup_phone("07700 900001") == "+447700900001"
    assert lookup_phone("+44 (0)7700 900001") == "+447700900001"
    assert lookup_phone("020 7946 0000", region="GB") == "+442079460000"
    assert lookup_phone("(201) 555-0123", region="US") == "+12015550123"
    assert lookup_phone("not a number") == "not a number"  # matches a legacy value as stored
    assert lookup_email("  Ada@Example.COM ") == "ada@example.com"
    stored = digest("+447700900001", KEY, "phone")
    assert digest(lookup_phone("07700 900001"), KEY, "phone") == stored


def test_repeated_values_each_get_their_own_values_index() -> None:
    # Digested once per distinct value, then mapped back to every row that holds it.
    values = pd.Series(["+447700900001", "+447700900002", None, "+447700900001", ""] * 3)
    index = blind_index(values, KEY, "phone")
    expected = [digest(v, KEY, "phone") if pd.notna(v) and v else None for v in values]
    assert index.tolist() == expected
    assert index[0] == index[3] != index[1]
