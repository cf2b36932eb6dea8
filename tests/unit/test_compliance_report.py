"""The compliance score: the weighted mean of the checks that could be measured, a check
that cannot be measured left out rather than passed or failed."""

from __future__ import annotations

from datetime import UTC, datetime

from customer_etl.reporting.compliance_report import (
    BreachIndicators,
    ComplianceReport,
    Consent,
    FieldBasis,
    QuarantineAge,
    StoreRetention,
    UnexpectedColumn,
)

NOW = datetime(2026, 12, 4, tzinfo=UTC)


def basis(column: str, lawful_basis: str | None = "contract") -> FieldBasis:
    return FieldBasis(column, "email", "encrypt", "customer", lawful_basis, "serving", 2190)


def report(**changes: object) -> ComplianceReport:
    values: dict[str, object] = {
        "generated_at": NOW,
        "fields": [basis("email"), basis("phone")],
        "consent": Consent(10, 4),
        "retention": [
            StoreRetention("customer", "warehouse_customers", 2190, "last_seen", 9, 1),
            StoreRetention("enrichment_cache", "enrichment_cache", 30, "run_end", None, None),
        ],
        "subject_request_ages": None,
        "quarantine": [QuarantineAge("r1", 3, 2.0), QuarantineAge("r0", 1, 40.0)],
        "quarantine_period_days": 30,
        "breaches": BreachIndicators([], 0),
    }
    values.update(changes)
    return ComplianceReport(**values)  # type: ignore[arg-type]


def test_the_score_is_the_weighted_mean_of_the_measured_checks() -> None:
    scored = report()
    checks = {c.name: c.score for c in scored.checks}
    assert checks == {
        "lawful basis": 100.0,
        "retention": 90.0,  # 9 of the 10 measured; the cache is not measured
        "subject requests": None,  # no register: left out of the mean
        "quarantine ageing": 75.0,  # 3 of 4 records younger than 30 days
        "breach indicators": 100.0,
    }
    assert scored.score == round((100 + 2 * 90 + 75 + 2 * 100) / 6, 1)
    assert scored.consent.share == 40.0
    assert scored.quarantine_buckets() == {"under 7 days": 3, "7 to 30 days": 0, "over 30 days": 1}


def test_any_breach_indicator_zeroes_its_check_and_overdue_requests_count() -> None:
    scored = report(
        breaches=BreachIndicators(
            [UnexpectedColumn("r1", "ni", "national_insurance_number", None)], None
        ),
        subject_request_ages=[3.0, 31.0],
        fields=[basis("email"), basis("phone", None)],
    )
    checks = {c.name: c.score for c in scored.checks}
    assert checks["breach indicators"] == 0.0
    assert checks["subject requests"] == 50.0 and scored.overdue_requests == 1
    assert checks["lawful basis"] == 50.0
    assert scored.breaches.count == 1  # decryption failures unknown (no log) add none


def test_with_nothing_else_measurable_the_score_is_the_breach_check_alone() -> None:
    empty = report(fields=[], retention=[], quarantine=[], breaches=BreachIndicators([], None))
    assert [c.name for c in empty.checks if c.score is not None] == ["breach indicators"]
    assert empty.score == 100.0
