"""Field-level encryption: personal columns wide enough for tokens, blind indexes on email
and phone, and the `data_keys` table of wrapped data keys.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

Rows already in the table stay plaintext until a load rewrites them (the decrypt path reads
a value that is not a token as legacy plaintext); a date of birth becomes its ISO text.
Downgrade only works while no token is stored: a token does not fit the old widths.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TIMESTAMP = sa.DateTime(timezone=True)

# name, type before, width of its token (envelope.token_length of the plaintext width),
# nullable. Written out: a migration is a snapshot and must not follow later code.
_PERSONAL: tuple[tuple[str, sa.types.TypeEngine[Any], int, bool], ...] = (
    ("first_name", sa.Unicode(100), 594, False),
    ("last_name", sa.Unicode(100), 594, False),
    ("email", sa.Unicode(254), 1415, False),
    ("phone", sa.Unicode(32), 231, True),
    ("postcode", sa.Unicode(8), 103, False),
    ("date_of_birth", sa.Date(), 114, True),
)


def _as_text(name: str) -> str:
    """PostgreSQL's cast of a column to text. A date in ISO form whatever the session's
    DateStyle (`::text` would give `02/01/1980` under `SQL, DMY`), as the decrypt path reads
    it. (SQL Server converts a `date` to text in ISO form already; SQLite stores it so.)"""
    if name == "date_of_birth":
        return "to_char(date_of_birth, 'YYYY-MM-DD')"
    return f"{name}::text"


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        for name, before, width, nullable in _PERSONAL:
            batch.alter_column(
                name,
                existing_type=before,
                type_=sa.Unicode(width),
                existing_nullable=nullable,
                postgresql_using=_as_text(name),
            )
        batch.add_column(sa.Column("email_bidx", sa.String(64)))
        batch.add_column(sa.Column("phone_bidx", sa.String(64)))
    op.create_index("ix_customers_email_bidx", "customers", ["email_bidx"])
    op.create_index("ix_customers_phone_bidx", "customers", ["phone_bidx"])

    op.create_table(
        "data_keys",
        sa.Column("data_key_id", sa.String(16), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("kek_id", sa.String(256), nullable=False),
        sa.Column("kek_version", sa.String(256), nullable=False),
        sa.Column("created_at", _TIMESTAMP, nullable=False),
        sa.Column("run_id", sa.String(80), nullable=False),
        sa.Column("rotated_at", _TIMESTAMP),
        sa.PrimaryKeyConstraint("data_key_id", name="pk_data_keys"),
    )


def downgrade() -> None:
    # SQLite's batch mode copies the rebuilt table with CAST(date_of_birth AS DATE), which
    # SQLite reads as a number: '1980-01-02' would become 1980. The ISO texts are kept
    # aside and put back (a DATE column keeps a text that is not a number as it is).
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute(
            "CREATE TEMPORARY TABLE birth_dates_0002 AS "
            "SELECT customer_id, date_of_birth FROM customers"
        )
    op.drop_table("data_keys")
    op.drop_index("ix_customers_phone_bidx", table_name="customers")
    op.drop_index("ix_customers_email_bidx", table_name="customers")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("phone_bidx")
        batch.drop_column("email_bidx")
        for name, before, width, nullable in _PERSONAL:
            batch.alter_column(
                name,
                existing_type=sa.Unicode(width),
                type_=before,
                existing_nullable=nullable,
                postgresql_using=f"{name}::{'date' if name == 'date_of_birth' else 'text'}",
            )
    if sqlite:
        op.execute(
            "UPDATE customers SET date_of_birth = (SELECT kept.date_of_birth "
            "FROM birth_dates_0002 AS kept WHERE kept.customer_id = customers.customer_id)"
        )
        op.execute("DROP TABLE birth_dates_0002")
