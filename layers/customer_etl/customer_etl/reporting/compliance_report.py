"""The compliance page: lawful basis per field, consent coverage, retention compliance by
class, open subject requests, quarantine ageing, breach indicators, and a compliance score.

The score (docs/governance/compliance-score.md says the same to its readers) is the weighted
mean, 0 to 100, of the checks that could be measured:

| check | score | weight |
| --- | --- | --- |
| lawful basis | share of personal fields whose retention class names a lawful basis | 1 |
| retention | share of measured records and files within their class's period | 2 |
| subject requests | share of open requests younger than the one-month deadline | 2 |
| quarantine ageing | share of still-quarantined records younger than the quarantine period | 1 |
| breach indicators | 100 without any indicator, else 0 | 2 |

A check that cannot be measured (no open subject request, nothing quarantined) is
left out of the mean rather than counted as passed or failed, and the page says so. Consent
coverage is shown but not scored: customers are processed under contract, and a customer
without marketing consent is not a breach (marketing to them would be; the load and exports
are what must honour it).

Counts, names and ages only: never a record's values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from customer_etl.reporting.render import render

SUBJECT_REQUEST_DEADLINE_DAYS = 30
"""GDPR article 12(3): one month to answer a request (30 days, the shorter reading)."""
WEIGHTS: dict[str, int] = {
    "lawful basis": 1,
    "retention": 2,
    "subject requests": 2,
    "quarantine ageing": 1,
    "breach indicators": 2,
}
NOT_AVAILABLE = "not available"


@dataclass(frozen=True)
class FieldBasis:
    """Why and how long one personal field of the record is kept."""

    column: str
    data_class: str
    handling: str
    retention_class: str
    lawful_basis: str | None
    """None when its retention class is not defined (the configuration refuses that)."""
    purpose: str | None
    period_days: int | None


@dataclass(frozen=True)
class Consent:
    customers: int
    consented: int

    @property
    def share(self) -> float | None:
        return round(100 * self.consented / self.customers, 1) if self.customers else None


@dataclass(frozen=True)
class StoreRetention:
    """One store of a retention class: how much of it is within and past the period."""

    retention_class: str
    store: str
    period_days: int
    runs_from: str
    within: int | None
    past: int | None
    """None for both when the store is not measured here (said so on the page)."""

    @property
    def measured(self) -> bool:
        return self.within is not None and self.past is not None


@dataclass(frozen=True)
class QuarantineAge:
    run_id: str
    records: int
    """Records of the run still in quarantine (quarantined, not recovered by a replay)."""
    age_days: float


@dataclass(frozen=True)
class UnexpectedColumn:
    run_id: str
    column: str
    data_class: str
    handling: str | None


@dataclass(frozen=True)
class BreachIndicators:
    unexpected_columns: list[UnexpectedColumn]
    decryption_failures: int | None
    """Log lines of a DecryptionError in the kept logs; None when no log was readable."""

    @property
    def count(self) -> int:
        return len(self.unexpected_columns) + (self.decryption_failures or 0)


@dataclass(frozen=True)
class Check:
    name: str
    score: float | None
    """0 to 100; None when it could not be measured (left out of the compliance score)."""
    detail: str


@dataclass(frozen=True)
class ComplianceReport:
    generated_at: datetime
    fields: list[FieldBasis]
    consent: Consent
    retention: list[StoreRetention]
    subject_request_ages: list[float] | None
    """Ages in days of the open subject requests; None without a request register."""
    quarantine: list[QuarantineAge]
    quarantine_period_days: int | None
    breaches: BreachIndicators
    checks: list[Check] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "checks", _checks(self))

    @property
    def score(self) -> float | None:
        """The weighted mean of the measured checks (see the module's docstring)."""
        measured = [(WEIGHTS[c.name], c.score) for c in self.checks if c.score is not None]
        if not measured:
            return None
        return round(sum(w * s for w, s in measured) / sum(w for w, _ in measured), 1)

    @property
    def overdue_requests(self) -> int:
        ages = self.subject_request_ages or []
        return sum(age >= SUBJECT_REQUEST_DEADLINE_DAYS for age in ages)

    def quarantine_buckets(self) -> dict[str, int]:
        """Records still quarantined by age: under 7 days, 7 to 30, over 30."""
        buckets = {"under 7 days": 0, "7 to 30 days": 0, "over 30 days": 0}
        for entry in self.quarantine:
            key = (
                "under 7 days"
                if entry.age_days < 7
                else "7 to 30 days"
                if entry.age_days <= 30
                else "over 30 days"
            )
            buckets[key] += entry.records
        return buckets


def _share(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _checks(report: ComplianceReport) -> list[Check]:
    based = sum(f.lawful_basis is not None for f in report.fields)
    measured = [s for s in report.retention if s.measured]
    within = sum(s.within or 0 for s in measured)
    past = sum(s.past or 0 for s in measured)
    ages = report.subject_request_ages
    held = sum(q.records for q in report.quarantine)
    period = report.quarantine_period_days
    young = (
        sum(q.records for q in report.quarantine if q.age_days <= period)
        if period is not None
        else held
    )
    failures = report.breaches.decryption_failures
    return [
        Check(
            "lawful basis",
            _share(based, len(report.fields)),
            f"{based} of {len(report.fields)} personal fields have a lawful basis",
        ),
        Check(
            "retention",
            _share(within, within + past),
            f"{past} of {within + past} measured records and files past their period",
        ),
        Check(
            "subject requests",
            _share(len(ages) - report.overdue_requests, len(ages)) if ages else None,
            f"{NOT_AVAILABLE}: no subject request register in this warehouse"
            if ages is None
            else f"{report.overdue_requests} of {len(ages)} open requests past "
            f"{SUBJECT_REQUEST_DEADLINE_DAYS} days",
        ),
        Check(
            "quarantine ageing",
            _share(young, held),
            f"{held - young} of {held} quarantined records older than "
            f"{period if period is not None else '-'} days",
        ),
        Check(
            "breach indicators",
            100.0 if report.breaches.count == 0 else 0.0,
            f"{len(report.breaches.unexpected_columns)} unexpected personal-data column(s), "
            f"{failures if failures is not None else NOT_AVAILABLE} decryption failure(s)",
        ),
    ]


def render_compliance_html(report: ComplianceReport) -> str:
    return render(
        "compliance_report.html.j2",
        report=report,
        weights=WEIGHTS,
        deadline_days=SUBJECT_REQUEST_DEADLINE_DAYS,
        not_available=NOT_AVAILABLE,
        generated_at=report.generated_at.isoformat(timespec="seconds"),
    )


__all__ = [
    "BreachIndicators",
    "Check",
    "ComplianceReport",
    "Consent",
    "FieldBasis",
    "QuarantineAge",
    "StoreRetention",
    "UnexpectedColumn",
    "render_compliance_html",
]
