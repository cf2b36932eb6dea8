"""Who started each run: `etl_runs.triggered_by` (the local account, or the S3 requester or
operator identity of a cloud execution), for the audit report.

Revision ID: 0012
Revises: 0009
Create Date: 2026-12-04

Runs recorded before keep NULL (shown as "not recorded"). Downgrade drops the column.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0009"
branch_labels = None
depends_on = None

_WIDTH = 200  # written out: a migration is a snapshot and must not follow later code


def upgrade() -> None:
    with op.batch_alter_table("etl_runs") as batch:
        batch.add_column(sa.Column("triggered_by", sa.Unicode(_WIDTH), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("etl_runs") as batch:
        batch.drop_column("triggered_by")
