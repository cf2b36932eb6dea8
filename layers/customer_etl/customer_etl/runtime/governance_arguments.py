"""The arguments of `customer-etl hold` and `customer-etl retention`, apart from their
commands: the parser (`runtime/cli_parser.py`) must stay light, since `--help` and
`--version` are answered before pandas, SQLAlchemy or Powertools are imported
(`runtime/entry.py`)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta


def add_hold_arguments(
    command: argparse.ArgumentParser,
    with_config: Callable[[argparse.ArgumentParser], argparse.ArgumentParser],
) -> None:
    """`hold add`, `hold list` and `hold release`; `with_config` adds --env and --config."""
    verbs = command.add_subparsers(dest="hold_command", required=True)
    add = with_config(verbs.add_parser("add", help="place a legal hold"))
    target = add.add_mutually_exclusive_group(required=True)
    target.add_argument("--customer", metavar="ID", help="hold one customer, by customer_id")
    target.add_argument(
        "--data-class", metavar="CLASS", help="hold a data class or a retention class"
    )
    target.add_argument("--run", metavar="RUN_ID", help="hold one run's data")
    add.add_argument("--reason", required=True, help="why (a case or matter reference)")
    add.add_argument("--owner", required=True, help="who answers for the hold")
    add.add_argument(
        "--until",
        type=until_moment,
        metavar="DATE",
        help="an ISO date (held through that day, UTC) or time; default: until released",
    )
    listing = with_config(verbs.add_parser("list", help="list the holds in force"))
    listing.add_argument("--all", action="store_true", help="also lapsed and released holds")
    listing.add_argument("--json", action="store_true", help="print JSON (for scripts)")
    release = with_config(verbs.add_parser("release", help="release a legal hold"))
    release.add_argument("hold_id", type=int)
    release.add_argument("--reason", help="why the hold ends")
    release.add_argument("--by", help="who releases it (default: the local user)")


def until_moment(text: str) -> datetime:
    """`--until`: a date means through the end of that day (UTC); a time, that instant."""
    try:
        if "T" in text or " " in text:
            moment = datetime.fromisoformat(text)
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        day = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date or time: {text!r}") from None
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)


def add_retention_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "report",
        nargs="?",
        choices=("report",),
        help="`report`: by class, records within and past their period, held, acted on, the "
        "last jobs; alerts when records are overdue or the last job failed",
    )
    command.add_argument(
        "--dry-run", action="store_true", help="say what would go, by class, and change nothing"
    )
