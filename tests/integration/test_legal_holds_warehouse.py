"""Legal holds in the warehouse, on SQLite and PostgreSQL (and SQL Server when one is given):
placed, listed, released, audited by hold id only, and asked about at an instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.core.errors import LegalHoldError
from customer_etl.core.legal_holds import HeldTargets, HoldScope, NewLegalHold

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def test_holds_are_placed_listed_released_and_audited(warehouse: SqlWarehouse) -> None:
    customer = warehouse.add_legal_hold(
        NewLegalHold(HoldScope.CUSTOMER, "C-secret-1", "matter 42", "dpo"), NOW
    )
    run = warehouse.add_legal_hold(
        NewLegalHold(HoldScope.RUN, "run-7", "audit", "counsel", NOW + timedelta(days=30)), NOW
    )
    assert (customer.hold_id, customer.scope, customer.target) == (
        customer.hold_id,
        HoldScope.CUSTOMER,
        "C-secret-1",
    )
    assert run.until == NOW + timedelta(days=30) and run.created_at == NOW
    assert [h.hold_id for h in warehouse.legal_holds(NOW)] == [customer.hold_id, run.hold_id]

    released = warehouse.release_legal_hold(customer.hold_id, "dpo", "case closed", NOW)
    assert (released.released_at, released.released_by) == (NOW, "dpo")
    assert released.release_reason == "case closed"
    later = NOW + timedelta(minutes=1)
    assert [h.hold_id for h in warehouse.legal_holds(later)] == [run.hold_id]
    assert len(warehouse.legal_holds()) == 2, "a released hold stays on record"
    with pytest.raises(LegalHoldError, match="already released"):
        warehouse.release_legal_hold(customer.hold_id, "dpo")
    with pytest.raises(LegalHoldError, match="no legal hold 999"):
        warehouse.release_legal_hold(999, "dpo")

    events = warehouse.legal_hold_events()
    assert [(e["hold_id"], e["event"], e["actor"]) for e in events] == [
        (customer.hold_id, "added", "dpo"),
        (run.hold_id, "added", "counsel"),
        (customer.hold_id, "released", "dpo"),
    ]
    assert "C-secret-1" not in repr(events), "audit rows name the hold, never its target"


def test_which_targets_are_held_at_an_instant(warehouse: SqlWarehouse) -> None:
    warehouse.add_legal_hold(NewLegalHold(HoldScope.CUSTOMER, "C-1", "m", "dpo"), NOW)
    warehouse.add_legal_hold(
        NewLegalHold(HoldScope.CUSTOMER, "C-2", "m", "dpo", NOW + timedelta(days=1)), NOW
    )
    warehouse.add_legal_hold(NewLegalHold(HoldScope.DATA_CLASS, "marketing", "m", "dpo"), NOW)
    released = warehouse.add_legal_hold(NewLegalHold(HoldScope.RUN, "run-7", "m", "dpo"), NOW)
    warehouse.release_legal_hold(released.hold_id, "dpo", now=NOW + timedelta(hours=1))
    many = [f"C-{n}" for n in range(3, 1200)]  # more than one IN list's worth

    def held(at: datetime) -> HeldTargets:
        return warehouse.held_at(
            at,
            customer_ids=["C-1", "C-2", *many],
            data_classes=["marketing", "customer_contact"],
            run_ids=["run-7"],
        )

    assert held(NOW - timedelta(seconds=1)) == HeldTargets()
    assert held(NOW + timedelta(minutes=30)) == HeldTargets(
        customer_ids=frozenset({"C-1", "C-2"}),
        data_classes=frozenset({"marketing"}),
        run_ids=frozenset({"run-7"}),
    )
    assert held(NOW + timedelta(days=2)) == HeldTargets(
        customer_ids=frozenset({"C-1"}), data_classes=frozenset({"marketing"})
    )
