"""One at a time across replicas: a PostgreSQL advisory lock around work that must not run twice at once (the
handoff sweeper, the outbox sender), because it calls Telegram between its units of work and row locks cannot
cover a network call.

The lock is session-level (`pg_try_advisory_lock`) on a connection of its own that holds it while idle, never
inside an open transaction: the work it guards keeps its own short units of work and calls Telegram between them.
If the process dies, PostgreSQL drops the connection and with it the lock. SQLite serves one process, whose own
asyncio lock is enough: there the guard always says yes.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy import text

from bot.storage.models import Database

logger = logging.getLogger(__name__)

SWEEPER = 0x5EE9_0001
"""Lock ids (any 64-bit number, the same in every replica)."""
OUTBOX_SENDER = 0x5EE9_0002


@contextlib.asynccontextmanager
async def only_one(database: Database, lock_id: int) -> AsyncIterator[bool]:
    """Yields whether this process holds the lock now; False: another replica does this work at the moment."""
    if database.engine.dialect.name != "postgresql":
        yield True
        return
    async with database.engine.connect() as connection:
        held = bool(await connection.scalar(text("SELECT pg_try_advisory_lock(:id)"), {"id": lock_id}))
        await connection.commit()  # idle, not in a transaction, while the work runs
        try:
            yield held
        finally:
            if held:
                try:
                    await connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": lock_id})
                    await connection.commit()
                except Exception:
                    # The lock must not go back into the pool with the connection: drop the connection instead.
                    logger.warning("could not release an advisory lock; its connection is closed instead")
                    await connection.invalidate()
