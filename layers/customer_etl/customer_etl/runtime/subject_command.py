"""`customer-etl subject find|requests|export|erase|restrict|object`: data subject requests
from the shell (the logic is `runtime.subject_requests`; the runbook is
docs/governance/subject-requests.md).

Standard output holds ids, counts, places and decisions, never an email, a phone number or
a name; `export` writes the decrypted record only to the file named, owner-readable only.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # the parser is built for `--help` without the warehouse's libraries
    from customer_etl.config.model import Config
    from customer_etl.runtime.subject_requests import HeldCheck, SubjectService

EXPORT_MODE = 0o600
RUNS_HELP = "runs folder whose artefacts are searched (default: pipeline.output_dir)"


def add_subject_arguments(
    command: argparse.ArgumentParser,
    with_config: Callable[[argparse.ArgumentParser], argparse.ArgumentParser],
) -> None:
    commands = command.add_subparsers(dest="subject_command", required=True)

    def sub(name: str, help_text: str) -> argparse.ArgumentParser:
        parser = with_config(commands.add_parser(name, help=help_text))
        parser.add_argument("--runs", dest="runs", type=Path, metavar="DIR", help=RUNS_HELP)
        return parser

    find = sub("find", "list every place the pipeline holds a person (article 15)")
    who = find.add_mutually_exclusive_group(required=True)
    who.add_argument("--id", dest="customer_id", help="customer id")
    who.add_argument("--email", help="email address (normalised as the load does)")
    who.add_argument("--phone", help="phone number (read as the load reads it)")
    find.add_argument(
        "--region",
        default="GB",
        help="country of a phone number written without +prefix (default: GB)",
    )
    find.add_argument("--json", action="store_true", help="print JSON (for scripts)")

    requests = sub("requests", "list the register of subject requests and their deadlines")
    requests.add_argument("--open", dest="open_only", action="store_true", help="open ones only")
    requests.add_argument("--json", action="store_true", help="print JSON (for scripts)")

    export = sub("export", "write a person's data and processing record to JSON (article 15)")
    export.add_argument("--id", dest="customer_id", required=True)
    export.add_argument("--out", dest="export_file", type=Path, required=True, metavar="FILE")

    erase = sub("erase", "erase a person everywhere the pipeline keeps data (article 17)")
    erase.add_argument("--id", dest="customer_id", required=True)
    erase.add_argument("--dry-run", action="store_true", help="say what would be erased")
    erase.add_argument("--json", action="store_true", help="print JSON (for scripts)")

    for name, help_text in (
        ("rectify", "record a rectification request, made at the source (article 16)"),
        ("restrict", "restrict processing: later loads do not update the record (article 18)"),
        ("object", "objection to marketing: consent forced off, now and later (article 21)"),
    ):
        flagged = sub(name, help_text)
        flagged.add_argument("--id", dest="customer_id", required=True)
        flagged.add_argument("--json", action="store_true", help="print JSON (for scripts)")

    close = sub("close", "close an open request by hand (a rectification loaded, a refusal)")
    close.add_argument("request_id")
    close.add_argument("--refused", action="store_true", help="close it as refused")
    close.add_argument("--json", action="store_true", help="print JSON (for scripts)")


def subject_command(
    args: argparse.Namespace,
    config: Config,
    out: TextIO,
    held: HeldCheck | None = None,
) -> int:
    """Run one `subject` command against the configuration's warehouse and runs folder."""
    from customer_etl.adapters.warehouse.configured import build_warehouse
    from customer_etl.runtime.factory import build_key_provider, local_artefacts
    from customer_etl.runtime.subject_requests import SubjectService, local_user

    warehouse = build_warehouse(config)
    service = SubjectService(
        config=config,
        warehouse=warehouse,
        keys=lambda: build_key_provider(config, warehouse=warehouse),
        requested_by=local_user(),
        artefacts=local_artefacts(config),
    )
    if held is not None:
        service.held = held
    try:
        return _run(args, service, out)
    finally:
        warehouse.dispose()


def _run(args: argparse.Namespace, service: SubjectService, out: TextIO) -> int:
    command = args.subject_command
    if command == "find":
        document = service.find(
            customer_id=args.customer_id, email=args.email, phone=args.phone, region=args.region
        )
        _show(document, args.json, out, _find_lines)
    elif command == "requests":
        rows = service.register(open_only=args.open_only)
        _show({"requests": rows}, args.json, out, _register_lines)
    elif command == "export":
        document = service.export(args.customer_id)
        write_private(args.export_file, json.dumps(document, indent=2, ensure_ascii=False))
        print(
            f"subject export {document['request_id']}: customer {args.customer_id}, "
            f"{len(document['fields'])} fields, written to {args.export_file} (mode 0600)",
            file=out,
        )
    elif command == "erase":
        document = service.erase(args.customer_id, dry_run=args.dry_run)
        _show(document, args.json, out, _erase_lines)
    elif command == "rectify":
        document = service.rectify(args.customer_id)
        _show(document, args.json, out, _request_lines)
    elif command == "close":
        document = service.close(args.request_id, refused=args.refused)
        _show(document, args.json, out, _request_lines)
    else:
        operation = service.restrict if command == "restrict" else service.object_to_marketing
        document = operation(args.customer_id)
        _show(document, args.json, out, _flag_lines)
    return 0


def write_private(path: Path, text: str) -> None:
    """Write a file readable by its owner only, created so from the start (no moment at
    which another user could open it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, EXPORT_MODE)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    path.chmod(EXPORT_MODE)  # an existing file keeps its mode through O_CREAT


def _show(
    document: dict[str, Any],
    as_json: bool,
    out: TextIO,
    lines: Callable[[dict[str, Any]], list[str]],
) -> None:
    if as_json:
        print(json.dumps(document, indent=2, ensure_ascii=False), file=out)
    else:
        print("\n".join(lines(document)), file=out)


def _find_lines(document: dict[str, Any]) -> list[str]:
    ids = ", ".join(document["customer_ids"]) or "none in the warehouse"
    lines = [f"subject find {document['request_id']}: customer(s) {ids}"]
    if document["suppressed"]:
        lines.append("  on the suppression list: erased, later loads are refused")
    for place in document["places"]:
        where = place["place"]
        if where == "warehouse.customers":
            flags = ", ".join(place["flags"]) or "none"
            lines.append(f"  {where}: {place['customer_id']} (flags: {flags})")
        elif where == "warehouse.customer_changes":
            lines.append(f"  {where}: {place['rows']} audit row(s) of {place['customer_id']}")
        elif where == "enrichment_cache":
            lines.append(f"  {where}: {place['decision']}")
        else:
            lines.append(f"  {where} ({place['kind']}): {place['rows']} row(s) in {place['path']}")
    return lines


def _register_lines(document: dict[str, Any]) -> list[str]:
    rows = document["requests"]
    if not rows:
        return ["subject requests: none"]
    lines = []
    for row in rows:
        late = "  OVERDUE" if row["overdue"] else ""
        lines.append(
            f"{row['request_id']}  {row['kind']:<13} {row['status']:<8} "
            f"{row['age_days']:>3} day(s), due {row['due_by'][:10]}  "
            f"{row['subject_ref_kind']}={row['subject_ref'][:16]}  by {row['requested_by']}{late}"
        )
    overdue = sum(1 for row in rows if row["overdue"])
    lines.append(f"{len(rows)} request(s), {overdue} overdue (one month, article 12(3))")
    return lines


def _erase_lines(document: dict[str, Any]) -> list[str]:
    customer = document["customer_id"]
    if document.get("reason") == "legal_hold":
        return [f"subject erase: customer {customer} is under a legal hold: nothing erased"]
    verb = "would erase" if document.get("dry_run") else "erased"
    return [
        f"subject erase: {verb} customer {customer} ({document['mode']}): "
        f"{document['warehouse_rows']} warehouse row(s), {document['audit_rows']} audit row(s), "
        f"{document['artefact_rows']} row(s) in {document['artefact_files']} run file(s)",
        f"  suppression list: {', '.join(document['suppressed_by'])}",
        f"  data keys: {document['data_keys']}",
        f"  backups: {document['backups']}",
    ]


def _request_lines(document: dict[str, Any]) -> list[str]:
    last = document.get("last_run_id") or "none"
    return [
        f"subject request {document['request_id']}: {document['status']} (last loaded by {last})"
    ]


def _flag_lines(document: dict[str, Any]) -> list[str]:
    line = (
        f"subject {document['flag']} {document['request_id']}: customer "
        f"{document['customer_id']} flagged ({document['flags_added']} new flag(s))"
    )
    if "marketing_consent_forced_off" in document:
        line += f", marketing consent off on {document['marketing_consent_forced_off']} row(s)"
    return [line]
