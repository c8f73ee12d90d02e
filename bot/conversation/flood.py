"""A gentle per-user brake on floods of messages.

Up to `limit` messages in any `window` seconds are answered as usual. Beyond that the user is told once, kindly,
to slow down, and the bot stays quiet until their pace drops below the limit again. The guard only decides about
*answers*: the pipeline still runs the safety net on every message and still relays every message of a live
handoff (see `Pipeline.text`).

The window lives on the user's conversation row (`flood_times`: only the times of the last `limit` + 1 messages),
so that every replica sees the same count: the pipeline has that row locked in the message's unit of work already
(PostgreSQL: FOR UPDATE; SQLite has one writer), so counting costs no lock and no statement of its own, only the
row's update at commit. The clock is the wall clock, shared by the replicas (through NTP), not a process's own.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable

from bot.config import DEFAULT_FLOOD_MESSAGES as DEFAULT_LIMIT
from bot.config import DEFAULT_FLOOD_SECONDS as DEFAULT_WINDOW
from bot.storage.models import Conversation

__all__ = ["DEFAULT_LIMIT", "DEFAULT_WINDOW", "FloodGuard", "Verdict"]


class Verdict(enum.Enum):
    ANSWER = "answer"
    """Within the limit: answer as usual."""
    NOTICE = "notice"
    """The first message over the limit: send the slow-down notice."""
    QUIET = "quiet"
    """Still over the limit and already told: no answer."""


class FloodGuard:
    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.time) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a flood limit needs at least one message and a positive window")
        self.limit = limit
        self.window = window
        self._clock = clock

    def check(self, conversation: Conversation) -> Verdict:
        """Count one message of this user (on their row) and say whether it should be answered."""
        now = round(self._clock() * 1000)
        before = _times(conversation.flood_times)
        # The previous message was over the limit exactly when it left limit + 1 times, all within the window.
        told = len(before) > self.limit
        window_ms = self.window * 1000
        times = [at for at in [*before, now] if now - at < window_ms][-(self.limit + 1) :]
        conversation.flood_times = " ".join(map(str, times))
        if len(times) <= self.limit:
            return Verdict.ANSWER
        return Verdict.QUIET if told else Verdict.NOTICE


def _times(stored: str | None) -> list[int]:
    """The stored times; anything unreadable counts as none (a brake must never fail a message)."""
    try:
        return [int(part) for part in (stored or "").split()]
    except ValueError:
        return []
