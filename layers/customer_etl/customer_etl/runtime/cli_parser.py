"""The arguments of `customer-etl`: commands, options, and the one name of each option.

The runs folder is `--runs DIR` on every command that reads or writes runs (`run`, `resume`,
`quarantine ...`). `run` and `resume` used to call it `--output`, which every other command
uses for a file it writes; that spelling still works there, with a notice that it is
deprecated.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

DISTRIBUTION = "customer-etl"
DEFAULT_SAMPLE = Path(".etl/samples/customers.csv")
"""Where `generate-sample` writes without `--output`: the work folder (ignored by git),
never the committed `data/sample/customers.csv`, which only an explicit `--output` remakes."""
RUNS_HELP = "runs folder (default: pipeline.output_dir)"


def package_version() -> str:
    """The installed distribution's version (pyproject.toml's, through its metadata)."""
    # Imported when asked: importlib.metadata is most of what building the parser cost.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed: pip install -e .)"


class _LazyCommands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Subcommands whose own arguments are added only when the command is named.

    A command module's `add_*_arguments` lives beside its code, which imports pandas,
    SQLAlchemy and the adapters; `customer-etl --help` (and every other command) should not
    pay for the modules of the commands it does not run."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fillers: dict[str, Callable[[], object]] = {}

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        filler = self.fillers.pop(values[0], None)
        if filler is not None:
            filler()
        super().__call__(parser, namespace, values, option_string)


def with_every_command(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """`parser` with every command's arguments added now, not when it is named: for what
    reads the whole command line (the documents' drift test)."""
    for action in parser._actions:
        if isinstance(action, _LazyCommands):
            for name in list(action.fillers):
                action.fillers.pop(name)()
    return parser


def _later(
    commands: _LazyCommands,
    command: argparse.ArgumentParser,
    module: str,
    function: str,
    *extra: object,
) -> argparse.ArgumentParser:
    """Add `module.function(command, *extra)`'s arguments when `command` is named."""
    name = command.prog.split()[-1]

    def fill() -> object:
        return getattr(importlib.import_module(f"customer_etl.runtime.{module}"), function)(
            command, *extra
        )

    commands.fillers[name] = fill
    return command


class _VersionAction(argparse.Action):
    """`--version`, looking the version up only when it is asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_args: Any) -> None:
        sys.stdout.write(f"{parser.prog} {package_version()}\n")  # as argparse's own does
        parser.exit()


class DeprecatedRunsAlias(argparse.Action):
    """`--output DIR` on `run` and `resume`: sets the runs folder as `--runs` does, and says
    on standard error that `--runs` is the name to use."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        sys.stderr.write(
            f"customer-etl: warning: {option_string} is deprecated for the runs folder; "
            "use --runs\n"
        )
        setattr(namespace, self.dest, values)


def _with_config(command: argparse.ArgumentParser) -> argparse.ArgumentParser:
    command.add_argument("--env", default="local", help="environment (default: local)")
    command.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="configuration file (default: config/<env>.yaml)",
    )
    return command


def _with_runs(command: argparse.ArgumentParser, *, deprecated_output: bool = False) -> None:
    command.add_argument("--runs", dest="runs", type=Path, metavar="DIR", help=RUNS_HELP)
    if deprecated_output:
        command.add_argument(
            "--output",
            dest="runs",
            type=Path,
            metavar="DIR",
            action=DeprecatedRunsAlias,
            help="deprecated spelling of --runs",
        )


def _with_json(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--json", action="store_true", help="print the result as JSON (for scripts)"
    )


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(
        prog="customer-etl", description="Validate, protect, enrich and load customer CSVs."
    )
    main.add_argument("--version", action=_VersionAction)
    commands = main.add_subparsers(dest="command", required=True, action=_LazyCommands)
    assert isinstance(commands, _LazyCommands)

    run = _with_config(commands.add_parser("run", help="run the pipeline on a CSV file"))
    run.add_argument("input", type=Path, help="customer CSV file")
    _with_runs(run, deprecated_output=True)
    run.add_argument("--run-id", help="run id (default: start time and a random suffix)")
    run.add_argument(
        "--mapping",
        type=Path,
        metavar="FILE",
        help="YAML mapping of source headers (docs/data-quality.md)",
    )

    resume = _with_config(commands.add_parser("resume", help="continue a failed run"))
    resume.add_argument("run_id")
    _with_runs(resume, deprecated_output=True)

    retention = _with_config(
        commands.add_parser("retention", help="apply the retention classes (or --dry-run)")
    )
    _with_json(retention)
    _with_runs(retention)
    _later(commands, retention, "governance_arguments", "add_retention_arguments")

    _later(
        commands,
        commands.add_parser("hold", help="place, list and release legal holds"),
        *("governance_arguments", "add_hold_arguments", _with_config),
    )

    quarantine = commands.add_parser("quarantine", help="list, export and replay quarantine")
    quarantine_commands = quarantine.add_subparsers(dest="quarantine_command", required=True)
    for name, help_text in (
        ("list", "say what a run quarantined and why"),
        ("export", "write a run's quarantined records to a CSV file for correction"),
        ("replay", "run corrected records through the pipeline"),
    ):
        command = _with_config(quarantine_commands.add_parser(name, help=help_text))
        command.add_argument("run_id")
        _with_runs(command)
        if name == "export":
            command.add_argument("--output", dest="export_file", type=Path, required=True)
        if name == "replay":
            command.add_argument("file", type=Path, help="the corrected export")

    db = commands.add_parser("db", help="manage the warehouse schema")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    _with_config(db_commands.add_parser("upgrade", help="apply pending schema migrations"))
    keys = commands.add_parser("keys", help="manage the encryption keys")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    _with_json(
        _with_config(
            keys_commands.add_parser("rotate", help="rewrap data keys under a new key version")
        )
    )
    _with_json(
        _with_config(
            commands.add_parser(
                "health", help="check every component; exit 1 if unhealthy (0 if degraded)"
            )
        )
    )

    _later(
        commands,
        _with_config(commands.add_parser("report", help="write a daily or weekly runs report")),
        *("report_command", "add_report_arguments"),
    )
    _later(
        commands,
        commands.add_parser("audit", help="audit reports of runs and changes"),
        *("audit_command", "add_audit_arguments", _with_config),
    )
    _later(
        commands,
        commands.add_parser("compliance", help="the compliance page"),
        *("compliance_command", "add_compliance_arguments", _with_config),
    )

    _later(
        commands,
        commands.add_parser("mapping", help="propose a mapping for an export"),
        *("mapping_command", "add_mapping_arguments"),
    )
    _later(
        commands,
        commands.add_parser("subject", help="data subject requests (GDPR articles 15-21)"),
        *("subject_command", "add_subject_arguments", _with_config),
    )
    _later(
        commands,
        commands.add_parser("lineage", help="show a run's lineage"),
        *("lineage_command", "add_lineage_arguments", _with_config, _with_runs),
    )

    sample = commands.add_parser("generate-sample", help="write a synthetic customer CSV")
    sample.add_argument("--rows", type=int, default=1000)
    sample.add_argument("--seed", type=int, default=42)
    sample.add_argument("--defect-rate", type=float, default=0.05)
    sample.add_argument(
        "--output",
        type=Path,
        default=DEFAULT_SAMPLE,
        help=f"file to write (default: {DEFAULT_SAMPLE})",
    )

    config = commands.add_parser("config", help="show or document the configuration")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    _with_config(config_commands.add_parser("show", help="print the effective settings"))
    docs = config_commands.add_parser("docs", help="write the configuration reference")
    docs.add_argument("--output", type=Path, default=Path("docs/configuration.md"))
    governance = config_commands.add_parser(
        "governance-docs", help="write the retention schedule and the records of processing"
    )
    governance.add_argument("--output", type=Path, default=Path("docs/governance"))
    return main
