"""Each reply once, also when an update is handled a second time after its replica died.

A webhook update is handled again by another replica when the one that had it was killed before marking it done
(`bot.channels.telegram.inbound`). Two things are noted in the journal to prevent a second answer:

* every message sent is counted (`sent`; a message split in pieces counts per piece). The pipeline, run again for
  the same message, yields the same messages in the same order (crisis lines first, then the answer), so the
  replica that takes the update over passes over as many as were counted and sends the rest;
* when the handler's last replies are out (`replied`), the update is answered: a replica that takes it over does not
  run it again at all. Run again, the pipeline would meet the conversation as the first run left it and might say
  something else (a nudge, a question already asked), which no count can recognise.

The count is written right after the send, in a task of its own, and the next message waits for it only briefly
(`COUNT_WAIT`), so it never holds up the crisis lines and hardly the rest; a write that fails is logged and
forgotten: the price is at most a message sent twice after a takeover.
Which update the channel's sending belongs to is said by `delivering`, around the update's handling: a context
variable, so that every send made while handling it (the crisis lines through `emit`, then the replies) finds it.
Polling mode has no journal and no delivery: everything is sent, nothing counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar

logger = logging.getLogger(__name__)

COUNT_WAIT = 0.25
"""How long the next message waits for the count of the one before (normally a few milliseconds)."""
COUNT_SECONDS = 2.0
"""A count write that takes longer is given up (the database is in trouble; the reply went out anyway)."""

CountSent = Callable[[int, bool], Awaitable[None]]
"""Stores that the first n messages of the update went out, and whether that was all of them (a short unit of work;
never lowers the count)."""


class Delivery:
    """The messages of one journaled update, in the order the handling produces them: the first `already_sent` were
    sent by an earlier owner and are passed over; each one sent here is counted."""

    def __init__(self, already_sent: int, count_sent: CountSent) -> None:
        self.already_sent = max(already_sent, 0)
        self._count_sent = count_sent
        self._position = 0
        """Messages of this handling so far, passed over or sent."""
        self._counted = self.already_sent
        """The highest count stored (or found stored)."""
        self._replied = False
        self._replied_stored = False
        self._writer: asyncio.Task[None] | None = None
        self.passed_over = 0

    @property
    def position(self) -> int:
        """Messages of this handling so far (sent here, or passed over as sent before)."""
        return self._position

    def resume_after(self, messages: int) -> None:
        """Continue a handling whose first `messages` went out before its replies were kept (the crisis lines)."""
        self._position = max(self._position, messages)

    @property
    def sent(self) -> int:
        """Messages known to have gone out for the update: counted before, and sent here."""
        return max(self._position, self.already_sent)

    def sent_before(self) -> bool:
        """Whether the next message went out already under an earlier owner: then pass it over (it takes its turn)."""
        if self._position >= self.already_sent:
            return False
        self._position += 1
        self.passed_over += 1
        return True

    async def count(self) -> None:
        """The next message was sent: counted in the journal at once. The next message waits for the count up to
        `COUNT_WAIT` (a replica killed between a send and its count sends it again after a takeover, so that window
        is kept short); a count that takes longer goes on without holding up the replies."""
        self._position += 1
        self._store()
        if self._writer is not None:
            await asyncio.wait([self._writer], timeout=COUNT_WAIT)

    def replied(self) -> None:
        """The handler's last replies are out: noted in the journal soon, without waiting for it here."""
        self._replied = True
        self._store()

    def _store(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="telegram-count-sent")

    async def settle(self) -> None:
        """Wait for the last count to be written (before the update is marked done; never raises)."""
        if self._writer is not None:
            await asyncio.wait([self._writer])

    async def _write(self) -> None:
        """Write the count until it is caught up: sends made meanwhile are taken along in one write."""
        while self._counted < self._position or (self._replied and not self._replied_stored):
            target, replied = self.sent, self._replied
            try:
                await asyncio.wait_for(self._count_sent(target, replied), COUNT_SECONDS)
            except Exception as error:
                logger.warning("the sent messages of an update could not be counted (%s)", type(error).__name__)
                return
            self._counted, self._replied_stored = target, replied


_CURRENT: ContextVar[Delivery | None] = ContextVar("telegram_delivery", default=None)


def current() -> Delivery | None:
    """The delivery of the update being handled here, if it is journaled."""
    return _CURRENT.get()


@contextlib.contextmanager
def delivering(delivery: Delivery) -> Iterator[Delivery]:
    """Sends made inside belong to `delivery` (the update being handled)."""
    token = _CURRENT.set(delivery)
    try:
        yield delivery
    finally:
        _CURRENT.reset(token)
