"""The retention decisions: the cutoff, the rule in words, which expired items a hold keeps,
and when the retention report alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from customer_etl.config.model import AlertsSettings
from customer_etl.core.legal_holds import HeldTargets
from customer_etl.core.ports import RunRecord
from customer_etl.core.retention import Expired
from customer_etl.reporting.retention_report import ClassStatus, RetentionReport
from customer_etl.stages.retention import decide, retention_cutoff, rule_text

NOW = datetime(2026, 12, 4, tzinfo=UTC)
ids = st.lists(st.sampled_from([f"C-{n}" for n in range(12)]), unique=True)
runs = st.lists(st.sampled_from(["r1", "r2", "r3"]), unique=True)


@given(expired=ids, held_ids=ids, held_runs=runs, class_held=st.booleans())
def test_every_expired_item_is_either_acted_on_or_held_never_both(
    expired: list[str], held_ids: list[str], held_runs: list[str], class_held: bool
) -> None:
    items = [Expired(key=i, customer_id=i, run_id=f"r{n % 3 + 1}") for n, i in enumerate(expired)]
    held = HeldTargets(customer_ids=frozenset(held_ids), run_ids=frozenset(held_runs))
    decision = decide(items, held, class_held)
    assert len(decision.act_on) + decision.held == len(items)
    for item in decision.act_on:
        assert not class_held
        assert item.customer_id not in held_ids and item.run_id not in held_runs
    if class_held:
        assert decision.act_on == ()


def test_the_cutoff_and_the_rule_in_words() -> None:
    assert retention_cutoff(NOW, 0) == NOW
    assert retention_cutoff(NOW, 7) == NOW - timedelta(days=7)
    with pytest.raises(ValueError):
        retention_cutoff(NOW, -1)
    assert rule_text("last_seen", 2190, datetime(2020, 12, 5, tzinfo=UTC)) == (
        "last_seen_at before 2020-12-05 (2190 days)"
    )
    assert rule_text("run_end", 7, NOW).startswith("run end before 2026-12-04")


def _job(status: str) -> RunRecord:
    return RunRecord("job-1", "retention", "-", status, 0, 0, 0, NOW, NOW, None)


def _report(overdue: int, held: int, last: RunRecord | None) -> RetentionReport:
    status = ClassStatus(
        "customer", "warehouse_customers", 2190, "delete", "r", 10, overdue + held, held
    )
    return RetentionReport(
        NOW, (status,), last, last if last and last.status == "succeeded" else None
    )


def test_the_report_alerts_on_overdue_records_or_a_failed_last_job_only() -> None:
    assert not _report(0, 3, _job("succeeded")).needs_alert, "held records are not overdue"
    overdue = _report(4, 3, _job("succeeded"))
    assert overdue.needs_alert and overdue.overdue == {"customer": 4}
    alert = overdue.alert(AlertsSettings())
    assert alert.severity == "P2"
    assert alert.subject == (
        "[P2] customer-etl retention job-1: 4 record(s) past their retention period"
    )
    assert "customer: 4" in alert.body and "#retentionoverdue" in alert.body
    failed = _report(0, 0, _job("failed"))
    assert failed.needs_alert
    assert "the last retention job did not succeed" in failed.alert(AlertsSettings()).subject
    assert "Last successful job: none on record" in failed.alert(AlertsSettings()).body
