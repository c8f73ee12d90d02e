"""A gentle per-user brake on floods of messages.

Up to `limit` messages in any `window` seconds are answered as usual. Beyond that the user is told once, kindly,
to slow down, and the bot stays quiet until their pace drops below the limit again. The guard only decides about
*answers*: the pipeline still runs the safety net on every message and still relays every message of a live
handoff (see `Pipeline.text`). State is in memory only and holds nothing but times.
"""

from __future__ import annotations

import enum
import time
from collections import deque
from collections.abc import Callable

from bot.config import DEFAULT_FLOOD_MESSAGES as DEFAULT_LIMIT
from bot.config import DEFAULT_FLOOD_SECONDS as DEFAULT_WINDOW

__all__ = ["DEFAULT_LIMIT", "DEFAULT_WINDOW", "FloodGuard", "Verdict"]
# Forget users who have been quiet for this many windows (keeps memory bounded).
_FORGET_AFTER_WINDOWS = 2
_SWEEP_EVERY = 1000


class Verdict(enum.Enum):
    ANSWER = "answer"
    """Within the limit: answer as usual."""
    NOTICE = "notice"
    """The first message over the limit: send the slow-down notice."""
    QUIET = "quiet"
    """Still over the limit and already told: no answer."""


class FloodGuard:
    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1 or window <= 0:
            raise ValueError("a flood limit needs at least one message and a positive window")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._times: dict[str, deque[float]] = {}
        self._told: set[str] = set()
        self._checks = 0

    def check(self, key: str) -> Verdict:
        """Count one message of user `key` and say whether it should be answered."""
        now = self._clock()
        self._forget_idle(now)
        times = self._times.setdefault(key, deque(maxlen=self.limit + 1))
        times.append(now)
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) <= self.limit:
            self._told.discard(key)
            return Verdict.ANSWER
        if key in self._told:
            return Verdict.QUIET
        self._told.add(key)
        return Verdict.NOTICE

    def _forget_idle(self, now: float) -> None:
        self._checks += 1
        if self._checks % _SWEEP_EVERY:
            return
        idle = [
            key
            for key, times in self._times.items()
            if not times or now - times[-1] > self.window * _FORGET_AFTER_WINDOWS
        ]
        for key in idle:
            del self._times[key]
            self._told.discard(key)
