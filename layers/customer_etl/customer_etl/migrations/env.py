"""Alembic's entry point: runs the migrations on the connection `customer-etl` hands over.

The connection comes from `config.attributes["connection"]` (see
`customer_etl.adapters.warehouse.schema`), so migrations use the same engine settings, the
same credentials by reference and the same SQLite transaction fix as the loads.
"""

from __future__ import annotations

from alembic import context

from customer_etl.adapters.warehouse.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the migrations with `customer-etl db upgrade`, not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot ALTER most things in place: batch mode copies the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
