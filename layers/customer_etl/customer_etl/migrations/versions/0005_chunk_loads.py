"""The chunk as the unit of load: `etl_chunk_loads`, one row per chunk of a run committed
with the chunk's rows, so a chunk loaded twice changes nothing; `customer_changes.chunk`, so
a chunk's audit rows can be counted on their own; `etl_runs.attempts`.

Revision ID: 0005
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None

_RUN_ID = sa.String(80)


def upgrade() -> None:
    op.create_table(
        "etl_chunk_loads",
        sa.Column("run_id", _RUN_ID, primary_key=True),
        sa.Column("chunk", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("report", sa.Text, nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("customer_changes") as table:
        table.add_column(sa.Column("chunk", sa.Integer, nullable=True))
    with op.batch_alter_table("etl_runs") as table:
        table.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("etl_runs") as table:
        table.drop_column("attempts")
    with op.batch_alter_table("customer_changes") as table:
        table.drop_column("chunk")
    op.drop_table("etl_chunk_loads")
