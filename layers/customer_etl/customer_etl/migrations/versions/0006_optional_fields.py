"""Required means required by a rule: every customer column but the business key, the
marketing consent and the enrichment source takes NULL, so the warehouse accepts what the
rules accept (a postcode outside the countries that need one, a file without signup dates).
The postcode is as wide as the longest the countries' formats allow (a US ZIP+4 code,
`22162-1010`).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

Downgrade only works while every row has a value in each of these columns.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# name, type before, type after. Written out: a migration is a snapshot and must not follow
# later code. The personal columns are tokens (0002): envelope.token_length of the width.
_NOW_OPTIONAL: tuple[tuple[str, sa.types.TypeEngine[Any], sa.types.TypeEngine[Any]], ...] = (
    ("first_name", sa.Unicode(594), sa.Unicode(594)),
    ("last_name", sa.Unicode(594), sa.Unicode(594)),
    ("email", sa.Unicode(1415), sa.Unicode(1415)),
    ("postcode", sa.Unicode(103), sa.Unicode(114)),
    ("signup_date", sa.Date(), sa.Date()),
    ("country", sa.Unicode(2), sa.Unicode(2)),
)


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        for name, before, after in _NOW_OPTIONAL:
            batch.alter_column(name, existing_type=before, type_=after, nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        for name, before, after in _NOW_OPTIONAL:
            batch.alter_column(name, existing_type=after, type_=before, nullable=False)
