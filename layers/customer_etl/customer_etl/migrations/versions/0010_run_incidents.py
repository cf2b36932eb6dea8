"""The incident a run's failure opened, in its `etl_runs` row (`incident`: the number people
use, INC0010001 or OPS-12), so that the period reports can name it without reading each
run's folder; and the run's enrichment API calls and errors (`api_calls`, `api_errors`), so
that the forecasts can follow each source's API error rate.

Revision ID: 0010
Revises: 0012
Create Date: 2026-12-04

Rows written before stay NULL: their incidents, if any, are in the runs' `incident.json`;
their API figures in their `summary.json`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0012"
branch_labels = None
depends_on = None

# Written out: a migration is a snapshot and must not follow later code.
_INCIDENT = sa.String(100)


def upgrade() -> None:
    with op.batch_alter_table("etl_runs") as batch:
        batch.add_column(sa.Column("incident", _INCIDENT, nullable=True))
        batch.add_column(sa.Column("api_calls", sa.Integer, nullable=True))
        batch.add_column(sa.Column("api_errors", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("etl_runs") as batch:
        batch.drop_column("api_errors")
        batch.drop_column("api_calls")
        batch.drop_column("incident")
