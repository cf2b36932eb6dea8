"""The load's SQL, built from the table metadata for each dialect.

A sub-batch goes into a staging table, then set-based statements move it: the audit rows
first (they need the state before the upsert), then the upsert. SQLite and PostgreSQL
upsert with `INSERT ... ON CONFLICT`; SQL Server with `MERGE ... WITH (HOLDLOCK)`, which
SQLAlchemy has no construct for, so it is written here from the same metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Executable,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    case,
    func,
    insert,
    literal,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from customer_etl.adapters.warehouse.tables import (
    INDEX_COLUMNS,
    RECORD_COLUMNS,
    RUN_ID_LENGTH,
    customer_changes,
    customers,
)
from customer_etl.core.schema import BUSINESS_KEY

CONTENT_HASH = "content_hash"
STAGED_COLUMNS: tuple[str, ...] = (*RECORD_COLUMNS, *INDEX_COLUMNS, CONTENT_HASH)
"""What a sub-batch brings: the record (personal values as tokens), its blind indexes and its
content hash (of the plaintext, keyed when encrypted, so that a reload of the same file is
unchanged). Times and the run id are the same for every row of a load, so they are bound
once rather than staged per row."""
STAMPS: tuple[str, ...] = ("first_seen_at", "last_updated_at", "last_seen_at", "last_run_id")
SEEN: tuple[str, ...] = ("last_seen_at", "last_run_id")
"""What moves on every load, changed or not: retention keys on `last_seen_at`."""
_KEPT_ON_UPDATE = {BUSINESS_KEY, "first_seen_at"}

_ON_CONFLICT_INSERTS: dict[str, Callable[..., Any]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}


def staging_table(dialect_name: str) -> Table:
    """A session-private table shaped like the staged columns of `customers`."""
    columns = [
        Column(name, customers.c[name].type, primary_key=name == BUSINESS_KEY)
        for name in STAGED_COLUMNS
    ]
    if dialect_name == "mssql":
        return Table("#customers_stage", MetaData(), *columns)
    return Table("customers_stage", MetaData(), *columns, prefixes=["TEMPORARY"])


def _stamps(run_id: str, now: datetime) -> dict[str, Any]:
    timestamp = DateTime(timezone=True)
    values: dict[str, Any] = {name: literal(now, timestamp) for name in STAMPS[:-1]}
    values["last_run_id"] = literal(run_id, String(RUN_ID_LENGTH))
    return values


def record_changes(
    stage: Table, dialect_name: str, run_id: str, now: datetime, chunk: int | None = None
) -> Executable:
    """One `customer_changes` row per staged record: inserted, updated or unchanged, with the
    hashes before and after. A record this run already recorded (a load repeated after its
    commit) keeps its first row, so the trail says what the run really did."""
    before = customers.c[CONTENT_HASH]
    action = case(
        (customers.c[BUSINESS_KEY].is_(None), "inserted"),
        (before == stage.c[CONTENT_HASH], "unchanged"),
        else_="updated",
    )
    rows = (
        select(
            literal(run_id, String(RUN_ID_LENGTH)),
            stage.c[BUSINESS_KEY],
            action,
            before,
            stage.c[CONTENT_HASH],
            literal(now, DateTime(timezone=True)),
            literal(chunk, Integer),
        )
        .select_from(stage.outerjoin(customers, customers.c[BUSINESS_KEY] == stage.c[BUSINESS_KEY]))
        # SQL Server: keep the rows read here locked until the MERGE, so that a concurrent
        # load cannot change them in between.
        .with_hint(customers, "WITH (UPDLOCK, HOLDLOCK)", "mssql")
    )
    columns = [
        *("run_id", BUSINESS_KEY, "action", "before_hash", "after_hash", "recorded_at", "chunk")
    ]
    if dialect_name in _ON_CONFLICT_INSERTS:
        # A primary-key probe per row. (A NOT EXISTS here was planned by PostgreSQL as a
        # scan of every row the run had already recorded, for each staged row.)
        statement = _ON_CONFLICT_INSERTS[dialect_name](customer_changes).from_select(
            columns,
            rows.where(true()),  # SQLite needs a WHERE before ON CONFLICT
        )
        ignored: Executable = statement.on_conflict_do_nothing(
            index_elements=[customer_changes.c.run_id, customer_changes.c[BUSINESS_KEY]]
        )
        return ignored
    recorded = (
        select(customer_changes.c.run_id)
        .where(customer_changes.c.run_id == run_id)
        .where(customer_changes.c[BUSINESS_KEY] == stage.c[BUSINESS_KEY])
    )
    return insert(customer_changes).from_select(columns, rows.where(~recorded.exists()))


def stored_hashes(stage: Table) -> Executable:
    """The key and stored content hash of each staged key that `customers` holds."""
    key = customers.c[BUSINESS_KEY]
    return (
        select(key, customers.c[CONTENT_HASH])
        .select_from(stage.join(customers, key == stage.c[BUSINESS_KEY]))
        # SQL Server: keep them locked until the load writes, as `record_changes` does.
        .with_hint(customers, "WITH (UPDLOCK, HOLDLOCK)", "mssql")
    )


def mark_unchanged_seen(stage: Table, run_id: str, now: datetime) -> Executable:
    """Unchanged records are not rewritten: only the time they were last seen, and by which
    run, moves."""
    staged_hash = (
        select(stage.c[CONTENT_HASH])
        .where(stage.c[BUSINESS_KEY] == customers.c[BUSINESS_KEY])
        .scalar_subquery()
    )
    stamps = _stamps(run_id, now)
    # `IN` on the key rather than a correlated EXISTS: SQLite then looks each staged key up
    # by primary key instead of scanning every customer for every sub-batch.
    return (
        update(customers)
        .where(customers.c[BUSINESS_KEY].in_(select(stage.c[BUSINESS_KEY])))
        .where(customers.c[CONTENT_HASH] == staged_hash)
        .values({name: stamps[name] for name in SEEN})
    )


def upsert_changed(stage: Table, dialect_name: str, run_id: str, now: datetime) -> Executable:
    """`INSERT ... ON CONFLICT DO UPDATE` of new and changed records (SQLite, PostgreSQL).

    The conflict update only applies where the content hash differs; `first_seen_at` is
    kept. Run it after `mark_unchanged_seen`, which needs the hashes before this changes them.
    """
    stamps = _stamps(run_id, now)
    rows = select(
        *(stage.c[name] for name in STAGED_COLUMNS),
        *(value.label(name) for name, value in stamps.items()),
    ).where(true())  # SQLite needs a WHERE to parse INSERT ... SELECT ... ON CONFLICT
    statement = _ON_CONFLICT_INSERTS[dialect_name](customers).from_select(
        [*STAGED_COLUMNS, *STAMPS], rows
    )
    upsert: Executable = statement.on_conflict_do_update(
        index_elements=[customers.c[BUSINESS_KEY]],
        set_={
            name: statement.excluded[name]
            for name in (*STAGED_COLUMNS, *STAMPS)
            if name not in _KEPT_ON_UPDATE
        },
        where=customers.c[CONTENT_HASH] != statement.excluded[CONTENT_HASH],
    )
    return upsert


def merge(stage: Table, dialect: Dialect, run_id: str, now: datetime) -> Executable:
    """SQL Server's upsert: one `MERGE ... WITH (HOLDLOCK)` from the staging table.

    HOLDLOCK (serializable on the target) closes the gap in which two concurrent MERGEs
    could both decide a key is new. Changed records are rewritten; unchanged ones only get
    their seen columns; new ones are inserted.
    """
    quote = dialect.identifier_preparer.quote
    target, source = quote(customers.name), quote(stage.name)
    columns = [*STAGED_COLUMNS, *STAMPS]

    def value(name: str) -> str:
        return f":{name}" if name in STAMPS else f"source.{quote(name)}"

    def assignments(names: tuple[str, ...] | list[str]) -> str:
        return ", ".join(f"target.{quote(name)} = {value(name)}" for name in names)

    changed = [name for name in columns if name not in _KEPT_ON_UPDATE]
    key, digest = quote(BUSINESS_KEY), quote(CONTENT_HASH)
    sql = (
        f"MERGE INTO {target} WITH (HOLDLOCK) AS target "
        f"USING {source} AS source ON target.{key} = source.{key} "
        f"WHEN MATCHED AND target.{digest} <> source.{digest} "
        f"THEN UPDATE SET {assignments(changed)} "
        f"WHEN MATCHED THEN UPDATE SET {assignments(SEEN)} "
        f"WHEN NOT MATCHED BY TARGET THEN INSERT ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join(value(c) for c in columns)});"
    )
    timestamp = DateTime(timezone=True)
    return text(sql).bindparams(
        *(bindparam(name, now, type_=timestamp) for name in STAMPS[:-1]),
        bindparam("last_run_id", run_id, type_=String(RUN_ID_LENGTH)),
    )


def count_actions(run_id: str, chunk: int | None = None) -> Executable:
    """The run's audit rows by action: all of them, or one chunk's."""
    query = select(customer_changes.c.action, func.count()).where(
        customer_changes.c.run_id == run_id
    )
    if chunk is not None:
        query = query.where(customer_changes.c.chunk == chunk)
    return query.group_by(customer_changes.c.action)
