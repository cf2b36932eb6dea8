"""What a local run checks before its first stage: everything it will need later.

Without these checks a missing key file was found at the load, after three stages had run,
and an unreachable warehouse after the file had been read, validated and enriched. Each
check raises the error the stage would have raised, with the same sentence, so the run
fails the way it would have failed, only sooner (one line, exit 1, resumable):

- the input (unless extract already finished): a file, not a folder, and readable;
- the runs folder: created before the run is (`check_runs_folder`: a run that cannot write
  its folder could not be resumed either), then written by the run's first save;
- the warehouse: reachable, with a schema this version can use (upgraded first where
  `warehouse.auto_upgrade` says so). A warehouse locked by another writer is no reason to
  stop: the load waits for its turn, so it gets a warning and the run goes on;
- the keys: the field protection the load will seal with, built now, which reads the key
  file (and refuses a missing or foreign one once the warehouse holds data keys) or checks
  the KMS settings.
"""

from __future__ import annotations

from pathlib import Path

from customer_etl.adapters.files import output_write_error
from customer_etl.adapters.private_files import private_folder
from customer_etl.core.errors import InputFileError, OutputWriteError, WarehouseUnavailableError
from customer_etl.core.manifest import RunManifest
from customer_etl.observability.telemetry import logger
from customer_etl.run.pipeline import Ports

LOCKED = "locked"
PROBE_BYTES = 1


def check_before_stages(manifest: RunManifest, ports: Ports) -> None:
    """Raise the first problem found (a CustomerEtlError that says what to do)."""
    if "extract" not in manifest.stages:
        check_input(manifest, ports)
    check_warehouse(ports)
    ports.protection()  # cached: the load uses this same instance


def check_input(manifest: RunManifest, ports: Ports) -> None:
    """The input store refuses a missing file or a folder; reading its first byte finds a
    file this process may not read."""
    path = ports.inputs.fetch(manifest.source_uri, manifest.source_version)
    try:
        with path.open("rb") as handle:
            handle.read(PROBE_BYTES)
    except OSError as error:
        # The class, not the text: the text repeats the path, which is said already.
        raise InputFileError(
            f"input file {path.name} cannot be read ({type(error).__name__}): check its permissions"
        ) from None


def check_warehouse(ports: Ports) -> None:
    try:
        ports.warehouse().check_schema()
    except WarehouseUnavailableError as error:
        if error.kind != LOCKED:
            raise
        logger.warning(
            "warehouse locked by another writer; the load will wait for its turn",
            extra={"kind": error.kind},
        )


def check_runs_folder(root: Path) -> None:
    """The runs folder exists or can be created (a full disk or a read-only mount is named
    by `output_write_error`; a file in the way, or any other reason, by its class)."""
    try:
        private_folder(root)  # owner-only: it holds every run's personal data
    except OSError as error:
        failure = output_write_error(root, error)
        if isinstance(failure, OutputWriteError):
            raise failure from None
        raise OutputWriteError(
            f"runs folder {root} cannot be created ({type(error).__name__}): give --runs a "
            "folder this account can write",
            "os_error",
        ) from None
