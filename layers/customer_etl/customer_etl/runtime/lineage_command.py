"""`customer-etl lineage show RUN_ID [--out FILE.html]`: the run's lineage as a page that
opens offline (`reporting.lineage_graph`), by default `lineage.html` in the run's folder."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from customer_etl.config.model import Config

MANIFEST_FILE = "manifest.json"
LINEAGE_PAGE = "lineage.html"


def add_lineage_arguments(
    command: argparse.ArgumentParser, *shared: Callable[[argparse.ArgumentParser], object]
) -> argparse.ArgumentParser:
    """`lineage show RUN_ID [--out FILE]`, plus the `shared` options (`--env`, `--config`,
    `--runs`) that every command takes after its verb."""
    verbs = command.add_subparsers(dest="lineage_command", required=True)
    show = verbs.add_parser("show", help="write a run's lineage as an HTML graph")
    show.add_argument("run_id")
    show.add_argument(
        "--out",
        dest="lineage_file",
        type=Path,
        metavar="FILE",
        help=f"file to write (default: {LINEAGE_PAGE} in the run's folder)",
    )
    for add in shared:
        add(show)
    return show


def lineage_command(args: argparse.Namespace, config: Config, out: TextIO) -> int:
    """Write the page; CustomerEtlError (exit 1) for a run the runs folder does not hold."""
    # Here, not at the top: `customer-etl --help` must load none of these (test_import_cost).
    from customer_etl.adapters.files import write_text_atomically
    from customer_etl.core.errors import CustomerEtlError
    from customer_etl.core.manifest import RunManifest
    from customer_etl.reporting.lineage_graph import lineage_page, render_lineage_page
    from customer_etl.runtime.lineage import locations, protection

    folder = config.pipeline.output_dir / args.run_id
    path = folder / MANIFEST_FILE
    if not path.is_file():
        raise CustomerEtlError(
            f"no run {args.run_id} under {config.pipeline.output_dir}: check the run id, or "
            "give the runs folder with --runs"
        )
    manifest = RunManifest.model_validate_json(path.read_text(encoding="utf-8"))
    page = lineage_page(manifest, locations(config), protection(config))
    target: Path = args.lineage_file or folder / LINEAGE_PAGE
    target.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomically(target, render_lineage_page(page))
    print(
        f"lineage of run {manifest.run_id}: {len(page.nodes)} datasets and jobs, "
        f"{len(page.field_links)} column edges into {page.table or 'the warehouse'}; "
        f"wrote {target}",
        file=out,
    )
    return 0
