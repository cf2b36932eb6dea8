"""The decrypt path's pure part: opening the tokens of customer records with data keys
already unwrapped, and the normal form a lookup value is searched in.

Reading the warehouse is `adapters.warehouse.customer_records` (`CustomerRecords`); this
module knows no database. Its results are personal data: they must never reach a log, a
metric, an alert or a report. A value that is not a token is legacy plaintext (loaded
before encryption) and is returned as it is.

Example:
    >>> lookup_phone("07700 900001")
    '+447700900001'
    >>> lookup_email("  Ada@Example.COM ")
    'ada@example.com'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

import pandas as pd

from customer_etl.core import formats
from customer_etl.core.schema import BUSINESS_KEY, PERSONAL_COLUMNS, FieldType, field
from customer_etl.privacy.envelope import Opener, token_key_id

Record = dict[str, Any]
DEFAULT_PHONE_REGION = "GB"
"""The region a phone number written without an international prefix is read in, as the
validation rules' default region."""
_LOOKUP_PHONE_STRICTNESS = "possible"


def token_key_ids(records: Iterable[Mapping[str, Any]]) -> set[str]:
    """The data key ids the personal values of `records` are sealed under."""
    return {
        key_id
        for record in records
        for column in PERSONAL_COLUMNS
        if isinstance(record.get(column), str)
        and (key_id := token_key_id(record[column])) is not None
    }


def open_records(records: Iterable[Mapping[str, Any]], keys: Mapping[str, bytes]) -> list[Record]:
    """Copies of `records` with their personal values decrypted (dates as dates again);
    `keys` are the unwrapped data keys by id."""
    opener = Opener(keys)
    opened = [dict(record) for record in records]
    for record in opened:
        for column in PERSONAL_COLUMNS:
            if column in record:
                value = opener.open(record[column], column, str(record[BUSINESS_KEY]))
                record[column] = _typed(column, value)
    return opened


def _typed(column: str, value: object) -> object:
    if field(column).type is FieldType.DATE and isinstance(value, str):
        return date.fromisoformat(value)
    return value


def lookup_email(email: str) -> str:
    """An email as the load stored it: trimmed (as the transform does) and lower-cased by
    the validation's own `formats.email`."""
    normalised, _ = formats.email(pd.Series([email.strip()], dtype=object))
    return str(normalised.iloc[0])


def lookup_phone(phone: str, region: str = DEFAULT_PHONE_REGION) -> str:
    """A phone number as the load stored it: E.164 by the validation's own `formats.phones`
    (`07700 900001` in GB is `+447700900001`); a number it cannot read is returned trimmed,
    to match a legacy value stored as it came."""
    text = phone.strip()
    normalised, invalid = formats.phones(
        pd.Series([text], dtype=object),
        pd.Series([region], dtype=object),
        _LOOKUP_PHONE_STRICTNESS,
    )
    return text if bool(invalid.iloc[0]) else str(normalised.iloc[0])
