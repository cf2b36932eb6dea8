"""The register of data subject requests and the flags every load honours (suppression of
erased people, restriction, objection to marketing): `subject_requests`, `subject_flags`.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

Downgrade drops both tables, and with them the suppression list: a person erased before it
could be loaded again from an old file.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subject_requests",
        sa.Column("request_id", sa.String(40), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("requested_by", sa.Unicode(255), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subject_ref", sa.Unicode(80), nullable=False),
        sa.Column("subject_ref_kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("request_id", name="pk_subject_requests"),
    )
    op.create_index("ix_subject_requests_status", "subject_requests", ["status"])
    op.create_table(
        "subject_flags",
        sa.Column("flag", sa.String(20), nullable=False),
        sa.Column("match_column", sa.String(20), nullable=False),
        sa.Column("match_value", sa.Unicode(80), nullable=False),
        sa.Column("request_id", sa.String(40), nullable=False),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("flag", "match_column", "match_value", name="pk_subject_flags"),
    )


def downgrade() -> None:
    op.drop_table("subject_flags")
    op.drop_index("ix_subject_requests_status", table_name="subject_requests")
    op.drop_table("subject_requests")
