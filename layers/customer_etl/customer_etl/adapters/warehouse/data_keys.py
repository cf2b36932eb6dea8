"""The `data_keys` table: each run's data key, wrapped by the key-encryption key.

Reads for the decrypt path, the insert of the load, and the one-row-at-a-time rewrap of a
key rotation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import inspect, select, update
from sqlalchemy.engine import Connection

from customer_etl.adapters.warehouse.tables import data_keys
from customer_etl.core.ports import DataKey


@dataclass(frozen=True)
class StoredDataKey:
    """One row of `data_keys`: never the plaintext key."""

    data_key_id: str
    wrapped_key: bytes
    kek_id: str
    kek_version: str
    run_id: str


def insert_data_key(
    connection: Connection, data_key_id: str, key: DataKey, run_id: str, now: datetime
) -> None:
    connection.execute(
        data_keys.insert().values(
            data_key_id=data_key_id,
            wrapped_key=key.wrapped,
            kek_id=key.kek_id,
            kek_version=key.kek_version,
            created_at=now,
            run_id=run_id,
        )
    )


def _stored(row: object) -> StoredDataKey:
    mapping = row._mapping  # type: ignore[attr-defined]
    return StoredDataKey(
        data_key_id=mapping["data_key_id"],
        wrapped_key=bytes(mapping["wrapped_key"]),
        kek_id=mapping["kek_id"],
        kek_version=mapping["kek_version"],
        run_id=mapping["run_id"],
    )


def read_data_keys(connection: Connection, ids: Iterable[str]) -> list[StoredDataKey]:
    """The rows of the given data key ids (unknown ids are absent)."""
    wanted = sorted(set(ids))
    if not wanted:
        return []
    query = select(data_keys).where(data_keys.c.data_key_id.in_(wanted))
    return [_stored(row) for row in connection.execute(query)]


def kek_ids(connection: Connection) -> frozenset[str]:
    """The key-encryption keys the stored data keys are wrapped under; empty when there is
    none, or no `data_keys` table yet (a warehouse from before encryption)."""
    if not inspect(connection).has_table(data_keys.name):
        return frozenset()
    query = select(data_keys.c.kek_id).distinct()
    return frozenset(str(row[0]) for row in connection.execute(query))


def keys_not_under(connection: Connection, kek_id: str, kek_version: str) -> list[str]:
    """Ids of the data keys wrapped under another key-encryption key or version, in a
    stable order: what a rotation still has to rewrap."""
    query = (
        select(data_keys.c.data_key_id)
        .where((data_keys.c.kek_id != kek_id) | (data_keys.c.kek_version != kek_version))
        .order_by(data_keys.c.data_key_id)
    )
    return [str(row[0]) for row in connection.execute(query)]


def run_data_key(connection: Connection, run_id: str) -> StoredDataKey | None:
    """The first data key stored for `run_id`: the one every later chunk of the run reuses."""
    query = (
        select(data_keys)
        .where(data_keys.c.run_id == run_id)
        .order_by(data_keys.c.created_at, data_keys.c.data_key_id)
        .limit(1)
    )
    row = connection.execute(query).first()
    return _stored(row) if row is not None else None


def read_data_key(connection: Connection, data_key_id: str) -> StoredDataKey | None:
    found = read_data_keys(connection, [data_key_id])
    return found[0] if found else None


def replace_wrap(
    connection: Connection,
    before: StoredDataKey,
    wrapped: bytes,
    kek_id: str,
    kek_version: str,
    now: datetime,
) -> bool:
    """Store a new wrap of a data key, if no one changed the row since `before` was read
    (a concurrent rotation); whether this call changed it."""
    result = connection.execute(
        update(data_keys)
        .where(data_keys.c.data_key_id == before.data_key_id)
        .where(data_keys.c.kek_version == before.kek_version)
        .where(data_keys.c.kek_id == before.kek_id)
        .values(wrapped_key=wrapped, kek_id=kek_id, kek_version=kek_version, rotated_at=now)
    )
    return bool(result.rowcount)
