"""Telegram's flood limits with a fast lane: a crisis reply goes out before ordinary replies that wait their turn.

python-telegram-bot's AIORateLimiter serves every request in arrival order, so during a burst a crisis reply waits
behind every answer already queued (hundreds, at about 30 a second). This limiter keeps the same limits (about 30
messages a second for the whole bot, 20 a minute in a group; a private chat has no limit of its own here, as in
AIORateLimiter) but lets calls sent with `rate_limit_args=URGENT` take the next free place before ordinary ones.
After a RetryAfter from Telegram every request waits as long as Telegram asked and the call is tried again.

The limits are per bot token, whichever process sends. With several replicas each takes an equal share (`share`,
fed by the replicas' heartbeat): no database call per message, and crisis replies still jump the local queue.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager, nullcontext
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.constants import FloodLimit
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

logger = logging.getLogger(__name__)

URGENT = "urgent"
"""`rate_limit_args` for a call that must not wait behind ordinary ones (crisis lines)."""

Result = bool | dict[str, Any] | list[dict[str, Any]]
MAX_GROUP_LIMITERS = 512


class PriorityBucket:
    """A token bucket (bursts up to `capacity`, refilled at `per_second`) that serves urgent waiters first.

    Within one lane it is first come, first served; a newcomer never takes a token while someone of its own or a
    higher lane is waiting.
    """

    def __init__(self, capacity: float, per_second: float, clock: Callable[[], float] | None = None) -> None:
        self._capacity = capacity
        self._per_second = per_second
        self._tokens = capacity
        self._stamp: float | None = None
        self._clock = clock
        """Where time comes from (default: the event loop's clock; tests pass one they move by hand)."""
        self._lanes: dict[bool, deque[asyncio.Future[None]]] = {True: deque(), False: deque()}
        self._timer: asyncio.TimerHandle | None = None

    @property
    def per_second(self) -> float:
        return self._per_second

    @property
    def capacity(self) -> float:
        return self._capacity

    def resize(self, capacity: float, per_second: float) -> None:
        """A new share of the budget: tokens above the new capacity are dropped, never added."""
        if self._stamp is not None:
            self._refill(self._now(asyncio.get_running_loop()))
        self._capacity, self._per_second = capacity, per_second
        self._tokens = min(self._tokens, capacity)

    def _now(self, loop: asyncio.AbstractEventLoop) -> float:
        return self._clock() if self._clock is not None else loop.time()

    def waiting(self, urgent: bool = False) -> int:
        return sum(1 for future in self._lanes[urgent] if not future.done())

    async def acquire(self, urgent: bool = False) -> None:
        loop = asyncio.get_running_loop()
        self._refill(self._now(loop))
        ahead = bool(self._lanes[True]) or (not urgent and bool(self._lanes[False]))
        if not ahead and self._tokens >= 1:
            self._tokens -= 1
            return
        future: asyncio.Future[None] = loop.create_future()
        self._lanes[urgent].append(future)
        self._schedule(loop)
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._tokens += 1  # granted, then cancelled before use: the place goes to the next one
            elif future in self._lanes[urgent]:
                self._lanes[urgent].remove(future)
            self._schedule(loop)
            raise

    def _refill(self, now: float) -> None:
        if self._stamp is not None:
            self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._per_second)
        self._stamp = now

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._timer is not None or not (self._lanes[True] or self._lanes[False]):
            return
        delay = max(0.0, (1 - self._tokens) / self._per_second)
        self._timer = loop.call_later(delay, self._grant, loop)

    def _grant(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        self._refill(self._now(loop))
        for urgent in (True, False):
            lane = self._lanes[urgent]
            while lane and self._tokens >= 1:
                future = lane.popleft()
                if not future.done():
                    future.set_result(None)
                    self._tokens -= 1
        self._schedule(loop)


class PriorityRateLimiter(BaseRateLimiter[str]):
    """Telegram's limits for the whole bot and per group, with a lane for urgent calls; retries on RetryAfter."""

    def __init__(
        self,
        overall_max_rate: float = FloodLimit.MESSAGES_PER_SECOND,
        overall_time_period: float = 1.0,
        group_max_rate: float = FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP,
        group_time_period: float = 60.0,
        max_retries: int = 3,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.overall: PriorityBucket | None = None
        """The limit for the whole bot; None lifts it (for measuring what the bot could do without Telegram's)."""
        self._overall_rate = (overall_max_rate, overall_time_period)
        if overall_max_rate > 0 and overall_time_period > 0:
            self.overall = PriorityBucket(overall_max_rate, overall_max_rate / overall_time_period, clock)
        self._group_budget = (group_max_rate, group_time_period)
        self._group_rate = self._group_budget
        self.replicas = 1
        """How many replicas share the bot token's budget; this one takes 1/replicas of it (`share`)."""
        self._groups: dict[int | str, AsyncLimiter] = {}
        self._max_retries = max_retries
        self._resume_at = 0.0
        self.retries = 0
        """RetryAfter answers from Telegram so far (for the metrics)."""
        self.sent = 0
        """Messages sent (sendMessage), and of those, in the urgent lane (for the metrics)."""
        self.sent_urgent = 0

    def share(self, replicas: int) -> None:
        """Take 1/`replicas` of the bot token's budget (the overall rate and burst, and each group's rate), so that
        the replicas together stay within Telegram's limits with no shared state per message: the heartbeat
        (`bot.storage.replicas`) counts the live replicas every few seconds and calls this."""
        replicas = max(1, replicas)
        if replicas == self.replicas:
            return
        self.replicas = replicas
        rate, period = self._overall_rate
        if self.overall is not None:  # a burst of at least one message, or nothing would ever go
            self.overall.resize(max(1.0, rate / replicas), rate / period / replicas)
        group_rate, group_period = self._group_budget
        if group_rate > 0 and group_period > 0:
            share = group_rate / replicas
            # At least one message per (longer) period: a limiter cannot hand out less than one at a time.
            self._group_rate = (share, group_period) if share >= 1 else (1.0, group_period / share)
        logger.info("the send budget is shared by %d replicas", replicas)

    @property
    def waiting(self) -> int:
        """Calls waiting for their turn under the overall limit (both lanes)."""
        if self.overall is None:
            return 0
        return self.overall.waiting(True) + self.overall.waiting(False)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to free."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: str | None,
    ) -> Result:
        urgent = rate_limit_args == URGENT
        chat_id = data.get("chat_id")
        for attempt in range(self._max_retries + 1):
            try:
                async with self._group_limiter(chat_id):
                    if chat_id is not None and self.overall is not None:
                        await self.overall.acquire(urgent)
                    await self._wait_out_retry_after()
                    result = await callback(*args, **kwargs)
                self._count(endpoint, urgent)
                return result
            except RetryAfter as error:
                self.retries += 1
                if attempt == self._max_retries:
                    logger.error("Telegram still asks to slow down after %d retries", attempt)
                    raise
                seconds = _seconds(error) + 0.1
                logger.warning("Telegram asks to slow down for %.1f s", seconds)
                self._resume_at = max(self._resume_at, asyncio.get_running_loop().time() + seconds)
        raise AssertionError("unreachable")  # pragma: no cover

    def _count(self, endpoint: str, urgent: bool) -> None:
        if endpoint == "sendMessage":
            self.sent += 1
            self.sent_urgent += urgent

    async def _wait_out_retry_after(self) -> None:
        pause = self._resume_at - asyncio.get_running_loop().time()
        if pause > 0:
            await asyncio.sleep(pause)
            await self._wait_out_retry_after()  # another RetryAfter may have moved the moment meanwhile

    def _group_limiter(self, chat_id: object) -> AbstractAsyncContextManager[Any]:
        """Groups and channels (negative ids, or an @name) have a limit per minute of their own."""
        rate, period = self._group_rate
        group: int | str | None = None
        if isinstance(chat_id, str) and not chat_id.lstrip("-").isdigit():
            group = chat_id
        elif chat_id is not None:
            try:
                number = int(str(chat_id))
            except ValueError:
                number = 0
            group = number if number < 0 else None
        if group is None or rate <= 0 or period <= 0:
            return nullcontext()
        if len(self._groups) > MAX_GROUP_LIMITERS:
            for key, limiter in list(self._groups.items()):
                if key != group and limiter.has_capacity(limiter.max_rate):
                    del self._groups[key]
        current = self._groups.get(group)
        # A new share of the budget: a group's limiter is made anew at the new rate once it has been idle a while.
        if current is None or (
            (current.max_rate, current.time_period) != (rate, period) and current.has_capacity(current.max_rate)
        ):
            current = self._groups[group] = AsyncLimiter(rate, period)
        return current


def _seconds(error: RetryAfter) -> float:
    value: int | timedelta = error._retry_after  # the public property warns about its type changing in PTB 22
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
