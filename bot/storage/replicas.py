"""The replicas' heartbeat: how many bot processes run now, so that each takes its share of Telegram's send budget.

Every replica writes its random id and the time into `replicas` every `BEAT_SECONDS` and counts the rows seen within
`STALE_SECONDS`; a replica that stopped (or crashed) drops out of the count within that time and its row is deleted
by the next beat of any replica. One short unit of work per beat, never one per message sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from bot.storage.models import Database, Replica, utcnow

logger = logging.getLogger(__name__)

BEAT_SECONDS = 5.0
STALE_SECONDS = 3 * BEAT_SECONDS
"""A replica not seen for this long is not counted any more (three missed beats)."""


class Heartbeat:
    def __init__(
        self, database: Database, clock: Callable[[], datetime] = utcnow, replica_id: str | None = None
    ) -> None:
        self._database = database
        self._clock = clock
        self.replica_id = replica_id or uuid.uuid4().hex
        self.live = 1
        """Replicas counted at the last beat (this one included)."""
        self._stop = asyncio.Event()

    async def beat(self) -> int:
        """Say this replica is alive, forget the dead ones, and count the live ones (this one included)."""
        now = self._clock()
        stale = now - timedelta(seconds=STALE_SECONDS)
        async with self._database.sessions.begin() as session:
            insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
            upsert = insert(Replica).values(id=self.replica_id, last_seen=now)
            await session.execute(upsert.on_conflict_do_update(index_elements=["id"], set_={"last_seen": now}))
            await session.execute(delete(Replica).where(Replica.last_seen < stale))
            live = await session.scalar(select(func.count()).select_from(Replica).where(Replica.last_seen >= stale))
        self.live = max(1, live or 0)
        return self.live

    async def leave(self) -> None:
        """At shutdown: the others may take this replica's share at their next beat."""
        async with self._database.sessions.begin() as session:
            await session.execute(delete(Replica).where(Replica.id == self.replica_id))

    async def run(self, on_count: Callable[[int], None], interval: float = BEAT_SECONDS) -> None:
        """Beat every `interval` seconds until `stop`, telling `on_count` the number of live replicas; a failed beat
        keeps the last count (the database being away must not change the budget)."""
        while not self._stop.is_set():
            try:
                on_count(await self.beat())
            except Exception:
                logger.warning("the replica heartbeat failed; the send budget stays as it was")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), interval)

    def stop(self) -> None:
        self._stop.set()
