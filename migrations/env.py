"""Alembic's entry point. `bot.storage.schema` runs it on a connection it passes in `config.attributes["connection"]`;
the `alembic` command line (for writing migrations) runs it on the bot's configured database."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from bot.config import load_settings
from bot.storage.models import Base, Database


def run_on(connection: Connection) -> None:
    """Migrate over one connection; SQLite alters tables by copying them (batch mode)."""
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_on_configured_database() -> None:
    database = Database(load_settings().database_url)
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(run_on)
    finally:
        await database.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported; run `python -m bot migrate`.")
shared = context.config.attributes.get("connection")
if shared is None:
    asyncio.run(run_on_configured_database())
else:
    run_on(shared)
