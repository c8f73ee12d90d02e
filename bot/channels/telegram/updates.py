"""Updates handled concurrently across chats and strictly in order within one chat.

python-telegram-bot's own concurrency (`concurrent_updates(n)`) takes one global semaphore first, so a user who
sends forty messages in a row holds forty slots while those messages wait for each other, and everyone else waits
behind them. Here each chat has a queue of its own, worked through by one task; that task takes a slot of the
global limit only for the update it runs now and gives it back after each one, so busy chats take turns.

The base class's `process_update` (final) wraps `do_process_update` in a semaphore of its own; this processor
gives that semaphore one place, and `do_process_update` only hands the update to its chat's queue, waiting while
too many updates are waiting already. The application's update fetcher awaits that hand-over, so a full processor
stops it taking more updates: polling stops fetching, a webhook answers later, and Telegram holds the rest.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.storage.journal import LeaseLost

logger = logging.getLogger(__name__)

DEFAULT_MAX_CHATS = 64
"""Chats whose updates run at the same moment (database sessions, NLU calls and sends in flight)."""
DEFAULT_MAX_WAITING = 2000
"""Updates accepted but not finished; beyond this the hand-over waits (back-pressure)."""
DRAIN_SECONDS = 10.0

UrgentCheck = Callable[[object], bool]


@dataclass
class _Item:
    update: object
    coroutine: Awaitable[Any]
    handed_over: float


def chat_key(update: object) -> Hashable:
    """What must stay in order: one chat (a private chat is one user); a chat-less update with its user; else none."""
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return ("chat", update.effective_chat.id)
        if update.effective_user is not None:
            return ("user", update.effective_user.id)
    return ("alone", id(update), object())


class PerChatProcessor(BaseUpdateProcessor):
    """In order per chat, concurrent across chats, bounded in both running chats and waiting updates.

    `urgent`, when given, is asked about an update only when every slot is taken; an update it calls urgent (a
    message the safety net reads as acute) runs at once, without waiting for a slot, still after the earlier
    updates of its own chat. At most `max_chats` urgent updates run beside the ordinary ones.
    """

    def __init__(
        self,
        max_chats: int = DEFAULT_MAX_CHATS,
        max_waiting: int = DEFAULT_MAX_WAITING,
        urgent: UrgentCheck | None = None,
    ) -> None:
        if max_chats < 1 or max_waiting < 1:
            raise ValueError("max_chats and max_waiting must be at least 1")
        # One place in the base class's semaphore: the hand-over is awaited, which is what makes back-pressure.
        super().__init__(1)
        self.max_chats = max_chats
        self.max_waiting = max_waiting
        self.urgent = urgent
        """Set by whoever knows what is urgent (the composition root, once the safety net is loaded)."""
        self._slots = asyncio.Semaphore(max_chats)
        self._urgent_slots = asyncio.Semaphore(max_chats)
        self._admission = asyncio.Semaphore(max_waiting)
        self._chats: dict[Hashable, deque[_Item]] = {}
        self._workers: set[asyncio.Task[None]] = set()
        self._pending = 0
        self.on_handled: Callable[[float], None] | None = None
        """Told the seconds from hand-over to handled (waiting in the chat's queue, then running) of each update."""
        self.urgent_runs = 0
        """Updates that ran without waiting for a slot because they were urgent (for the metrics)."""

    @property
    def pending(self) -> int:
        """Updates handed over and not finished yet (waiting in a chat's queue or running)."""
        return self._pending

    def has_work(self, key: Hashable) -> bool:
        """Whether an update of this chat (`chat_key`) is waiting or running."""
        return key in self._chats

    @property
    def active_chats(self) -> int:
        """Chats with an update waiting or running; a chat with nothing left is forgotten."""
        return len(self._chats)

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Queue the update behind its chat's earlier ones; returns once it is queued, not once it is handled."""
        await self._admission.acquire()
        self._pending += 1
        item = _Item(update, coroutine, time.perf_counter())
        key = chat_key(update)
        queue = self._chats.get(key)
        if queue is not None:
            queue.append(item)
            return
        self._chats[key] = deque([item])
        worker = asyncio.create_task(self._work(key), name="telegram-chat-worker")
        self._workers.add(worker)
        worker.add_done_callback(self._workers.discard)

    async def _work(self, key: Hashable) -> None:
        queue = self._chats[key]
        try:
            while queue:
                item = queue.popleft()
                try:
                    await self._run(item)
                finally:
                    self._finished()
                if self.on_handled is not None:
                    self.on_handled(time.perf_counter() - item.handed_over)
        finally:
            # No await between the empty check and this line: nothing can have joined the queue meanwhile.
            self._chats.pop(key, None)
            for item in queue:  # only when cancelled at shutdown
                _discard(item)
                self._finished()

    async def _run(self, item: _Item) -> None:
        if self._slots.locked() and self.is_urgent(item.update):
            self.urgent_runs += 1
            async with self._urgent_slots:
                await _call(item)
            return
        async with self._slots:
            await _call(item)

    def is_urgent(self, update: object) -> bool:
        """What `urgent` says of the update; False without one, or when it fails."""
        if self.urgent is None:
            return False
        try:
            return self.urgent(update)
        except Exception:
            logger.exception("the urgency check failed; the update waits its turn")
            return False

    def _finished(self) -> None:
        self._pending -= 1
        self._admission.release()

    async def drain(self, within: float = DRAIN_SECONDS) -> bool:
        """Wait until every accepted update is handled (at shutdown); False when some were still running."""
        if not self._workers:
            return True
        _, running = await asyncio.wait(set(self._workers), timeout=within)
        return not running

    async def initialize(self) -> None:
        """Nothing to set up: queues and workers come and go with the chats."""

    async def shutdown(self) -> None:
        """Give running updates a moment, then cancel what is left (their updates are not acknowledged work)."""
        if not await self.drain():
            logger.error("%d updates were still being handled at shutdown", self._pending)
        for worker in set(self._workers):
            worker.cancel()
        if self._workers:
            await asyncio.wait(set(self._workers))


async def _call(item: _Item) -> None:
    try:
        await item.coroutine
    except Exception as error:  # Application.process_update reports handler errors itself; this is a last guard
        logger.error("an update failed: %s", type(error).__name__)
    except LeaseLost:  # another replica answers it; the chat's later updates must still be handled here
        logger.warning("an update was taken over by another replica while queued here; left to it")


def _discard(item: _Item) -> None:
    if inspect.iscoroutine(item.coroutine):
        item.coroutine.close()
