"""Extract's file-wide uniqueness marks: the same verdicts as a plain set of every earlier
value, at a cost that does not grow with the square of the file."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from customer_etl.stages.duplicates import EarlierKeys, SeenValues

values = st.lists(st.sampled_from(["C1", "C2", " C2", "C3 ", "c3", "", "Ünïcode", "C" * 300]))


@settings(max_examples=200, deadline=None)
@given(chunks=st.lists(values, min_size=1, max_size=6))
def test_a_record_is_marked_exactly_when_an_earlier_chunk_held_its_value(
    chunks: list[list[str]],
) -> None:
    keys = EarlierKeys(("customer_id",))
    earlier: set[str] = set()
    for chunk in chunks:
        marks = keys.mark(pd.DataFrame({"customer_id": chunk}, dtype=object)).tolist()
        normalised = [value.strip() for value in chunk]
        expected = ["customer_id" if v and v in earlier else "" for v in normalised]
        assert marks == expected
        earlier |= {v for v in normalised if v}


def test_each_unique_field_gets_its_own_mark() -> None:
    keys = EarlierKeys(("customer_id", "email"))
    keys.mark(pd.DataFrame({"customer_id": ["C1", "C2"], "email": ["a@x", "b@x"]}))
    marks = keys.mark(
        pd.DataFrame({"customer_id": ["C1", "C9", "C2"], "email": ["z@x", "a@x", "b@x"]})
    )
    assert marks.tolist() == ["customer_id", "email", "customer_id;email"]


def test_a_value_is_kept_once_however_often_it_repeats() -> None:
    seen = SeenValues()
    for _ in range(3):
        seen.seen_then_add(np.array(["A", "B", "A", "B"], dtype=object))
    assert len(seen) == 2


def test_two_values_whose_first_hashes_collide_are_told_apart_by_the_second() -> None:
    seen = SeenValues()
    seen.seen_then_add(np.array(["A"], dtype=object))
    # Plant a value with A's first hash and another second hash, as a collision would.
    seen._first = np.append(seen._first, seen._first[0])
    seen._second = np.append(seen._second, seen._second[0] ^ np.uint64(1))
    assert seen.seen_then_add(np.array(["A"], dtype=object)).tolist() == [True]
    assert seen.seen_then_add(np.array(["B"], dtype=object)).tolist() == [False]
