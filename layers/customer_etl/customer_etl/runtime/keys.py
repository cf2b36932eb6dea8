"""`customer-etl keys rotate`: rewrap every stored data key under the current key version.

Only the data keys are rewrapped, never the values: a value is sealed by its data key,
which does not change; what a rotation retires is the key-encryption key that wraps it.
Each data key is rewrapped in a transaction of its own, so an interruption loses nothing:
a row is either under the old version or the new one, and a rerun carries on with the rows
still under an old one (it starts a new version only when none is left).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TextIO

from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.adapters.warehouse.data_keys import keys_not_under, read_data_key, replace_wrap
from customer_etl.config.model import Config
from customer_etl.observability import logger
from customer_etl.ports import KeyProvider
from customer_etl.privacy.envelope import data_key_context
from customer_etl.runtime.factory import build_warehouse
from customer_etl.runtime.protection import key_provider


@dataclass(frozen=True)
class RotationResult:
    kek_id: str
    kek_version: str
    rewrapped: int
    new_version: bool
    """True when this run started a new key version; False when it finished wraps still
    under an older one (an interrupted rotation, or a newly configured KMS key)."""


def rotate_data_keys(
    warehouse: SqlWarehouse,
    keys: KeyProvider,
    *,
    after_each: Callable[[int], None] | None = None,
) -> RotationResult:
    """Rewrap every data key not under the current key version; `after_each(n)` is called
    after the n-th committed rewrap (tests interrupt a rotation with it)."""
    warehouse.check_schema()
    kek_id, version = keys.current_version()
    with warehouse.connect() as connection:
        pending = keys_not_under(connection, kek_id, version)
    new_version = not pending
    if new_version:
        kek_id, version = keys.add_version()
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


def rotate_command(config: Config, out: TextIO) -> int:
    """`customer-etl keys rotate`: prints counts and key versions, never a key."""
    warehouse = build_warehouse(config)
    try:
        result = rotate_data_keys(warehouse, key_provider(config))
    finally:
        warehouse.dispose()
    how = "new key version" if result.new_version else "finished the wraps under older keys"
    print(
        f"keys rotate: {result.rewrapped} data key(s) rewrapped under {result.kek_id} "
        f"version {result.kek_version} ({how})",
        file=out,
    )
    return 0
