"""Data subject requests (GDPR articles 15 to 21): their kinds, how a person is referred to
without their contact data, the one-month deadline, and the flags a load must honour.

Pure decisions: no database, no files. The register and the flags are stored by
`adapters.warehouse.subjects`; the commands are `runtime.subject_command`.

Example:
    >>> from datetime import UTC, datetime
    >>> due_by(datetime(2026, 1, 31, tzinfo=UTC)).date().isoformat()
    '2026-02-28'
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from customer_etl.core.schema import BUSINESS_KEY
from customer_etl.privacy.blind_index import BLIND_INDEXES

REQUEST_KINDS: dict[str, str] = {
    "access": "article 15",
    "rectification": "article 16",
    "erasure": "article 17",
    "restriction": "article 18",
    "objection": "article 21",
}
"""Request kind -> the GDPR article it answers."""
OPEN, CLOSED, REFUSED = "open", "closed", "refused"
STATUSES = (OPEN, CLOSED, REFUSED)

ERASED, RESTRICTED, OBJECTED = "erased", "restricted", "objected"
FLAGS = (ERASED, RESTRICTED, OBJECTED)
ERASED_REASON = "erased_subject"
"""The reason code of a record refused because its person was erased (the suppression list)."""
RESTRICTED_REASON = "restricted_subject"
"""The reason code of a record refused because its person's processing is restricted
(article 18): the stored record is kept as it was, the new values wait in quarantine."""
MATCH_COLUMNS: tuple[str, ...] = (BUSINESS_KEY, *BLIND_INDEXES)
"""What a person is matched by: the customer id, or a blind index of their email or phone."""
MARKETING_CONSENT = "marketing_consent"


@dataclass(frozen=True)
class SubjectRef:
    """Who a request is about, as the register may hold it: a customer id or a blind-index
    digest, never an email or a phone number."""

    kind: str
    value: str

    def __post_init__(self) -> None:
        if self.kind not in MATCH_COLUMNS:
            raise ValueError(f"a subject reference is one of {', '.join(MATCH_COLUMNS)}")


def due_by(requested_at: datetime) -> datetime:
    """The end of the one-month period of article 12(3): the same day of the next month, or
    that month's last day when it has no such day (31 January -> 28 February)."""
    year = requested_at.year + requested_at.month // 12
    month = requested_at.month % 12 + 1
    day = min(requested_at.day, calendar.monthrange(year, month)[1])
    return requested_at.replace(year=year, month=month, day=day)


def age_days(requested_at: datetime, now: datetime) -> int:
    return (now - requested_at).days


def overdue(requested_at: datetime, status: str, now: datetime) -> bool:
    """An open request past its one-month deadline (an extension under article 12(3) is a
    decision recorded in its outcome, not assumed here)."""
    return status == OPEN and now > due_by(requested_at)


@dataclass(frozen=True)
class SubjectFlags:
    """The flags of every person, by match column and value: what a load honours."""

    by_flag: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)

    @classmethod
    def from_rows(cls, rows: Iterable[tuple[str, str, str]]) -> SubjectFlags:
        """From `(flag, match_column, match_value)` rows."""
        found: dict[str, dict[str, set[str]]] = {}
        for flag, column, value in rows:
            found.setdefault(flag, {}).setdefault(column, set()).add(value)
        return cls(
            {
                flag: {column: frozenset(values) for column, values in columns.items()}
                for flag, columns in found.items()
            }
        )

    def __bool__(self) -> bool:
        return any(values for columns in self.by_flag.values() for values in columns.values())

    def matches(self, flag: str, chunk: pd.DataFrame) -> pd.Series:
        """Which rows of `chunk` one of the flag's values names (by any match column the
        chunk has)."""
        hit = pd.Series(False, index=chunk.index)
        for column, values in self.by_flag.get(flag, {}).items():
            if column in chunk and values:
                hit |= chunk[column].isin(values).fillna(False).astype(bool)
        return hit


@dataclass(frozen=True)
class Screened:
    """A chunk after the subject flags: the rows to load, and the reason codes of the rows
    refused (by row label)."""

    kept: pd.DataFrame
    refused: pd.Series


def screen(chunk: pd.DataFrame, flags: SubjectFlags) -> Screened:
    """Apply the flags to a chunk about to be stored (blind indexes already computed):

    - an erased person's record is refused (`erased_subject`): never silently re-created;
    - a restricted person's record is refused (`restricted_subject`): article 18 allows
      storing what is held, not updating it from new sources while the restriction lasts;
    - an objecting person's `marketing_consent` is forced to false (article 21(3)).

    Refused rows go to quarantine with their reason, so rows in = loaded + quarantined.
    """
    if not flags or not len(chunk):
        return Screened(chunk, pd.Series(dtype=object))
    erased = flags.matches(ERASED, chunk)
    restricted = flags.matches(RESTRICTED, chunk) & ~erased
    reasons = pd.concat(
        [
            pd.Series(ERASED_REASON, index=chunk.index[erased.to_numpy()], dtype=object),
            pd.Series(RESTRICTED_REASON, index=chunk.index[restricted.to_numpy()], dtype=object),
        ]
    )
    kept = chunk.drop(index=reasons.index)
    objected = flags.matches(OBJECTED, kept)
    if objected.any() and MARKETING_CONSENT in kept:
        kept = kept.copy()
        kept.loc[objected, MARKETING_CONSENT] = False
    return Screened(kept, reasons)


@dataclass(frozen=True)
class SubjectMatch:
    """What identifies a person in the run artefacts, which hold plaintext: their customer
    ids, and their email and phone in the normal form the blind index uses."""

    customer_ids: frozenset[str]
    emails: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()

    def rows(self, frame: pd.DataFrame) -> pd.Series:
        """Which rows of a checkpoint or quarantine frame hold this person. Emails and phones
        are compared in their normal form (a quarantined row may carry no valid id); a phone
        written in a national form in a raw file is found only through its id."""
        hit = pd.Series(False, index=frame.index)
        if BUSINESS_KEY in frame and self.customer_ids:
            hit |= frame[BUSINESS_KEY].astype("string").isin(self.customer_ids).fillna(False)
        if "email" in frame and self.emails:
            emails = frame["email"].astype("string").str.strip().str.casefold()
            hit |= emails.isin(self.emails).fillna(False)
        if "phone" in frame and self.phones:
            phones = frame["phone"].astype("string").str.replace(r"[^0-9+]", "", regex=True)
            hit |= phones.isin(self.phones).fillna(False)
        return hit.astype(bool)
