"""`customer-etl`: run, resume, retention, the warehouse schema and health, sample data and
configuration, from the shell.

Exit codes: 0 success, 1 a run or command failed for a reason the message names, 2 bad
usage or configuration. `health` exits 0 when healthy or degraded (runs still succeed,
falling back) and 1 when unhealthy, an invalid configuration included.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

import yaml

from customer_etl.adapters.warehouse.configured import build_warehouse
from customer_etl.config import Config, ConfigError, load_config
from customer_etl.config.reference import render_reference
from customer_etl.core.errors import CustomerEtlError, RunIdInUseError, RunInterruptedError
from customer_etl.core.manifest import RUN_ID_PATTERN, RunManifest
from customer_etl.core.mapping import load_mapping
from customer_etl.health.checks import local_health
from customer_etl.health.report import HealthReport, Status
from customer_etl.observability.telemetry import logger
from customer_etl.run.retention import apply_retention, new_run_id
from customer_etl.runtime import quarantine
from customer_etl.runtime.factory import build_key_provider, local_ports
from customer_etl.runtime.local_runner import LocalRunner, RunFailedError
from customer_etl.runtime.mapping_command import add_mapping_arguments, mapping_command
from customer_etl.runtime.report_command import add_report_arguments, write_period_report

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INTERRUPTED = 130
"""A run stopped by Ctrl-C or SIGTERM, cleanly (128 + SIGINT, as shells report Ctrl-C)."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="customer-etl", description="Validate, protect, enrich and load customer CSVs."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def with_config(command: argparse.ArgumentParser) -> argparse.ArgumentParser:
        command.add_argument("--env", default="local", help="environment (default: local)")
        command.add_argument(
            "--config", type=Path, help="configuration file (default: config/<env>.yaml)"
        )
        return command

    run = with_config(commands.add_parser("run", help="run the pipeline on a CSV file"))
    run.add_argument("input", type=Path, help="customer CSV file")
    run.add_argument("--output", type=Path, help="runs folder (default: pipeline.output_dir)")
    run.add_argument("--run-id", help="run id (default: start time and a random suffix)")
    run.add_argument(
        "--mapping", type=Path, help="YAML mapping of source headers (docs/data-quality.md)"
    )

    resume = with_config(commands.add_parser("resume", help="continue a failed run"))
    resume.add_argument("run_id")
    resume.add_argument("--output", type=Path, help="runs folder (default: pipeline.output_dir)")

    with_config(commands.add_parser("retention", help="delete customers past their retention"))

    quarantine = commands.add_parser("quarantine", help="list, export and replay quarantine")
    quarantine_commands = quarantine.add_subparsers(dest="quarantine_command", required=True)
    for name, help_text in (
        ("list", "say what a run quarantined and why"),
        ("export", "write a run's quarantined records to a CSV file for correction"),
        ("replay", "run corrected records through the pipeline"),
    ):
        command = with_config(quarantine_commands.add_parser(name, help=help_text))
        command.add_argument("run_id")
        command.add_argument(
            "--runs", dest="output", type=Path, help="runs folder (default: pipeline.output_dir)"
        )
        if name == "export":
            command.add_argument("--output", dest="export_file", type=Path, required=True)
        if name == "replay":
            command.add_argument("file", type=Path, help="the corrected export")

    db = commands.add_parser("db", help="manage the warehouse schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    with_config(db_commands.add_parser("upgrade", help="apply pending schema migrations"))
    keys = commands.add_parser("keys", help="manage the encryption keys")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    with_config(keys_commands.add_parser("rotate", help="rewrap data keys under a new key version"))
    health = with_config(
        commands.add_parser(
            "health", help="check every component; exit 1 if unhealthy (0 if degraded)"
        )
    )
    health.add_argument("--json", action="store_true", help="print the JSON form")

    add_report_arguments(
        with_config(commands.add_parser("report", help="write a daily or weekly runs report"))
    )

    add_mapping_arguments(commands.add_parser("mapping", help="propose a mapping for an export"))

    sample = commands.add_parser("generate-sample", help="write a synthetic customer CSV")
    sample.add_argument("--rows", type=int, default=1000)
    sample.add_argument("--seed", type=int, default=42)
    sample.add_argument("--defect-rate", type=float, default=0.05)
    sample.add_argument("--output", type=Path, default=Path("data/sample/customers.csv"))

    config = commands.add_parser("config", help="show or document the configuration")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    with_config(config_commands.add_parser("show", help="print the effective settings"))
    docs = config_commands.add_parser("docs", help="write the configuration reference")
    docs.add_argument("--output", type=Path, default=Path("docs/configuration.md"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _dispatch(args, sys.stdout)
    except ConfigError as error:
        print(f"customer-etl: configuration error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except RunFailedError as error:
        print(f"customer-etl: run {error.manifest.run_id} failed: {error}", file=sys.stderr)
        return EXIT_FAILED
    except RunIdInUseError as error:
        print(f"customer-etl: {error}", file=sys.stderr)
        return EXIT_USAGE
    except RunInterruptedError as error:
        print(f"customer-etl: {error}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except CustomerEtlError as error:
        print(f"customer-etl: {error}", file=sys.stderr)
        return EXIT_FAILED


def _dispatch(args: argparse.Namespace, out: TextIO) -> int:
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
    if args.command == "mapping":
        return mapping_command(args, out)
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
    if args.command == "keys":
        from customer_etl.runtime.keys import rotate_command

        return rotate_command(config, out)
    ports = local_ports(config)
    if args.command == "quarantine":
        return _quarantine_command(args, LocalRunner(config, ports), config, out)
    if args.command == "retention":
        record = apply_retention(ports.warehouse(), config.retention.customer_retention_days)
        print(f"retention {record.run_id}: {record.rows_deleted} customer(s) deleted", file=out)
        return EXIT_OK

    runner = LocalRunner(config, ports, local_ports)
    run_id = args.run_id if args.run_id else new_run_id()
    if not RUN_ID_PATTERN.fullmatch(run_id):
        raise CustomerEtlError(
            f"run id {run_id!r} is not valid: use letters, digits, '-', '_', '.'"
        )
    mapping = load_mapping(args.mapping) if getattr(args, "mapping", None) else None
    manifest = (
        runner.run(args.input, run_id, mapping=mapping)
        if args.command == "run"
        else runner.resume(run_id)
    )
    _report(manifest, runner.summary_path(manifest.run_id), out)
    return EXIT_OK


def _quarantine_command(
    args: argparse.Namespace, runner: LocalRunner, config: Config, out: TextIO
) -> int:
    root = config.pipeline.output_dir
    if args.quarantine_command == "list":
        print("\n".join(quarantine.describe(runner.manifest(args.run_id))), file=out)
    elif args.quarantine_command == "export":
        count = quarantine.export(root, runner.manifest(args.run_id), args.export_file)
        print(f"wrote {count} quarantined record(s) to {args.export_file}", file=out)
    else:
        manifest = quarantine.replay(runner, root, args.run_id, args.file)
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
    output = getattr(args, "output", None)
    if output is not None:
        config = config.model_copy(
            update={"pipeline": config.pipeline.model_copy(update={"output_dir": output})}
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
