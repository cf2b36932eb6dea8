"""Legal hold records: what the warehouse stores and hands back, shared by the port, the
warehouse adapter, the retention job and the subject-request commands.

They live in the kernel (not beside the decision in `stages/legal_holds.py`) because the
`Warehouse` port in `core/ports.py` names them and the kernel imports nothing above it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class HoldScope(StrEnum):
    """What a hold is placed on."""

    CUSTOMER = "customer"
    """One warehouse customer, by `customer_id`."""
    DATA_CLASS = "data_class"
    """A class of personal data (`email`, `phone`...) or a retention class
    (`customer_contact`, `quarantine`...): nothing of it expires while held."""
    RUN = "run"
    """One run, by run id: its artefacts (checkpoints, quarantine, report) and the
    customers it last loaded."""


@dataclass(frozen=True)
class NewLegalHold:
    """A hold to place: by one scope and its target, with who asks for it and why."""

    scope: HoldScope
    target: str
    reason: str
    owner: str
    until: datetime | None = None
    """The hold lapses at this instant (exclusive); None: until released."""


@dataclass(frozen=True)
class LegalHold:
    """One row of `legal_holds`: a hold placed, and released or not."""

    hold_id: int
    scope: HoldScope
    target: str
    reason: str
    owner: str
    created_at: datetime
    until: datetime | None = None
    released_at: datetime | None = None
    released_by: str | None = None
    release_reason: str | None = None

    def active_at(self, at: datetime) -> bool:
        """In force at `at`: placed by then, not yet lapsed, not yet released."""
        if at < self.created_at:
            return False
        if self.until is not None and at >= self.until:
            return False
        return self.released_at is None or at < self.released_at


@dataclass(frozen=True)
class HeldTargets:
    """Of the customer ids, classes and runs asked about, those held at one instant."""

    customer_ids: frozenset[str] = field(default_factory=frozenset)
    data_classes: frozenset[str] = field(default_factory=frozenset)
    run_ids: frozenset[str] = field(default_factory=frozenset)

    def of(self, scope: HoldScope) -> frozenset[str]:
        return {
            HoldScope.CUSTOMER: self.customer_ids,
            HoldScope.DATA_CLASS: self.data_classes,
            HoldScope.RUN: self.run_ids,
        }[scope]

    @staticmethod
    def from_holds(
        holds: Iterable[LegalHold],
        at: datetime,
        *,
        customer_ids: Iterable[str] = (),
        data_classes: Iterable[str] = (),
        run_ids: Iterable[str] = (),
    ) -> HeldTargets:
        """The targets among those asked about that an active hold covers at `at`."""
        active: dict[HoldScope, set[str]] = {scope: set() for scope in HoldScope}
        for hold in holds:
            if hold.active_at(at):
                active[hold.scope].add(hold.target)
        return HeldTargets(
            customer_ids=frozenset(customer_ids) & frozenset(active[HoldScope.CUSTOMER]),
            data_classes=frozenset(data_classes) & frozenset(active[HoldScope.DATA_CLASS]),
            run_ids=frozenset(run_ids) & frozenset(active[HoldScope.RUN]),
        )
