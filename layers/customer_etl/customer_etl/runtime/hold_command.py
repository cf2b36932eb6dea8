"""`customer-etl hold add|list|release`: legal holds for the data protection officer.

A hold's target may be a customer id: the command shows it on standard output to the person
who asked, and logs only the hold id, its scope and the counts (never the target).
"""

from __future__ import annotations

import argparse
import getpass
import json
from datetime import UTC, datetime
from typing import TextIO

from customer_etl.adapters.warehouse.configured import build_warehouse
from customer_etl.config import Config
from customer_etl.core.legal_holds import HoldScope, LegalHold, NewLegalHold
from customer_etl.observability.telemetry import logger
from customer_etl.stages.legal_holds import validate_new_hold


def hold_command(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    warehouse = build_warehouse(config)
    try:
        now = datetime.now(UTC)
        if args.hold_command == "add":
            new = _new_hold(args)
            validate_new_hold(new, now)
            hold = warehouse.add_legal_hold(new, now)
            logger.info(
                "legal hold placed", extra={"hold_id": hold.hold_id, "scope": hold.scope.value}
            )
            print(f"placed {describe(hold, now)}", file=out)
        elif args.hold_command == "release":
            by = args.by or getpass.getuser()
            hold = warehouse.release_legal_hold(args.hold_id, by, args.reason, now)
            logger.info(
                "legal hold released", extra={"hold_id": hold.hold_id, "scope": hold.scope.value}
            )
            print(f"released {describe(hold, now)}", file=out)
        else:
            holds = warehouse.legal_holds(None if args.all else now)
            logger.info("legal holds listed", extra={"holds": len(holds)})
            if args.json:
                print(json.dumps([as_json(h, now) for h in holds], indent=2), file=out)
            elif not holds:
                print("no legal holds in force" if not args.all else "no legal holds", file=out)
            else:
                print("\n".join(describe(hold, now) for hold in holds), file=out)
        return 0
    finally:
        warehouse.dispose()


def _new_hold(args: argparse.Namespace) -> NewLegalHold:
    if args.customer is not None:
        scope, target = HoldScope.CUSTOMER, args.customer
    elif args.data_class is not None:
        scope, target = HoldScope.DATA_CLASS, args.data_class
    else:
        scope, target = HoldScope.RUN, args.run
    return NewLegalHold(scope, target, args.reason, args.owner, args.until)


def state(hold: LegalHold, now: datetime) -> str:
    if hold.released_at is not None and hold.released_at <= now:
        return "released"
    if hold.until is not None and hold.until <= now:
        return "lapsed"
    return "in force" if hold.active_at(now) else "pending"


def describe(hold: LegalHold, now: datetime) -> str:
    """One line for the person at the terminal (the target included: they asked for it)."""
    scope = hold.scope.value.replace("_", " ")
    until = f" until {hold.until:%Y-%m-%d %H:%M}Z" if hold.until else ""
    return (
        f"hold {hold.hold_id} ({state(hold, now)}): {scope} {hold.target}{until}, "
        f"owner {hold.owner}, placed {hold.created_at:%Y-%m-%d %H:%M}Z: {hold.reason}"
    )


def as_json(hold: LegalHold, now: datetime) -> dict[str, object]:
    def moment(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "hold_id": hold.hold_id,
        "state": state(hold, now),
        "scope": hold.scope.value,
        "target": hold.target,
        "reason": hold.reason,
        "owner": hold.owner,
        "created_at": moment(hold.created_at),
        "until": moment(hold.until),
        "released_at": moment(hold.released_at),
        "released_by": hold.released_by,
        "release_reason": hold.release_reason,
    }
