"""Legal holds and retention that acts: `legal_holds` (a hold by customer id, data class or
run), `legal_hold_events` (their audit rows, by hold id) and `retention_actions` (what each
retention job did, by class and store, as counts).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

New tables only: downgrade drops them, and with them the record of the holds and of past
retention jobs (export them first).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Written out: a migration is a snapshot and must not follow later code.
_RUN_ID = sa.String(80)
_TARGET = sa.Unicode(80)
_TEXT = sa.Unicode(500)
_PERSON = sa.Unicode(120)
_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "legal_holds",
        sa.Column("hold_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(20), nullable=False),
        sa.Column("target", _TARGET, nullable=False),
        sa.Column("reason", _TEXT, nullable=False),
        sa.Column("owner", _PERSON, nullable=False),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("until", _WHEN),
        sa.Column("released_at", _WHEN),
        sa.Column("released_by", _PERSON),
        sa.Column("release_reason", _TEXT),
    )
    op.create_index("ix_legal_holds_scope_target", "legal_holds", ["scope", "target"])
    op.create_table(
        "legal_hold_events",
        sa.Column("event_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("hold_id", sa.Integer, nullable=False),
        sa.Column("event", sa.String(20), nullable=False),
        sa.Column("actor", _PERSON, nullable=False),
        sa.Column("reason", _TEXT),
        sa.Column("recorded_at", _WHEN, nullable=False),
    )
    op.create_index("ix_legal_hold_events_hold_id", "legal_hold_events", ["hold_id"])
    op.create_table(
        "retention_actions",
        sa.Column("action_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_run_id", _RUN_ID, nullable=False),
        sa.Column("recorded_at", _WHEN, nullable=False),
        sa.Column("retention_class", sa.String(40), nullable=False),
        sa.Column("store", sa.String(40), nullable=False),
        sa.Column("rule", sa.Unicode(200), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("records", sa.Integer, nullable=False),
        sa.Column("held", sa.Integer, nullable=False),
    )
    op.create_index("ix_retention_actions_job_run_id", "retention_actions", ["job_run_id"])


def downgrade() -> None:
    op.drop_index("ix_retention_actions_job_run_id", table_name="retention_actions")
    op.drop_table("retention_actions")
    op.drop_index("ix_legal_hold_events_hold_id", table_name="legal_hold_events")
    op.drop_table("legal_hold_events")
    op.drop_index("ix_legal_holds_scope_target", table_name="legal_holds")
    op.drop_table("legal_holds")
