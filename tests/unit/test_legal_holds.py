"""The legal-hold decision: which holds are in force at an instant, and what they cover."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from customer_etl.core.errors import LegalHoldError
from customer_etl.core.legal_holds import HeldTargets, HoldScope, LegalHold, NewLegalHold
from customer_etl.stages.legal_holds import is_held, validate_new_hold

PLACED = datetime(2026, 1, 1, tzinfo=UTC)
moments = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)
)
offsets = st.none() | st.integers(min_value=1, max_value=800).map(lambda d: timedelta(days=d))


def hold(
    scope: HoldScope = HoldScope.CUSTOMER,
    target: str = "C-1",
    until: datetime | None = None,
    released_at: datetime | None = None,
) -> LegalHold:
    return LegalHold(1, scope, target, "matter 42", "dpo", PLACED, until, released_at)


@given(at=moments, lapse=offsets, release=offsets)
def test_a_hold_is_in_force_from_its_placing_until_it_lapses_or_is_released(
    at: datetime, lapse: timedelta | None, release: timedelta | None
) -> None:
    until = PLACED + lapse if lapse else None
    released = PLACED + release if release else None
    expected = (
        at >= PLACED and (until is None or at < until) and (released is None or at < released)
    )
    placed = hold(until=until, released_at=released)
    assert placed.active_at(at) is expected
    assert is_held([placed], at, customer_id="C-1") is expected


@given(at=moments)
def test_a_hold_covers_only_its_own_scope_and_target(at: datetime) -> None:
    holds = [
        hold(HoldScope.CUSTOMER, "C-1"),
        hold(HoldScope.DATA_CLASS, "marketing"),
        hold(HoldScope.RUN, "run-7"),
    ]
    in_force = at >= PLACED
    assert is_held(holds, at, customer_id="C-1") is in_force
    assert is_held(holds, at, data_classes=["email", "marketing"]) is in_force
    assert is_held(holds, at, run_id="run-7") is in_force
    # A customer id that happens to equal a held run id or class is not held by them.
    assert not is_held(holds, at, customer_id="run-7", data_classes=["email"], run_id="C-1")
    assert not is_held(holds, at, customer_id="marketing")


def test_held_targets_intersect_what_was_asked_with_what_is_in_force() -> None:
    at = PLACED + timedelta(days=10)
    holds = [
        hold(HoldScope.CUSTOMER, "C-1"),
        hold(HoldScope.CUSTOMER, "C-2", released_at=PLACED + timedelta(days=5)),
        hold(HoldScope.CUSTOMER, "C-3", until=PLACED + timedelta(days=5)),
        hold(HoldScope.RUN, "run-7"),
    ]
    held = HeldTargets.from_holds(
        holds, at, customer_ids=["C-1", "C-2", "C-3", "C-4"], run_ids=["run-8"]
    )
    assert held == HeldTargets(customer_ids=frozenset({"C-1"}))
    assert held.of(HoldScope.CUSTOMER) == {"C-1"}


@pytest.mark.parametrize(
    ("new", "said"),
    [
        (NewLegalHold(HoldScope.CUSTOMER, " ", "matter", "dpo"), "needs a target"),
        (NewLegalHold(HoldScope.CUSTOMER, "C-9", "", "dpo"), "--reason and --owner"),
        (NewLegalHold(HoldScope.CUSTOMER, "C-9", "matter", " "), "--reason and --owner"),
        (NewLegalHold(HoldScope.CUSTOMER, "C-9", "matter", "dpo", PLACED), "--until"),
    ],
)
def test_a_hold_that_cannot_be_in_force_is_refused_without_quoting_its_target(
    new: NewLegalHold, said: str
) -> None:
    with pytest.raises(LegalHoldError, match=said) as refused:
        validate_new_hold(new, PLACED)
    assert "C-9" not in str(refused.value)


def test_a_well_formed_hold_is_accepted() -> None:
    validate_new_hold(
        NewLegalHold(HoldScope.RUN, "run-1", "matter", "dpo", PLACED + timedelta(days=1)), PLACED
    )
