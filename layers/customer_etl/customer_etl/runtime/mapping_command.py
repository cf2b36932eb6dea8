"""`customer-etl mapping suggest FILE`: print a proposed mapping for an export, read from its
header and first rows (`stages.mapping_suggest`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

SAMPLE_ROWS = 200


def add_mapping_arguments(command: argparse.ArgumentParser) -> None:
    verbs = command.add_subparsers(dest="mapping_command", required=True)
    suggest_command = verbs.add_parser(
        "suggest", help="print a mapping proposed from a file's header and first rows"
    )
    suggest_command.add_argument("input", type=Path, help="customer CSV export")


def mapping_command(args: argparse.Namespace, out: TextIO) -> int:
    """Print the proposal; InputFileError (exit 1) when the file cannot be read."""
    # Imported here: the parser that this module also serves must not load pandas.
    import pandas as pd

    from customer_etl.stages.extract import RawSample, inspect_file, read_chunks
    from customer_etl.stages.mapping_suggest import render, suggest

    path: Path = args.input
    facts = inspect_file(path, required=())
    sample = RawSample(rows=SAMPLE_ROWS)
    next(iter(read_chunks(path, SAMPLE_ROWS, facts, sample)), None)
    header = list(facts.columns_found)
    frame = sample.frame if sample.frame is not None else pd.DataFrame(columns=header)
    proposal = suggest(header, frame)
    print(render(proposal, path.name), file=out, end="")
    return 0
