"""Records as the load stage hands them to the warehouse, for the warehouse tests."""

from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd

from customer_etl.core.schema import ENRICHMENT_COLUMNS
from customer_etl.stages.load import prepare_load


def customers(*ids: str, email: str = "a@b.co", **values: Any) -> pd.DataFrame:
    """Validated, enriched records with their content hash, as the load stage gets them."""
    frame = pd.DataFrame(
        {
            "source_row": range(1, len(ids) + 1),
            "customer_id": list(ids),
            "first_name": "Ann",
            "last_name": "Lee",
            "email": email,
            "phone": None,
            "postcode": "SW1A 1AA",
            "company_name": None,
            "company_number": None,
            "date_of_birth": date(1980, 1, 2),
            "signup_date": date(2020, 1, 1),
            "country": "GB",
            "marketing_consent": True,
            "address_line_1": None,
            "address_line_2": None,
            "city": None,
            "county": None,
        }
    )
    for name in ENRICHMENT_COLUMNS:
        frame[name] = None
    frame["latitude"] = frame["longitude"] = float("nan")
    frame["post_town"], frame["enrichment_source"] = "London", "reference"
    for name, value in values.items():
        frame[name] = value
    return prepare_load(frame)
