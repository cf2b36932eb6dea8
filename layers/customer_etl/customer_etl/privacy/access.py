"""The decrypt path: customer records in plaintext, for authorised tooling only.

Only subject-access and retention tooling may call this module; its results must never
reach a log, a metric, an alert or a report. It reads the warehouse, unwraps the data keys
the tokens name (one key-provider call per distinct data key, not per value) and opens
each token with its table, column and record key as associated data. A value that is not
a token is legacy plaintext (loaded before encryption) and is returned as it is.

Example (the warehouse and key provider of a configuration):
    >>> records = CustomerRecords(warehouse, keys, index_key)  # doctest: +SKIP
    >>> records.find_by_email("Ada@Example.com")  # doctest: +SKIP
    [{'customer_id': 'C1', 'email': 'ada@example.com', ...}]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.adapters.warehouse.data_keys import read_data_keys
from customer_etl.adapters.warehouse.tables import customers
from customer_etl.ports import KeyProvider
from customer_etl.privacy.blind_index import digest, normalise
from customer_etl.privacy.envelope import DecryptionError, Opener, data_key_context, token_key_id
from customer_etl.schema import BUSINESS_KEY, PERSONAL_COLUMNS, FieldType, field

Record = dict[str, Any]


def open_records(
    rows: Iterable[Mapping[Any, Any]], connection: Connection, keys: KeyProvider
) -> list[Record]:
    """`customers` rows with their personal values decrypted (dates as dates again)."""
    records = [dict(row) for row in rows]
    wanted = {
        key_id
        for record in records
        for column in PERSONAL_COLUMNS
        if isinstance(record.get(column), str)
        and (key_id := token_key_id(record[column])) is not None
    }
    stored = {key.data_key_id: key for key in read_data_keys(connection, wanted)}
    missing = wanted - stored.keys()
    if missing:
        raise DecryptionError(f"data keys {', '.join(sorted(missing))} are not in `data_keys`")
    opener = Opener(
        {
            key_id: keys.unwrap(key.wrapped_key, key.kek_version, data_key_context(key_id))
            for key_id, key in stored.items()
        }
    )
    for record in records:
        for column in PERSONAL_COLUMNS:
            if column in record:
                value = opener.open(record[column], column, str(record[BUSINESS_KEY]))
                record[column] = _typed(column, value)
    return records


def _typed(column: str, value: object) -> object:
    if field(column).type is FieldType.DATE and isinstance(value, str):
        return date.fromisoformat(value)
    return value


class CustomerRecords:
    """Find and decrypt customer records: subject access and retention tooling only."""

    def __init__(
        self, warehouse: SqlWarehouse, keys: KeyProvider, index_key: bytes | None = None
    ) -> None:
        self._warehouse = warehouse
        self._keys = keys
        self._index_key = index_key

    def _read(self, condition: Any) -> list[Record]:
        self._warehouse.check_schema()
        with self._warehouse.connect() as connection:
            rows = connection.execute(select(customers).where(condition)).mappings().all()
            return open_records(rows, connection, self._keys)

    def record(self, customer_id: str) -> Record | None:
        """One customer's record in plaintext; None if there is none."""
        found = self._read(customers.c[BUSINESS_KEY] == customer_id)
        return found[0] if found else None

    def find_by_email(self, email: str) -> list[Record]:
        """The records whose email matches (after normalisation), found by the blind index
        without decrypting the table. Rows loaded before encryption have no index and are
        matched by their plaintext."""
        return self._find("email", email)

    def find_by_phone(self, phone: str) -> list[Record]:
        return self._find("phone", phone)

    def _find(self, column: str, value: str) -> list[Record]:
        if self._index_key is None:
            raise DecryptionError("finding by a blind index needs the blind-index key")
        index = customers.c[f"{column}_bidx"]
        legacy = index.is_(None) & (customers.c[column] == normalise(value, column))
        return self._read((index == digest(value, self._index_key, column)) | legacy)
