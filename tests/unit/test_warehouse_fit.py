from __future__ import annotations

import pandas as pd

from customer_etl.adapters.warehouse.fit import characters, unfit_reasons, utf16_units
from customer_etl.adapters.warehouse.tables import customers


def test_values_that_the_columns_cannot_hold_are_named_by_reason() -> None:
    frame = pd.DataFrame(
        {
            "customer_id": ["ok", "long", None, "nul"],
            "country": ["GB", "GBR", "GB", "G\x00"],
            "latitude": [51.5, None, float("inf"), 0.0],
        },
        index=[10, 11, 12, 13],
    )
    reasons = unfit_reasons(frame, customers, ["customer_id", "country", "latitude"])
    assert reasons.to_dict() == {
        11: "too_long_country",
        12: "missing_customer_id;out_of_range_latitude",
        13: "invalid_text_country",
    }


def test_sql_server_counts_characters_outside_the_basic_plane_twice() -> None:
    # country is NVARCHAR(2): a letter and an emoji are two characters for PostgreSQL, three
    # UTF-16 units for SQL Server.
    frame = pd.DataFrame({"country": ["G\N{GRINNING FACE}"]})
    assert unfit_reasons(frame, customers, ["country"], characters).empty
    assert unfit_reasons(frame, customers, ["country"], utf16_units).to_dict() == {
        0: "too_long_country"
    }
