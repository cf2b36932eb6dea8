"""Addresses in the canonical record, and company names as personal data: the address
columns (`address_line_1`, `address_line_2`, `city`, `county`) and `company_name` are as
wide as the encryption token of their longest value, like the other personal columns
(0002).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

Company names loaded before stay plaintext until a load rewrites their row (the decrypt
path reads a value that is not a token as legacy plaintext). Downgrade drops the address
columns and their values, and only works while no company-name token is stored (a token
does not fit the old width).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# name, width of its token (envelope.token_length of the plaintext width). Written out: a
# migration is a snapshot and must not follow later code.
_ADDRESS: tuple[tuple[str, int], ...] = (
    ("address_line_1", 1127),
    ("address_line_2", 1127),
    ("city", 594),
    ("county", 594),
)
_COMPANY_NAME_BEFORE = sa.Unicode(200)
_COMPANY_NAME_TOKEN = sa.Unicode(1127)


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        for name, width in _ADDRESS:
            batch.add_column(sa.Column(name, sa.Unicode(width), nullable=True))
        batch.alter_column(
            "company_name", existing_type=_COMPANY_NAME_BEFORE, type_=_COMPANY_NAME_TOKEN
        )


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.alter_column(
            "company_name", existing_type=_COMPANY_NAME_TOKEN, type_=_COMPANY_NAME_BEFORE
        )
        for name, _ in reversed(_ADDRESS):
            batch.drop_column(name)
