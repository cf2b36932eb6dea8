"""The warehouse tables, as SQLAlchemy Core metadata shared by every dialect."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.types import TypeEngine

from customer_etl.schema import BUSINESS_KEY, CANONICAL_FIELDS, ENRICHMENT_FIELDS, Field, FieldType

metadata = MetaData()


def _column_type(spec: Field) -> TypeEngine[Any]:
    if spec.type is FieldType.STRING:
        return String(spec.max_length or 255)
    if spec.type is FieldType.DATE:
        return Date()
    if spec.type is FieldType.BOOLEAN:
        return Boolean()
    return Float()


def _record_columns() -> list[Column[object]]:
    return [
        Column(
            spec.name,
            _column_type(spec),
            primary_key=spec.name == BUSINESS_KEY,
            nullable=not spec.required,
        )
        for spec in (*CANONICAL_FIELDS, *ENRICHMENT_FIELDS)
    ]


customers = Table(
    "customers",
    metadata,
    *_record_columns(),
    Column("content_hash", String(64), nullable=False),
    Column("first_seen_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False, index=True),
    Column("last_run_id", String(80), nullable=False),
)

etl_runs = Table(
    "etl_runs",
    metadata,
    Column("run_id", String(80), primary_key=True),
    Column("kind", String(20), nullable=False),
    Column("source_file", String(255), nullable=False),
    Column("status", String(20), nullable=False),
    Column("rows_in", Integer, nullable=False),
    Column("rows_loaded", Integer, nullable=False),
    Column("rows_quarantined", Integer, nullable=False),
    Column("rows_deleted", Integer, nullable=False, default=0),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("error", Text),
)
