"""One turn of a conversation, and what the conversation keeps between turns outside the database.

A `Turn` is everything a step handler needs for one message: the unit of work, the user's state, what was said
and how it was understood. `Memory` holds what is kept in this process only (see each field); `Profiles` caches
each user's role and language, so that the crisis lines can go out before the database is asked anything.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from bot.content import SLOTS
from bot.conversation.steps import Step
from bot.replies import Reply, Sender
from bot.storage.models import Conversation
from bot.understanding.understander import Understanding

Emit = Callable[[Reply], Awaitable[None]]
"""Sends one reply at once, before the turn is done (the crisis lines must not wait for anything)."""

# What a user wrote recently, kept in memory only, for a case card when the user agrees to share it.
RECENT_MESSAGES = 8
RECENT_SECONDS = 30 * 60
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


class Profiles:
    """Each user's role and language as last seen, in memory (a local cache: losing it costs only the crisis
    lines' fit to the role, never the lines themselves)."""

    def __init__(self, size: int = PROFILE_CACHE_SIZE) -> None:
        self._size = size
        self._profiles: OrderedDict[str, Profile] = OrderedDict()

    def get(self, key: str) -> Profile | None:
        return self._profiles.get(key)

    def remember(self, key: str, conversation: Conversation) -> None:
        self._profiles[key] = Profile(conversation.audience, conversation.language, bool(conversation.safety_check))
        self._profiles.move_to_end(key)
        while len(self._profiles) > self._size:
            self._profiles.popitem(last=False)

    def forget(self, key: str) -> None:
        self._profiles.pop(key, None)


@dataclass
class Memory:
    """What a conversation keeps in this process only: never written to disk."""

    recent: dict[str, deque[tuple[float, str]]] = field(default_factory=dict)
    """The last messages a user wrote (at most RECENT_MESSAGES, RECENT_SECONDS), for a consented case card."""
    skipped: set[tuple[str, str]] = field(default_factory=set)
    """Follow-up questions a user chose to skip, so they are not asked again."""
    feedback_asked: set[tuple[str, str]] = field(default_factory=set)
    """(user, topic): the feedback buttons were under an answer of this topic already; not asked again."""
    feedback_open: set[tuple[str, str]] = field(default_factory=set)
    """(user, answer): feedback buttons shown and not tapped yet; a tap counts only while its pair is here, so a
    second tap (or a forged one) counts nothing."""

    def remember(self, key: str, text: str) -> None:
        now = time.monotonic()
        self.recent.setdefault(key, deque(maxlen=RECENT_MESSAGES)).append((now, text))
        for stale in [k for k, lines in self.recent.items() if lines and now - lines[-1][0] > RECENT_SECONDS]:
            del self.recent[stale]

    def recent_lines(self, key: str) -> list[str]:
        now = time.monotonic()
        return [text for at, text in self.recent.get(key, ()) if now - at <= RECENT_SECONDS]

    def forget(self, key: str) -> None:
        self.recent.pop(key, None)
        self.skipped -= {(key, slot) for slot in SLOTS}
        self.feedback_asked = {pair for pair in self.feedback_asked if pair[0] != key}
        self.feedback_open = {pair for pair in self.feedback_open if pair[0] != key}
