"""Migrations make the schema, on SQLite and on PostgreSQL; the bot refuses a database that is not migrated."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection

from bot.config import ROOT
from bot.storage import schema
from bot.storage.models import Base, Database
from bot.storage.schema import SchemaError, alembic_config, head, migrate, verify

MIGRATE = "Run make migrate (or: python -m bot migrate)."


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    differences: list[Any] = compare_metadata(context, Base.metadata)
    return differences


async def test_the_migrations_make_exactly_the_schema_of_the_models(database: Database) -> None:
    """A model changed without a migration fails here (write one: see alembic.ini)."""
    async with database.engine.connect() as connection:
        assert await connection.run_sync(_differences) == []
    await verify(database)


async def test_an_empty_database_is_refused_until_it_is_migrated(database_url: str) -> None:
    database = Database(database_url)
    try:
        with pytest.raises(SchemaError, match=re.escape("The database has no tables yet. " + MIGRATE)):
            await verify(database)
        assert await migrate(database) == (None, head())
        await verify(database)
        assert await migrate(database) == (head(), head())
    finally:
        await database.dispose()


async def test_a_database_from_before_migrations_is_refused_and_not_touched(database_url: str) -> None:
    database = Database(database_url)
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
        for step in (verify, migrate):
            with pytest.raises(SchemaError, match=r"from before migrations\. Back it up and remove it"):
                await step(database)
    finally:
        await database.dispose()


async def test_a_database_migrated_by_a_newer_version_is_refused(database: Database) -> None:
    async with database.engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    for step in (verify, migrate):
        with pytest.raises(SchemaError, match="at migration f00d, which this version of the bot does not know"):
            await step(database)


async def test_every_migration_can_be_undone_and_redone(database: Database) -> None:
    def down_and_up(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), "base")
        assert MigrationContext.configure(connection).get_current_revision() is None
        command.upgrade(alembic_config(connection), "head")

    async with database.engine.begin() as connection:
        await connection.run_sync(down_and_up)
    await verify(database)


NEXT_MIGRATION = '''"""A later migration, for the test: one more column."""

import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("professionals", sa.Column("test_only", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("professionals", "test_only")
'''


async def test_an_older_database_is_refused_until_it_is_migrated_forward(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bot gains a migration (here a copy of migrations/ with one more): the database it left behind is refused,
    and `migrate` brings it forward."""
    newer = tmp_path / "migrations"
    shutil.copytree(ROOT / "migrations", newer, ignore=shutil.ignore_patterns("__pycache__"))
    (newer / "versions" / "9999_test_only.py").write_text(NEXT_MIGRATION.format(head=head()), encoding="utf-8")

    def newer_config(connection: Connection | None = None) -> Config:
        config = alembic_config(connection)
        config.set_main_option("script_location", str(newer))
        return config

    older = head()
    monkeypatch.setattr(schema, "alembic_config", newer_config)
    with pytest.raises(SchemaError, match=re.escape(f"at migration {older}, older than this bot (9999). {MIGRATE}")):
        await verify(database)
    assert await migrate(database) == (older, "9999")
    await verify(database)
