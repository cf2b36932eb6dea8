"""The warehouse schema's revision: what the database has, what this version needs, and the
Alembic upgrade between them."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from customer_etl.adapters.warehouse.tables import customers
from customer_etl.core.errors import WarehouseSchemaError

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


class SchemaState(StrEnum):
    CURRENT = "current"
    EMPTY = "empty"
    OUTDATED = "outdated"
    NEWER = "newer"
    UNTRACKED = "untracked"


UPGRADABLE = (SchemaState.EMPTY, SchemaState.OUTDATED)
"""States an upgrade can bring to the head; the others need a person."""


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, without an alembic.ini: the scripts ship in the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the package ships at least one migration"
    return head


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def schema_state(connection: Connection, revision: str | None) -> SchemaState:
    if revision is None:
        if inspect(connection).has_table(customers.name):
            return SchemaState.UNTRACKED
        return SchemaState.EMPTY
    if revision == head_revision():
        return SchemaState.CURRENT
    try:
        ScriptDirectory.from_config(alembic_config()).get_revision(revision)
    except CommandError:
        return SchemaState.NEWER
    return SchemaState.OUTDATED


def upgrade(connection: Connection) -> None:
    """Apply every pending migration, in the caller's transaction."""
    command.upgrade(alembic_config(connection), "head")


def refusal(state: SchemaState, revision: str | None, display_url: str) -> WarehouseSchemaError:
    """The error that stops a run against a schema this version cannot use, saying what to do."""
    head = head_revision()
    if state is SchemaState.UNTRACKED:
        return WarehouseSchemaError(
            f"warehouse {display_url} has tables but no schema revision (it was created "
            "before migrations existed): move a local SQLite file aside and run again, or "
            f"stamp a server database at revision {head} once its tables match docs/warehouse.md"
        )
    if state is SchemaState.NEWER:
        return WarehouseSchemaError(
            f"warehouse {display_url} is at schema revision {revision}, newer than this "
            f"version of customer-etl knows (it needs {head}): upgrade customer-etl"
        )
    found = f"is at schema revision {revision}" if revision else "has no schema yet"
    return WarehouseSchemaError(
        f"warehouse {display_url} {found} and this version needs {head}: run "
        "`customer-etl db upgrade` with the same --env, then run or resume again"
    )
