"""One turn of a conversation, and what the conversation keeps between turns besides the conversation row.

A `Turn` is everything a step handler needs for one message: the unit of work, the user's state, what was said
and how it was understood. `Memory` keeps the recent messages for a consented transcript (in the database, sealed, so
that every replica has them); `Profiles` caches each user's role and language, so that the crisis lines can go out
before the database is asked anything.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.conversation.steps import Step
from bot.replies import Reply, Sender
from bot.storage.models import RECENT_MESSAGES, RECENT_SECONDS, Conversation, RecentMessage, utcnow
from bot.storage.sealed import Sealer
from bot.understanding.understander import Understanding

Emit = Callable[[Reply], Awaitable[None]]
"""Sends one reply at once, before the turn is done (the crisis lines must not wait for anything)."""

PROFILE_CACHE_SIZE = 10_000


@dataclass
class Turn:
    session: AsyncSession
    conversation: Conversation
    sender: Sender
    text: str = ""
    understanding: Understanding | None = None
    message_id: int | None = None
    emit: Emit | None = None
    new: bool = False
    """The bot has not met this user before this message."""
    crisis_sent: bool = False
    """The crisis lines for this message already went out, before the unit of work began."""
    child_named: bool = False
    """The message names a child given earlier with an age ("en Noor?"): that child's age is the one meant now."""

    @property
    def language(self) -> str:
        return self.conversation.language

    @property
    def audience(self) -> str:
        """The user's role; before they chose one, answers are worded for a parent or carer."""
        return self.conversation.audience or "parent"

    @property
    def step(self) -> Step:
        return Step.parse(self.conversation.step)

    @step.setter
    def step(self, step: Step) -> None:
        self.conversation.step = step.value


@dataclass(frozen=True)
class Profile:
    audience: str | None
    language: str
    alarm: bool = False
    """The bot is checking in after crisis lines: new danger now gets a more direct line first."""
    category: str | None = None
    """The danger the last lines were for ("suicidal", "violence", ...): an answer holding on to it is danger again."""
    last_answer: str | None = None
    """What the bot said last (a repeat of the lines is worded differently each time, never the same block twice)."""


class Profiles:
    """Each user's role and language as last seen, in memory.

    A cache that may stay local to one replica: a replica that has not met the user (or has an older profile) sends
    crisis lines worded for everyone or for the old role, never no lines; the database stays the truth, and each
    unit of work refreshes the profile."""

    def __init__(self, size: int = PROFILE_CACHE_SIZE) -> None:
        self._size = size
        self._profiles: OrderedDict[str, Profile] = OrderedDict()

    def get(self, key: str) -> Profile | None:
        return self._profiles.get(key)

    def remember(self, key: str, conversation: Conversation) -> None:
        self._profiles[key] = Profile(
            conversation.audience,
            conversation.language,
            bool(conversation.safety_check),
            conversation.alarm,
            conversation.last_answer,
        )
        self._profiles.move_to_end(key)
        while len(self._profiles) > self._size:
            self._profiles.popitem(last=False)

    def forget(self, key: str) -> None:
        self._profiles.pop(key, None)


class Ratings:
    """Which answers carry 👍/👎 buttons not yet tapped, and which topics were already asked about, per user.

    Local to this process, on purpose: losing it (a restart, another replica) means a late tap is thanked but not
    counted, or a topic is asked about once more; nothing a user would miss, and no rating state in the database."""

    def __init__(self) -> None:
        self.asked: set[tuple[str, str]] = set()
        """(user, topic): the buttons were under an answer of this topic already; not asked again."""
        self.open: set[tuple[str, str]] = set()
        """(user, answer): buttons shown and not tapped yet; a tap counts only while its pair is here, so a second
        tap (or a forged one) counts nothing."""

    def forget(self, key: str) -> None:
        self.asked = {pair for pair in self.asked if pair[0] != key}
        self.open = {pair for pair in self.open if pair[0] != key}


class Memory:
    """The last messages each user wrote (at most RECENT_MESSAGES, none older than RECENT_SECONDS), for a case card
    when the user agrees to share them.

    In the database, so that any replica can offer them: one row per message in `recent_messages`, its text sealed
    (`bot.storage.sealed`, a key derived from the pseudonym secret), in the caller's unit of work. What is older or
    more is deleted with every new message, by the purge, on /stop during a handoff, once the user has answered the
    question, and on /vergeet."""

    def __init__(self, sealer: Sealer, clock: Callable[[], datetime] = utcnow) -> None:
        self._sealer = sealer
        self._clock = clock

    async def remember(self, session: AsyncSession, key: str, text: str) -> None:
        """Keep one message; delete this user's beyond the newest RECENT_MESSAGES and everyone's past RECENT_SECONDS
        (rows another unit of work is deleting are left to it: SKIP LOCKED, so replicas never wait on each other)."""
        session.add(RecentMessage(user_key=key, sealed=self._sealer.seal(text), created_at=self._clock()))
        newest = (
            select(RecentMessage.id)
            .where(RecentMessage.user_key == key)
            .order_by(RecentMessage.id.desc())
            .limit(RECENT_MESSAGES)
        )
        mine_beyond = (RecentMessage.user_key == key) & RecentMessage.id.not_in(newest)
        expired = select(RecentMessage.id).where(RecentMessage.created_at < self._cutoff())
        expired = expired.with_for_update(skip_locked=True)
        await session.execute(delete(RecentMessage).where(mine_beyond | RecentMessage.id.in_(expired)))

    async def recent_lines(self, session: AsyncSession, key: str) -> list[str]:
        query = select(RecentMessage.sealed).where(
            RecentMessage.user_key == key, RecentMessage.created_at >= self._cutoff()
        )
        lines = []
        for sealed in (await session.scalars(query.order_by(RecentMessage.id))).all():
            try:
                lines.append(self._sealer.open(sealed))
            except ValueError:  # sealed under another secret (rotated) or by a process without one: not shown
                continue
        return lines[-RECENT_MESSAGES:]

    async def forget(self, session: AsyncSession, key: str) -> None:
        await session.execute(delete(RecentMessage).where(RecentMessage.user_key == key))

    def _cutoff(self) -> datetime:
        return self._clock() - timedelta(seconds=RECENT_SECONDS)
