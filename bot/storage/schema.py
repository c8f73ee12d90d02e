"""The database schema and its version: Alembic migrations in `migrations/`, applied by `python -m bot migrate`.

The bot itself never changes the schema on start: it checks that the database is at the newest migration and
refuses to start otherwise, saying which command to run.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from bot.config import ROOT
from bot.storage.models import Base, Database

MIGRATE_COMMAND = "make migrate (or: python -m bot migrate)"


class SchemaError(RuntimeError):
    """The database is not at the schema this version of the bot needs."""


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration from `alembic.ini`, to run over `connection` when one is given."""
    config = Config(str(ROOT / "alembic.ini"))
    config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest migration in `migrations/versions/`."""
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None, "migrations/versions/ holds no migration"
    return revision


async def migrate(database: Database) -> tuple[str | None, str]:
    """Upgrade the database to the newest migration; returns the revisions before and after."""
    async with database.engine.begin() as connection:
        before = await connection.run_sync(_current)
        if before is None and await connection.run_sync(_has_tables):
            raise SchemaError(_unversioned())
        if before is not None and not _known(before):
            raise SchemaError(_from_newer(before))
        await connection.run_sync(lambda sync: command.upgrade(alembic_config(sync), "head"))
    return before, head()


async def verify(database: Database) -> None:
    """Refuse a database that is not at the newest migration, with what to do about it."""
    async with database.engine.connect() as connection:
        current = await connection.run_sync(_current)
        has_tables = await connection.run_sync(_has_tables)
    newest = head()
    if current == newest:
        return
    if current is None:
        raise SchemaError(_unversioned() if has_tables else f"The database has no tables yet. Run {MIGRATE_COMMAND}.")
    if not _known(current):
        raise SchemaError(_from_newer(current))
    raise SchemaError(f"The database is at migration {current}, older than this bot ({newest}). Run {MIGRATE_COMMAND}.")


def _current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _known(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False


def _has_tables(connection: Connection) -> bool:
    return bool(set(inspect(connection).get_table_names()) & set(Base.metadata.tables))


def _unversioned() -> str:
    return (
        "The database was made by a version of the bot from before migrations. Back it up and remove it "
        f"(by default data/bot.sqlite3), then run {MIGRATE_COMMAND}."
    )


def _from_newer(revision: str) -> str:
    return (
        f"The database is at migration {revision}, which this version of the bot does not know: it was migrated "
        "by a newer version. Run that version, or restore a backup."
    )
