"""Read the warehouse's customers in plaintext, through the decrypt path tooling uses."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import select

from customer_etl.adapters.keys_local import LocalKeyFile
from customer_etl.adapters.warehouse import SqlWarehouse
from customer_etl.adapters.warehouse.tables import customers
from customer_etl.privacy.access import open_records


def plaintext_customers(warehouse_url: str, key_file: Path | None = None) -> list[dict[str, Any]]:
    """Every customer row with its personal values decrypted, ordered by customer id;
    the key file defaults to the one the tests' configuration points to."""
    path = key_file or Path(os.environ["CUSTOMER_ETL__ENCRYPTION__KEY_FILE"])
    warehouse = SqlWarehouse(warehouse_url)
    try:
        with warehouse.connect() as connection:
            rows = connection.execute(
                select(customers).order_by(customers.c.customer_id)
            ).mappings()
            return open_records(list(rows), connection, LocalKeyFile(path))
    finally:
        warehouse.dispose()
