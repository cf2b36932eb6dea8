"""Check values against the warehouse columns before they reach the database.

SQLite would store a 5,000-character string in a 255-character column; PostgreSQL and SQL
Server would fail the whole statement. Checking here, from the table's own metadata, lets a
value that cannot fit quarantine its row with a reason instead of failing a sub-batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import numpy as np
import pandas as pd
from sqlalchemy import Float, String, Table

from customer_etl.privacy.envelope import TOKEN_PATTERN

Lengths = Callable[[pd.Series], pd.Series]


def characters(values: pd.Series) -> pd.Series:
    """Length in characters (code points): how PostgreSQL and SQLite count VARCHAR(n)."""
    return values.str.len()


def utf16_units(values: pd.Series) -> pd.Series:
    """Length in UTF-16 code units: how SQL Server counts NVARCHAR(n), where a character
    outside the Basic Multilingual Plane (an emoji) takes two."""
    return values.map(lambda text: len(text.encode("utf-16-le")) // 2)


def unfit_reasons(
    frame: pd.DataFrame,
    table: Table,
    columns: Iterable[str],
    lengths: Lengths = characters,
    plaintext_widths: Mapping[str, int] | None = None,
) -> pd.Series:
    """The reason codes (`;`-joined) of the rows that `table` cannot hold, by row label.

    Rows that fit are absent from the result. Codes: `missing_<column>` (NULL in a NOT NULL
    column), `too_long_<column>`, `invalid_text_<column>` (a NUL character, which
    PostgreSQL refuses), `out_of_range_<column>` (an infinite number).

    An encrypted column is as wide as its longest token: a token is checked against the
    column, and a value of it that is not a token (stored in plaintext) against its
    `plaintext_widths` entry, so that turning encryption off does not widen what loads.
    """
    plaintext_widths = plaintext_widths or {}
    failures: dict[str, pd.Series] = {}
    for name in columns:
        column = table.c[name]
        values = frame[name]
        present = values.notna()
        if not column.nullable:
            failures[f"missing_{name}"] = ~present
        if isinstance(column.type, String) and column.type.length:
            text = values[present].astype("string")
            limit: int | np.ndarray = column.type.length
            if name in plaintext_widths:
                tokens = text.str.match(TOKEN_PATTERN).fillna(False).astype(bool).to_numpy()
                limit = np.where(tokens, column.type.length, plaintext_widths[name])
            measured = lengths(text).astype("int64").to_numpy()
            failures[f"too_long_{name}"] = pd.Series(measured > limit, index=text.index)
            failures[f"invalid_text_{name}"] = text.str.contains("\x00", regex=False)
        elif isinstance(column.type, Float):
            numbers = values[present].astype("float64")
            failures[f"out_of_range_{name}"] = pd.Series(~np.isfinite(numbers), numbers.index)
    masks = pd.DataFrame(failures, index=frame.index).fillna(False).astype(bool)
    failing = masks.any(axis=1)
    if not failing.any():
        return pd.Series(dtype=object)
    codes = masks.columns.to_numpy()
    return pd.Series(
        [";".join(codes[row]) for row in masks[failing].to_numpy()],
        index=frame.index[failing.to_numpy()],
        dtype=object,
    )
