"""Key rotation over `data_keys`: rewrap every stored data key under the current version.

Only the data keys are rewrapped, never the values: a value is sealed by its data key,
which does not change; what a rotation retires is the key-encryption key that wraps it.
Each data key is rewrapped in a transaction of its own, compared and swapped (the row is
changed only if it is still as it was read), so an interruption or a concurrent rotation
loses nothing: a row is under the old version or the new one, and a rerun carries on with
the rows still under an old one (it starts a new version only when none is left).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.adapters.warehouse.data_keys import keys_not_under, read_data_key, replace_wrap
from customer_etl.observability.telemetry import logger
from customer_etl.privacy.envelope import data_key_context


class RotatingKeys(Protocol):
    """What a rotation needs of the key provider (the local key file and KMS have it)."""

    def current_version(self) -> tuple[str, str]: ...

    def add_version(self, after: str | None = None) -> tuple[str, str]: ...

    def rewrap(
        self, wrapped: bytes, kek_version: str, context: Mapping[str, str]
    ) -> tuple[bytes, str]: ...


@dataclass(frozen=True)
class RotationResult:
    kek_id: str
    kek_version: str
    rewrapped: int
    new_version: bool
    """True when this run started a new key version; False when it finished wraps still
    under an older one (an interrupted rotation, or a newly configured KMS key) or the
    provider had no version to add (KMS rotates its material itself)."""


def rotate_data_keys(
    warehouse: SqlWarehouse,
    keys: RotatingKeys,
    *,
    after_each: Callable[[int], None] | None = None,
) -> RotationResult:
    """Rewrap every data key not under the current key version; `after_each(n)` is called
    after the n-th committed rewrap (tests interrupt a rotation with it)."""
    warehouse.check_schema()
    kek_id, version = keys.current_version()
    with warehouse.connect() as connection:
        pending = keys_not_under(connection, kek_id, version)
    new_version = False
    if not pending:
        # `after`: a rotation that started meanwhile has added a version; refuse a second.
        added_id, added = keys.add_version(after=version)
        new_version = (added_id, added) != (kek_id, version)
        kek_id, version = added_id, added
        with warehouse.connect() as connection:
            pending = keys_not_under(connection, kek_id, version)
    rewrapped = 0
    for data_key_id in pending:
        with warehouse.connect() as connection, connection.begin():
            before = read_data_key(connection, data_key_id)
            if before is None or (before.kek_id, before.kek_version) == (kek_id, version):
                continue  # deleted, or rewrapped by a concurrent rotation
            wrapped, wrapped_version = keys.rewrap(
                before.wrapped_key, before.kek_version, data_key_context(data_key_id)
            )
            if replace_wrap(
                connection, before, wrapped, kek_id, wrapped_version, datetime.now(UTC)
            ):
                rewrapped += 1
        if after_each is not None:
            after_each(rewrapped)
    logger.info(
        "data keys rotated",
        extra={"kek_version": version, "rewrapped": rewrapped, "new_version": new_version},
    )
    return RotationResult(kek_id, version, rewrapped, new_version)
