"""The pure decisions of data subject requests: the one-month deadline, the flags a load
honours (suppression, restriction, objection) and the matching of a person in run files."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from customer_etl.privacy.subject_requests import (
    SubjectFlags,
    SubjectMatch,
    SubjectRef,
    due_by,
    overdue,
    screen,
)


@pytest.mark.parametrize(
    ("requested", "due"),
    [
        (datetime(2026, 1, 15, 9, tzinfo=UTC), datetime(2026, 2, 15, 9, tzinfo=UTC)),
        (datetime(2026, 1, 31, tzinfo=UTC), datetime(2026, 2, 28, tzinfo=UTC)),
        (datetime(2028, 1, 31, tzinfo=UTC), datetime(2028, 2, 29, tzinfo=UTC)),
        (datetime(2026, 12, 20, tzinfo=UTC), datetime(2027, 1, 20, tzinfo=UTC)),
    ],
)
def test_the_deadline_is_one_calendar_month(requested: datetime, due: datetime) -> None:
    assert due_by(requested) == due


def test_only_an_open_request_past_its_month_is_overdue() -> None:
    requested = datetime(2026, 1, 15, tzinfo=UTC)
    due = due_by(requested)
    assert not overdue(requested, "open", due)
    assert overdue(requested, "open", due + timedelta(seconds=1))
    assert not overdue(requested, "closed", due + timedelta(days=90))


def test_a_reference_is_an_id_or_a_blind_index_never_an_email() -> None:
    SubjectRef("email_bidx", "ab" * 32)
    with pytest.raises(ValueError, match="customer_id"):
        SubjectRef("email", "ada@example.org")


def _chunk() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["C1", "C2", "C3", "C4"],
            "email_bidx": ["e1", "e2", "e3", None],
            "marketing_consent": [True, True, True, True],
        },
        index=[10, 11, 12, 13],
    )


def test_screen_refuses_erased_and_restricted_people_and_forces_marketing_off() -> None:
    flags = SubjectFlags.from_rows(
        [
            ("erased", "customer_id", "C1"),
            ("erased", "email_bidx", "e2"),  # the same person under another id
            ("restricted", "customer_id", "C3"),
            ("restricted", "customer_id", "C1"),  # erased wins: one reason per row
            ("objected", "customer_id", "C4"),
        ]
    )
    screened = screen(_chunk(), flags)
    assert screened.refused.to_dict() == {
        10: "erased_subject",
        11: "erased_subject",
        12: "restricted_subject",
    }
    assert screened.kept.index.tolist() == [13]
    assert screened.kept["marketing_consent"].tolist() == [False]
    assert len(screened.kept) + len(screened.refused) == len(_chunk()), "nothing lost"


def test_screen_without_flags_keeps_the_chunk_as_it_is() -> None:
    chunk = _chunk()
    screened = screen(chunk, SubjectFlags())
    assert screened.kept is chunk and screened.refused.empty


def test_a_person_is_matched_in_run_files_by_id_email_or_phone() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["C1", None, "C3", "C4"],
            "email": ["x@example.org", " ADA@Example.org", None, "y@example.org"],
            "phone": [None, None, None, "+44 7700 900123"],
        }
    )
    match = SubjectMatch(
        frozenset({"C1"}), frozenset({"ada@example.org"}), frozenset({"+447700900123"})
    )
    assert match.rows(frame).tolist() == [True, True, False, True]
