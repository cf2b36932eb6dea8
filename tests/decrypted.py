"""Read the warehouse's customers in plaintext, through the decrypt path tooling uses; and
build a warehouse as a version before encryption left it, for the decrypt path to read."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from alembic import command
from sqlalchemy import MetaData, Table, create_engine, select, text

from customer_etl.adapters.keys_local import LocalKeyFile
from customer_etl.adapters.warehouse import SqlWarehouse, schema
from customer_etl.adapters.warehouse.customer_records import open_records
from customer_etl.adapters.warehouse.tables import customers


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


def plaintext_warehouse(warehouse_url: str, records: pd.DataFrame) -> None:
    """An empty database brought to revision 0001 (before encryption) holding `records`
    (with their content hashes) in plaintext, as a load of that version left them."""
    engine = create_engine(warehouse_url)
    try:
        with engine.begin() as connection:
            command.upgrade(schema.alembic_config(connection), "0001")
            table = Table("customers", MetaData(), autoload_with=connection)
            now, run_id = datetime.now(UTC), "run-0001"
            stamps = {"first_seen_at": now, "last_updated_at": now, "last_seen_at": now}
            values = records.astype(object).where(records.notna(), None)
            rows = [
                {column.name: row[column.name] for column in table.columns if column.name in row}
                | stamps
                | {"last_run_id": run_id}
                for row in values.to_dict("records")
            ]
            connection.execute(table.insert(), rows)
    finally:
        engine.dispose()


def upgrade_in_session(warehouse_url: str, session_settings: str = "") -> None:
    """Upgrade to the latest revision in one session, after `session_settings` (SQL run
    first, such as a PostgreSQL `SET DateStyle`)."""
    engine = create_engine(warehouse_url)
    try:
        with engine.begin() as connection:
            if session_settings:
                connection.execute(text(session_settings))
            schema.upgrade(connection)
    finally:
        engine.dispose()
