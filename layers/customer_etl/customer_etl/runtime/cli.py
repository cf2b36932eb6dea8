"""`customer-etl`: run, resume, retention, the warehouse schema and health, sample data and
configuration, from the shell.

Exit codes: 0 success, 1 a run or command failed for a reason the message names, 2 bad
usage or configuration (a mapping file included). `health` exits 0 when healthy or degraded
(runs still succeed, falling back) and 1 when unhealthy, an invalid configuration included.

Standard output holds what a command says (human text, or JSON with `--json`); standard
error holds one line per warning and a failure's one-line message. The structured JSON log
goes to a file under `observability.log_dir`, never to the console.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import yaml

from customer_etl.adapters.warehouse.configured import build_warehouse
from customer_etl.config import Config, ConfigError, load_config
from customer_etl.config.governance_docs import write_governance_docs
from customer_etl.config.observability import ObservabilitySettings
from customer_etl.config.reference import render_reference
from customer_etl.core.errors import (
    CustomerEtlError,
    MaskingKeyError,
    RunIdInUseError,
    RunInterruptedError,
)
from customer_etl.core.manifest import RUN_ID_PATTERN, RunManifest
from customer_etl.core.mapping import MappingError, load_mapping
from customer_etl.health.checks import local_health
from customer_etl.health.report import HealthReport, Status
from customer_etl.observability.telemetry import logger
from customer_etl.run.retention import new_run_id
from customer_etl.runtime import quarantine
from customer_etl.runtime.audit_command import write_audit_report
from customer_etl.runtime.cli_parser import parser
from customer_etl.runtime.compliance_command import write_compliance_report
from customer_etl.runtime.console_warnings import warnings_on_console
from customer_etl.runtime.factory import build_key_provider, local_artefacts, local_ports
from customer_etl.runtime.hold_command import hold_command
from customer_etl.runtime.lineage_command import lineage_command
from customer_etl.runtime.local_runner import LocalRunner, RunFailedError
from customer_etl.runtime.log_file import command_log_file
from customer_etl.runtime.mapping_command import mapping_command
from customer_etl.runtime.protection import EncryptionConfigError
from customer_etl.runtime.report_command import write_period_report
from customer_etl.runtime.retention_command import retention_command

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130
"""A run stopped by Ctrl-C or SIGTERM, cleanly (128 + SIGINT, as shells report Ctrl-C)."""
CONFIGURATION_ERRORS: tuple[type[CustomerEtlError], ...] = (
    ConfigError,  # the rules file's RulesError too
    MappingError,
    MaskingKeyError,
    EncryptionConfigError,
)
"""Errors of what the user configured (exit 2), whether raised before a run or by one."""


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        with command_log_file(lambda: _log_dir(args), args.command), warnings_on_console():
            code = _exit_code(args)
        sys.stdout.flush()  # here, where a closed pipe is caught, not at the interpreter's exit
        return code
    except BrokenPipeError:
        return _reader_went_away()
    except KeyboardInterrupt:
        # Ctrl-C outside a run (a run ends itself cleanly as `interrupted`): no traceback.
        sys.stderr.write(f"customer-etl: {args.command} interrupted\n")
        return EXIT_INTERRUPTED


def _exit_code(args: argparse.Namespace) -> int:
    try:
        return _dispatch(args, sys.stdout)
    except RunFailedError as error:
        print(f"customer-etl: run {error.manifest.run_id} failed: {error}", file=sys.stderr)
        return EXIT_USAGE if error.error_class in _names(CONFIGURATION_ERRORS) else EXIT_FAILED
    except CONFIGURATION_ERRORS as error:
        what = "configuration error: " if isinstance(error, ConfigError) else ""
        print(f"customer-etl: {what}{error}", file=sys.stderr)
        return EXIT_USAGE
    except RunIdInUseError as error:
        print(f"customer-etl: {error}", file=sys.stderr)
        return EXIT_USAGE
    except RunInterruptedError as error:
        print(f"customer-etl: {error}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except CustomerEtlError as error:
        print(f"customer-etl: {error}", file=sys.stderr)
        return EXIT_FAILED


def _names(classes: tuple[type[CustomerEtlError], ...]) -> frozenset[str]:
    """Class names and their subclasses' (a run records its error by class name)."""
    found: set[str] = set()
    pending: list[type] = list(classes)
    while pending:
        cls = pending.pop()
        found.add(cls.__name__)
        pending += cls.__subclasses__()
    return frozenset(found)


def _reader_went_away() -> int:
    """The reader of standard output closed it (`customer-etl quarantine list ID | head`):
    stop quietly, as Unix tools do, instead of a traceback. Standard output is pointed at
    /dev/null so that the interpreter's last flush at exit fails no more (the Python
    documentation's recipe for SIGPIPE)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    return EXIT_FAILED


def _log_dir(args: argparse.Namespace) -> Path:
    """The configuration's log folder, or the default one when there is no configuration
    (`generate-sample`) or it cannot be loaded (the console says why)."""
    if hasattr(args, "env"):
        try:
            return _config(args).observability.log_dir
        except ConfigError:
            pass
    return ObservabilitySettings().log_dir


def _dispatch(args: argparse.Namespace, out: TextIO) -> int:
    if args.command == "mapping":
        return mapping_command(args, out)
    if args.command == "generate-sample":
        from customer_etl.reference.sample import write_sample

        sample = write_sample(
            args.output, rows=args.rows, seed=args.seed, defect_rate=args.defect_rate
        )
        print(
            f"wrote {len(sample.frame)} rows ({len(sample.defects)} defective) to {args.output}",
            file=out,
        )
        return EXIT_OK
    if args.command == "config" and args.config_command == "governance-docs":
        for written in write_governance_docs(args.output):
            print(f"wrote {written}", file=out)
        return EXIT_OK
    if args.command == "config" and args.config_command == "docs":
        args.output.write_text(render_reference(), encoding="utf-8")
        print(f"wrote {args.output}", file=out)
        return EXIT_OK

    if args.command == "health":
        return _health(args, out)
    config = _config(args)
    if args.command == "config":
        print(
            yaml.safe_dump(config.model_dump(mode="json", by_alias=True), sort_keys=False),
            file=out,
            end="",
        )
        return EXIT_OK

    if args.command == "db":
        return _warehouse_command(args, config, out)
    if args.command == "report":
        print(write_period_report(args, config), file=out)
        return EXIT_OK
    if args.command == "audit":
        print(write_audit_report(args, config), file=out)
        return EXIT_OK
    if args.command == "compliance":
        print(write_compliance_report(args, config), file=out)
        return EXIT_OK
    if args.command == "hold":
        return hold_command(args, config, out)
    if args.command == "lineage":
        return lineage_command(args, config, out)
    if args.command == "keys":
        from customer_etl.runtime.keys import rotate_command

        return rotate_command(config, out, as_json=args.json)
    if args.command == "subject":
        from customer_etl.runtime.subject_command import subject_command

        return subject_command(args, config, out)
    ports = local_ports(config)
    if args.command == "quarantine":
        return _quarantine_command(args, LocalRunner(config, ports), config, out)
    if args.command == "retention":
        return retention_command(args, config, ports.warehouse(), out)

    runner = LocalRunner(config, ports, local_ports)
    if args.command == "resume":
        return _resume(runner, args.run_id, out)
    run_id = args.run_id if args.run_id else new_run_id()
    if not RUN_ID_PATTERN.fullmatch(run_id):
        raise CustomerEtlError(
            f"run id {run_id!r} is not valid: use letters, digits, '-', '_', '.'"
        )
    mapping = load_mapping(args.mapping) if args.mapping else None
    manifest = runner.run(args.input, run_id, mapping=mapping)
    _report(manifest, runner.summary_path(manifest.run_id), out)
    return EXIT_OK


def _resume(runner: LocalRunner, run_id: str, out: TextIO) -> int:
    manifest = runner.manifest(run_id)
    if manifest.status == "succeeded":
        print(f"run {run_id} already succeeded: nothing to resume", file=out)
    else:
        manifest = runner.resume(run_id)
    _report(manifest, runner.summary_path(manifest.run_id), out)
    return EXIT_OK


def _quarantine_command(
    args: argparse.Namespace, runner: LocalRunner, config: Config, out: TextIO
) -> int:
    artefacts = local_artefacts(config)
    if args.quarantine_command == "list":
        print("\n".join(quarantine.describe(runner.manifest(args.run_id))), file=out)
    elif args.quarantine_command == "export":
        count = quarantine.export(artefacts, runner.manifest(args.run_id), args.export_file)
        print(f"wrote {count} quarantined record(s) to {args.export_file}", file=out)
    else:
        manifest = quarantine.replay(runner, artefacts, args.run_id, args.file)
        _report(manifest, runner.summary_path(manifest.run_id), out)
        print(f"recovered: see customer-etl quarantine list {args.run_id}", file=out)
    return EXIT_OK


def _warehouse_command(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    warehouse = build_warehouse(config)
    try:
        before, after = warehouse.upgrade()
        print(f"warehouse {warehouse.display_url}: schema {before or 'none'} -> {after}", file=out)
        return EXIT_OK
    finally:
        warehouse.dispose()


def _health(args: argparse.Namespace, out: TextIO) -> int:
    """The checks live in `customer_etl.health`; this prints them and picks the exit code."""
    report: HealthReport = local_health(lambda: _config(args), build_key_provider)
    if args.json:
        print(json.dumps(report.as_json(), indent=2), file=out)
    else:
        for component in report.components:
            print(component.summary(), file=out)
        print(f"health: {report.status.value}", file=out)
    return EXIT_FAILED if report.status is Status.UNHEALTHY else EXIT_OK


def _config(args: argparse.Namespace) -> Config:
    config = load_config(args.env, args.config)
    runs = getattr(args, "runs", None)
    if runs is not None:
        config = config.model_copy(
            update={"pipeline": config.pipeline.model_copy(update={"output_dir": runs})}
        )
    return config


def _report(manifest: RunManifest, summary_path: Path, out: TextIO) -> None:
    print(
        f"run {manifest.run_id} {manifest.status}: {manifest.rows_in} rows in, "
        f"{manifest.rows_loaded} loaded, {manifest.rows_quarantined} quarantined",
        file=out,
    )
    print(f"summary: {summary_path}", file=out)


if __name__ == "__main__":
    logger.debug("customer-etl started from the module")
    sys.exit(main())
