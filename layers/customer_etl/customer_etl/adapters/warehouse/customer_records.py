"""The decrypt path over the warehouse: customer records in plaintext, for authorised
tooling only (subject access, retention).

It reads `customers`, unwraps the data keys the tokens name (one key-provider call per
distinct data key, not per value) and opens each token with `privacy.access`. Its results
must never reach a log, a metric, an alert or a report; its errors name data key ids and
columns, never values.

Example (the warehouse and key provider of a configuration):
    >>> records = CustomerRecords(warehouse, keys, index_key)  # doctest: +SKIP
    >>> records.find_by_phone("07700 900001")  # doctest: +SKIP
    [{'customer_id': 'C1', 'phone': '+447700900001', ...}]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.adapters.warehouse.data_keys import read_data_keys
from customer_etl.adapters.warehouse.tables import customers
from customer_etl.core.ports import KeyProvider
from customer_etl.core.schema import BUSINESS_KEY
from customer_etl.privacy import access
from customer_etl.privacy.access import DEFAULT_PHONE_REGION, Record
from customer_etl.privacy.blind_index import digest
from customer_etl.privacy.envelope import DecryptionError, data_key_context


def open_records(
    rows: Iterable[Mapping[Any, Any]], connection: Connection, keys: KeyProvider
) -> list[Record]:
    """`customers` rows with their personal values decrypted (dates as dates again)."""
    records = [dict(row) for row in rows]
    wanted = access.token_key_ids(records)
    stored = {key.data_key_id: key for key in read_data_keys(connection, wanted)}
    missing = wanted - stored.keys()
    if missing:
        raise DecryptionError(f"data keys {', '.join(sorted(missing))} are not in `data_keys`")
    unwrapped = {
        key_id: keys.unwrap(key.wrapped_key, key.kek_version, data_key_context(key_id))
        for key_id, key in stored.items()
    }
    return access.open_records(records, unwrapped)


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
        """The records whose email matches, normalised as the validation normalises it, found
        by the blind index without decrypting the table. Rows loaded before encryption have
        no index and are matched by their plaintext."""
        return self._find("email", access.lookup_email(email))

    def find_by_phone(self, phone: str, region: str = DEFAULT_PHONE_REGION) -> list[Record]:
        """As `find_by_email`, for a phone number read as the validation reads it: E.164,
        with `region` for a number written without an international prefix."""
        return self._find("phone", access.lookup_phone(phone, region))

    def _find(self, column: str, stored_form: str) -> list[Record]:
        if self._index_key is None:
            raise DecryptionError("finding by a blind index needs the blind-index key")
        index = customers.c[f"{column}_bidx"]
        legacy = index.is_(None) & (customers.c[column] == stored_form)
        return self._read((index == digest(stored_form, self._index_key, column)) | legacy)
