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


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        for name, before, width, nullable in _PERSONAL:
            batch.alter_column(
                name,
                existing_type=before,
                type_=sa.Unicode(width),
                existing_nullable=nullable,
                postgresql_using=f"{name}::text",
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
