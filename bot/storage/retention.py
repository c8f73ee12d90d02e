"""Retention: the bot keeps what it stores for a limited time.

A case that is over (closed, declined, or an offer or out-of-hours request left standing) is removed
`RETENTION_CASE_DAYS` after it closed or last changed, with the ids of its relayed messages and anything of it still
in the outbox. A user's conversation
state is removed `RETENTION_STATE_DAYS` after their last message, with all their cases. Recent messages kept for a
transcript are removed 30 minutes after they were written (each new message also removes the old ones). The ids of
webhook updates whose work is done (`bot.storage.journal`, no payload left) are removed after a day. A case that is
live (requested, claimed) or parked for the next working day is never removed, and neither is its user's state.

The purge runs when the bot starts, daily while it runs, and as `python -m bot purge`. It logs counts only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Executable, delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage import cases, journal
from bot.storage.models import (
    RECENT_SECONDS,
    Case,
    Conversation,
    Database,
    OutboxMessage,
    RecentMessage,
    RelayedMessage,
    utcnow,
)

logger = logging.getLogger(__name__)

KEPT = cases.ACTIVE
"""Cases that still need a professional: never removed, and their user's state is kept with them."""
DAY = 24 * 60 * 60.0


@dataclass(frozen=True)
class Purged:
    """How much one purge removed (counts only: nothing that identifies anyone)."""

    cases: int
    conversations: int
    recent_messages: int = 0
    updates: int = 0
    """Done webhook updates whose ids are no longer needed to recognise a redelivery."""


async def purge(session: AsyncSession, now: datetime, case_days: int, state_days: int) -> Purged:
    """Remove what is past its retention, in the caller's unit of work."""
    with_kept_case = select(Case.user_key).where(Case.status.in_(KEPT))
    stale = select(Conversation.key).where(
        Conversation.updated_at < now - timedelta(days=state_days), Conversation.key.not_in(with_kept_case)
    )
    last_change = func.coalesce(Case.closed_at, Case.updated_at)
    ended = Case.status.not_in(KEPT) & (last_change < now - timedelta(days=case_days))
    expired = or_(ended, Case.user_key.in_(stale))
    expired_ids = select(Case.id).where(expired)
    await session.execute(delete(RelayedMessage).where(RelayedMessage.case_id.in_(expired_ids)))
    await session.execute(delete(OutboxMessage).where(OutboxMessage.case_id.in_(expired_ids)))
    removed_cases = await _count(session, delete(Case).where(expired))
    too_old = RecentMessage.created_at < now - timedelta(seconds=RECENT_SECONDS)
    recent = await _count(session, delete(RecentMessage).where(too_old | RecentMessage.user_key.in_(stale)))
    removed_conversations = await _count(session, delete(Conversation).where(Conversation.key.in_(stale)))
    removed_updates = await journal.forget_done(session, now)
    return Purged(removed_cases, removed_conversations, recent, removed_updates)


async def _count(session: AsyncSession, statement: Executable) -> int:
    result = cast(CursorResult[Any], await session.execute(statement))
    return result.rowcount


class Retention:
    """Runs the purge as one unit of work, once or daily."""

    def __init__(
        self, database: Database, case_days: int, state_days: int, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._database = database
        self._case_days = case_days
        self._state_days = state_days
        self._clock = clock
        self._stop = asyncio.Event()

    async def purge(self) -> Purged:
        async with self._database.sessions.begin() as session:
            purged = await purge(session, self._clock(), self._case_days, self._state_days)
        logger.info(
            "retention: removed %d cases, %d conversations, %d recent messages and %d done update ids",
            purged.cases,
            purged.conversations,
            purged.recent_messages,
            purged.updates,
        )
        return purged

    async def run(self, interval: float = DAY) -> None:
        """Purge every `interval` seconds until `stop`; stopped between purges, never in the middle of one."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), interval)
            if self._stop.is_set():
                return
            try:
                await self.purge()
            except Exception:
                logger.exception("retention purge failed")

    def stop(self) -> None:
        self._stop.set()
