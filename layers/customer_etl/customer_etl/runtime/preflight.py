"""What a local run checks before its first stage: everything it will need later.

Without these checks a missing key file was found at the load, after three stages had run,
and an unreachable warehouse after the file had been read, validated and enriched. Each
check raises the error the stage would have raised, with the same sentence, so the run
fails the way it would have failed, only sooner (one line, exit 1, resumable):

- the input (unless extract already finished): a file, not a folder, and readable;
- the runs folder: written by the run's first save, just before these checks;
- the warehouse: reachable, with a schema this version can use (upgraded first where
  `warehouse.auto_upgrade` says so). A warehouse locked by another writer is no reason to
  stop: the load waits for its turn, so it gets a warning and the run goes on;
- the keys: the field protection the load will seal with, built now, which reads the key
  file (and refuses a missing or foreign one once the warehouse holds data keys) or checks
  the KMS settings.
"""

from __future__ import annotations

from customer_etl.core.errors import InputFileError, WarehouseUnavailableError
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
