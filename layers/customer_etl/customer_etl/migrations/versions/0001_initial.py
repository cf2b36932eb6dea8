"""The first warehouse schema: customers, etl_runs and the customer_changes audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

The columns are written out rather than taken from `tables.py`: a migration is a snapshot of
one revision and must build the same tables however the metadata changes later.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("customer_id", sa.Unicode(64), nullable=False),
        sa.Column("first_name", sa.Unicode(100), nullable=False),
        sa.Column("last_name", sa.Unicode(100), nullable=False),
        sa.Column("email", sa.Unicode(254), nullable=False),
        sa.Column("phone", sa.Unicode(32)),
        sa.Column("postcode", sa.Unicode(8), nullable=False),
        sa.Column("company_name", sa.Unicode(200)),
        sa.Column("company_number", sa.Unicode(8)),
        sa.Column("date_of_birth", sa.Date()),
        sa.Column("signup_date", sa.Date(), nullable=False),
        sa.Column("country", sa.Unicode(2), nullable=False),
        sa.Column("marketing_consent", sa.Boolean(), nullable=False),
        sa.Column("post_town", sa.Unicode(100)),
        sa.Column("region", sa.Unicode(100)),
        sa.Column("admin_district", sa.Unicode(100)),
        sa.Column("postcode_country", sa.Unicode(50)),
        sa.Column("latitude", sa.Float()),
        sa.Column("longitude", sa.Float()),
        sa.Column("enrichment_source", sa.Unicode(20), nullable=False),
        sa.Column("company_status", sa.Unicode(40)),
        sa.Column("company_type", sa.Unicode(60)),
        sa.Column("sic_codes", sa.Unicode(60)),
        sa.Column("incorporation_date", sa.Date()),
        sa.Column("company_enrichment_source", sa.Unicode(20)),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("first_seen_at", _TIMESTAMP, nullable=False),
        sa.Column("last_updated_at", _TIMESTAMP, nullable=False),
        sa.Column("last_seen_at", _TIMESTAMP, nullable=False),
        sa.Column("last_run_id", sa.String(80), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name="pk_customers"),
    )
    op.create_index("ix_customers_last_seen_at", "customers", ["last_seen_at"])

    op.create_table(
        "etl_runs",
        sa.Column("run_id", sa.String(80), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("source_file", sa.Unicode(255), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("rows_in", sa.Integer(), nullable=False),
        sa.Column("rows_loaded", sa.Integer(), nullable=False),
        sa.Column("rows_quarantined", sa.Integer(), nullable=False),
        sa.Column("rows_deleted", sa.Integer(), nullable=False),
        sa.Column("started_at", _TIMESTAMP, nullable=False),
        sa.Column("finished_at", _TIMESTAMP),
        sa.Column("error", sa.Text()),
        sa.PrimaryKeyConstraint("run_id", name="pk_etl_runs"),
    )

    op.create_table(
        "customer_changes",
        sa.Column("run_id", sa.String(80), nullable=False),
        sa.Column("customer_id", sa.Unicode(64), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("before_hash", sa.String(64)),
        sa.Column("after_hash", sa.String(64), nullable=False),
        sa.Column("recorded_at", _TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "customer_id", name="pk_customer_changes"),
    )
    op.create_index("ix_customer_changes_customer_id", "customer_changes", ["customer_id"])


def downgrade() -> None:
    op.drop_table("customer_changes")
    op.drop_table("etl_runs")
    op.drop_table("customers")
