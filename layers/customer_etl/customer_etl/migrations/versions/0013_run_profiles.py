"""Each run's column profile (`column_profiles`: per canonical column, the null rate,
distinct ratio, length percentiles and the mix of value shapes by digest, as JSON; figures,
never values) so that the next runs of its source can check their columns for drift; and
its slowest enrichment API's 95th-percentile latency (`api_latency_ms`), so that the
forecasts can follow latency toward the request timeout.

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-04

Rows written before stay NULL: those runs are not part of any drift baseline or latency
trend.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("etl_runs") as batch:
        batch.add_column(sa.Column("column_profiles", sa.Text, nullable=True))
        batch.add_column(sa.Column("api_latency_ms", sa.Float, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("etl_runs") as batch:
        batch.drop_column("api_latency_ms")
        batch.drop_column("column_profiles")
