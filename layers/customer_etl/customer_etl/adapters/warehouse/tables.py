"""The warehouse tables, as SQLAlchemy Core metadata shared by every dialect.

The database gets these tables from the Alembic migrations in `customer_etl/migrations`, never
from `metadata.create_all`; a test checks that the migrations build exactly this metadata.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Unicode,
)
from sqlalchemy.types import TypeEngine

from customer_etl.core.schema import (
    BUSINESS_KEY,
    CANONICAL_FIELDS,
    ENRICHMENT_FIELDS,
    NOT_NULL_COLUMNS,
    Field,
    FieldType,
    field,
)
from customer_etl.privacy.blind_index import BLIND_INDEXES, DIGEST_CHARS
from customer_etl.privacy.envelope import PLAINTEXT_WIDTHS, token_length

# Named constraints, so that a later migration can drop or alter them by name on every dialect.
metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

RUN_ID_LENGTH = 80
TRIGGER_LENGTH = 200
HASH_LENGTH = 64
ACTIONS = ("inserted", "updated", "unchanged")
"""What a load did to a record, as `customer_changes.action` says it."""


def _column_type(spec: Field) -> TypeEngine[Any]:
    if spec.personal:
        # Personal data is stored as encryption tokens (docs/encryption.md), text as wide as
        # the token of the longest value the field allows; a date of birth too.
        return Unicode(token_length(PLAINTEXT_WIDTHS[spec.name]))
    if spec.type is FieldType.STRING:
        # Unicode is NVARCHAR on SQL Server (VARCHAR there would lose characters outside the
        # server's code page) and VARCHAR on PostgreSQL and SQLite.
        return Unicode(spec.max_length or 255)
    if spec.type is FieldType.DATE:
        return Date()
    if spec.type is FieldType.BOOLEAN:
        return Boolean()
    return Float()


def _record_columns() -> list[Column[Any]]:
    return [
        Column(
            spec.name,
            _column_type(spec),
            primary_key=spec.name == BUSINESS_KEY,
            nullable=spec.name not in NOT_NULL_COLUMNS,
        )
        for spec in (*CANONICAL_FIELDS, *ENRICHMENT_FIELDS)
    ]


RECORD_COLUMNS: tuple[str, ...] = tuple(c.name for c in _record_columns())
"""The columns a record brings to the warehouse (its content)."""
INDEX_COLUMNS: tuple[str, ...] = tuple(BLIND_INDEXES)
"""Blind indexes of encrypted values (`email_bidx`, `phone_bidx`): NULL on a row loaded
without encryption."""

customers = Table(
    "customers",
    metadata,
    *_record_columns(),
    *(Column(name, String(DIGEST_CHARS), index=True) for name in INDEX_COLUMNS),
    Column("content_hash", String(HASH_LENGTH), nullable=False),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("last_updated_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False, index=True),
    Column("last_run_id", String(RUN_ID_LENGTH), nullable=False),
)

etl_runs = Table(
    "etl_runs",
    metadata,
    Column("run_id", String(RUN_ID_LENGTH), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("source_file", Unicode(255), nullable=False),
    Column("status", String(20), nullable=False),
    Column("rows_in", Integer, nullable=False),
    Column("rows_loaded", Integer, nullable=False),
    Column("rows_quarantined", Integer, nullable=False),
    Column("rows_deleted", Integer, nullable=False, default=0),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("error", Text),
    Column("attempts", Integer, nullable=False, server_default="1"),
    # Who started the run (an account or principal, never a customer's data); NULL before 0012.
    Column("triggered_by", Unicode(TRIGGER_LENGTH)),
    # The number of the incident the run's failure opened (schema 0010; NULL before, or none).
    Column("incident", String(100)),
    # Enrichment API calls the run made and the errors among them (schema 0010).
    Column("api_calls", Integer),
    Column("api_errors", Integer),
    # The run's column profile, as JSON figures (quality/drift.py), and its slowest API's
    # p95 latency (schema 0013).
    Column("column_profiles", Text),
    Column("api_latency_ms", Float),
)

customer_changes = Table(
    "customer_changes",
    metadata,
    Column("run_id", String(RUN_ID_LENGTH), primary_key=True),
    Column(BUSINESS_KEY, _column_type(field(BUSINESS_KEY)), primary_key=True),
    Column("action", String(10), nullable=False),
    Column("before_hash", String(HASH_LENGTH)),
    Column("after_hash", String(HASH_LENGTH), nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("chunk", Integer),
    # The chunk of the run whose load wrote the row (NULL before schema 0005).
    # A customer's history across runs.
    Index(None, BUSINESS_KEY),
)
"""The audit trail: one row per record a run loaded, with hashes and never values."""

etl_chunk_loads = Table(
    "etl_chunk_loads",
    metadata,
    Column("run_id", String(RUN_ID_LENGTH), primary_key=True),
    Column("chunk", Integer, primary_key=True, autoincrement=False),
    Column("report", Text, nullable=False),
    Column("loaded_at", DateTime(timezone=True), nullable=False),
)
"""One row per loaded chunk, committed in the chunk's own transaction with its rows: a
chunk loaded again finds it and changes nothing. `report` is the chunk's stage report."""

KEY_ID_LENGTH = 16
KEK_REFERENCE_LENGTH = 256

data_keys = Table(
    "data_keys",
    metadata,
    Column("data_key_id", String(KEY_ID_LENGTH), primary_key=True),
    Column("wrapped_key", LargeBinary, nullable=False),
    Column("kek_id", String(KEK_REFERENCE_LENGTH), nullable=False),
    Column("kek_version", String(KEK_REFERENCE_LENGTH), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("run_id", String(RUN_ID_LENGTH), nullable=False),
    Column("rotated_at", DateTime(timezone=True)),
)
"""One row per run's data key, wrapped by the key-encryption key (never in plaintext); the
tokens of the values it sealed carry its `data_key_id`."""

REQUEST_ID_LENGTH = 40
SUBJECT_REF_LENGTH = 80

subject_requests = Table(
    "subject_requests",
    metadata,
    Column("request_id", String(REQUEST_ID_LENGTH), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("requested_by", Unicode(255), nullable=False),
    Column("requested_at", DateTime(timezone=True), nullable=False),
    # A customer id or a blind-index digest (`subject_ref_kind` says which): never an email,
    # a phone number or a name.
    Column("subject_ref", Unicode(SUBJECT_REF_LENGTH), nullable=False),
    Column("subject_ref_kind", String(20), nullable=False),
    Column("status", String(20), nullable=False),
    Column("outcome", Text),
    Column("closed_at", DateTime(timezone=True)),
    Index(None, "status"),
)
"""The register of data subject requests (GDPR articles 15 to 21): who asked for what, about
whom (by reference only), when, and what came of it."""

subject_flags = Table(
    "subject_flags",
    metadata,
    Column("flag", String(20), primary_key=True),
    Column("match_column", String(20), primary_key=True),
    Column("match_value", Unicode(SUBJECT_REF_LENGTH), primary_key=True),
    Column("request_id", String(REQUEST_ID_LENGTH), nullable=False),
    Column("flagged_at", DateTime(timezone=True), nullable=False),
)
"""What every load must honour about a person, by customer id or blind index: `erased` (the
suppression list: a later load is refused into quarantine), `restricted` (article 18) and
`objected` (article 21, marketing). Kept apart from `customers` so that an erased person,
who has no row there any more, is still known."""

HOLD_TARGET_LENGTH = RUN_ID_LENGTH
"""Wide enough for a customer id (64), a data or retention class, or a run id (80)."""
HOLD_TEXT_LENGTH = 500
HOLD_PERSON_LENGTH = 120

legal_holds = Table(
    "legal_holds",
    metadata,
    Column("hold_id", Integer, primary_key=True, autoincrement=True),
    Column("scope", String(20), nullable=False),
    Column("target", Unicode(HOLD_TARGET_LENGTH), nullable=False),
    Column("reason", Unicode(HOLD_TEXT_LENGTH), nullable=False),
    Column("owner", Unicode(HOLD_PERSON_LENGTH), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("until", DateTime(timezone=True)),
    Column("released_at", DateTime(timezone=True)),
    Column("released_by", Unicode(HOLD_PERSON_LENGTH)),
    Column("release_reason", Unicode(HOLD_TEXT_LENGTH)),
    # "Which of these customers are held": by scope and target.
    Index(None, "scope", "target"),
)
"""Legal holds by customer id, data class or run: a held record is never deleted,
anonymised or erased (`stages/legal_holds.py` decides)."""

legal_hold_events = Table(
    "legal_hold_events",
    metadata,
    Column("event_id", Integer, primary_key=True, autoincrement=True),
    Column("hold_id", Integer, nullable=False, index=True),
    Column("event", String(20), nullable=False),
    Column("actor", Unicode(HOLD_PERSON_LENGTH), nullable=False),
    Column("reason", Unicode(HOLD_TEXT_LENGTH)),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
)
"""The holds' audit trail: one row per hold placed or released, by hold id, never its
target. Its own table, not `customer_changes`: that one is keyed on (run, customer) and says
what a load did to a record, while a hold may name no customer at all."""

retention_actions = Table(
    "retention_actions",
    metadata,
    Column("action_id", Integer, primary_key=True, autoincrement=True),
    Column("job_run_id", String(RUN_ID_LENGTH), nullable=False, index=True),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("retention_class", String(40), nullable=False),
    Column("store", String(40), nullable=False),
    Column("rule", Unicode(200), nullable=False),
    Column("action", String(20), nullable=False),
    Column("records", Integer, nullable=False),
    Column("held", Integer, nullable=False),
)
"""What each retention job did, by class and store: the rule, the action and how many
records it took (and how many a legal hold kept), never a value or an id."""
