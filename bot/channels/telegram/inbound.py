"""Webhook updates without loss and without doing anything twice, across replicas (`bot.storage.journal`).

An update is stored in the journal before Telegram gets its 200, so a replica that dies afterwards (SIGKILL, a
node lost) loses nothing: its lease runs out and another replica's `Inbox` takes the update over within
`LEASE + TICK_SECONDS`, without sending again what the dead replica had sent (`bot.channels.telegram.delivery`).
An acute message (the rules alone, as the processor's queue reads it) is leased for `URGENT_LEASE` instead, so that
when its replica dies the crisis lines come from another within `URGENT_LEASE + TICK_SECONDS`, not twenty seconds on.
The replies a unit of work decided on are kept in the update's row in that same unit of work (`bot.replies.keep`),
so an update whose change was committed is not handled again: what is left of its kept replies is sent. A copy of
an update that is already in the journal (Telegram redelivers; two replicas may each get one) is answered 200 and
not acted on. When the database does not answer, the update is handled in memory
at once (the pipeline sends the crisis lines and the "can't answer now" reply without a database) and the 200 waits
until that is done.

What is stored while an update waits or runs: the update without names, usernames, chat titles or phone numbers
(`strip_identities`), encrypted with a key derived from the pseudonym secret (Fernet), for seconds. Once the work is
done the payload is deleted; the update id and the time stay for a day to recognise redeliveries.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import functools
import json
import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Update
from telegram.ext import Application, ExtBot

from bot import replies
from bot.channels.telegram.context import send_to_chat
from bot.channels.telegram.delivery import Delivery, delivering
from bot.channels.telegram.updates import PerChatProcessor
from bot.storage import journal
from bot.storage.models import Database, utcnow
from bot.storage.sealed import Sealer

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=20)
"""How long an update is its owner's without a renewal; the owner renews every tick while the work runs."""
TICK_SECONDS = 3.0
"""How often each replica renews its leases and looks for updates whose owner died."""
URGENT_LEASE = timedelta(seconds=7)
"""An acute message's lease, renewed every tick like the others: one late renewal is tolerated. Shorter means
sooner crisis lines after a crash, and more often an update taken from a replica that merely stalled for about 4 s:
it loses the lease and commits nothing (`journal.LeaseLost`), and what it counted sent is not sent again; a reply it
was sending after its commit when it stalled may go out twice. Leases compare the replicas' clocks: they must agree
to well within a second or two (NTP)."""
JOURNAL_SECONDS = 5.0
"""A journal write that takes longer counts as a database that is down (the update is then handled in memory)."""
FORGET_EVERY = timedelta(hours=1)

BLANKED = frozenset({"first_name", "phone_number"})
"""Required by python-telegram-bot's classes, so kept as empty strings."""
DROPPED = frozenset({"last_name", "username", "active_usernames", "sender_user_name", "author_signature", "bio"})
CHAT_TYPES = frozenset({"private", "group", "supergroup", "channel"})


class Outcome(enum.Enum):
    STORED = "stored"
    """New: stored and handed to the processor."""
    DUPLICATE = "duplicate"
    """Already in the journal: not acted on again."""
    IN_MEMORY = "in_memory"
    """The database did not answer: handled in memory, done before the 200."""


def strip_identities(value: Any) -> Any:
    """The update without what the bot never needs and must never store: names, usernames, chat titles, phone
    numbers (a copy; ids, text and the language code stay, the handlers need them)."""
    if isinstance(value, list):
        return [strip_identities(item) for item in value]
    if not isinstance(value, dict):
        return value
    is_chat = value.get("type") in CHAT_TYPES and "id" in value
    kept: dict[str, Any] = {}
    for key, item in value.items():
        if key in DROPPED or (is_chat and key == "title"):
            continue
        kept[key] = "" if key in BLANKED else strip_identities(item)
    return kept


class PayloadSealer:
    """Stored payloads sealed under a key of their own, derived from the pseudonym secret all replicas share."""

    def __init__(self, secret: bytes) -> None:
        self._sealer = Sealer(secret, b"inbound-update-key")

    def seal(self, data: dict[str, Any]) -> str:
        return self._sealer.seal(json.dumps(data, separators=(",", ":")))

    def seal_text(self, text: str) -> str:
        return self._sealer.seal(text)

    def open_text(self, sealed: str) -> str:
        return self._sealer.open(sealed)

    def open(self, sealed: str) -> dict[str, Any]:
        try:
            data = json.loads(self._sealer.open(sealed))
        except ValueError as error:
            raise ValueError("a stored update cannot be read with this secret") from error
        if not isinstance(data, dict):
            raise ValueError("a stored update is not an object")
        return data


class Inbox:
    """One webhook process's side of the journal: store, hand over, mark done; renew leases; take over."""

    def __init__(
        self,
        application: Application,  # type: ignore[type-arg]
        database: Database,
        secret: bytes,
        clock: Callable[[], datetime] = utcnow,
        lease: timedelta = LEASE,
    ) -> None:
        self._application = application
        self._database = database
        self._sealer = PayloadSealer(secret)
        self._clock = clock
        self._lease = lease
        self._urgent_lease = min(lease, URGENT_LEASE)
        self.owner = secrets.token_hex(8)
        """Random per process: names this process's leases, and nothing else."""
        self._working: set[int] = set()
        """Update ids this process holds a lease on (queued, running, or done but not yet marked done)."""
        self._unmarked: set[int] = set()
        """Done, but the database did not take the mark yet: retried every tick, lease renewed meanwhile."""
        self._urgent: set[int] = set()
        """Those of `_working` that are acute messages: leased for `URGENT_LEASE`."""
        self._stop = asyncio.Event()
        self._taking_over: set[asyncio.Task[None]] = set()
        self._forgotten_at: datetime | None = None
        self.duplicates = 0
        self.taken_over = 0
        self.in_memory = 0
        self.not_resent = 0
        """Messages of taken-over updates not sent again: their earlier owner had sent them."""

    def parse(self, data: object) -> tuple[Update, dict[str, Any]]:
        """The update as it will be stored and handled (identities stripped); ValueError when it is not one."""
        if not isinstance(data, dict):
            raise ValueError("an update is a JSON object")
        kept = strip_identities(data)
        try:
            update = Update.de_json(kept, self._application.bot)
        except (TypeError, KeyError, AttributeError) as error:
            raise ValueError("not a Telegram update") from error
        return update, kept

    async def receive(self, update: Update, kept: dict[str, Any]) -> Outcome:
        """Store the update and hand it to the processor (returns once it is queued: the processor's back-pressure
        holds the 200 back while it is full); a copy already stored is left alone; without a database, handle it
        now and return once it is done."""
        urgent = self._is_urgent(update)
        lease = self._urgent_lease if urgent else self._lease
        try:
            stored = await asyncio.wait_for(
                journal.record(
                    self._database, update.update_id, self._sealer.seal(kept), self.owner, self._clock(), lease
                ),
                JOURNAL_SECONDS,
            )
        except Exception as error:
            logger.error("the journal could not store an update (%s); it is handled in memory", type(error).__name__)
            self.in_memory += 1
            await self._handle_now(update)
            return Outcome.IN_MEMORY
        if not stored:
            self.duplicates += 1
            return Outcome.DUPLICATE
        if urgent:
            self._urgent.add(update.update_id)
        await self._hand_over(update)
        return Outcome.STORED

    def _is_urgent(self, update: Update) -> bool:
        """What the processor's queue calls urgent (the composition root sets it): an acute message, by the rules."""
        processor = self._application.update_processor
        return isinstance(processor, PerChatProcessor) and processor.is_urgent(update)

    async def _hand_over(self, update: Update, already_sent: int = 0) -> None:
        self._working.add(update.update_id)
        processor = self._application.update_processor
        await processor.process_update(update, self._work(update, already_sent))

    async def _hand_over_kept(self, update: Update, row: journal.Claimed) -> None:
        """A taken-over update whose unit of work committed: its kept replies are sent (what is left of them), in the
        chat's order; the message is not handled again on the state that unit of work left."""
        self._working.add(update.update_id)
        processor = self._application.update_processor
        await processor.process_update(update, self._send_kept(update, row))

    async def _send_kept(self, update: Update, row: journal.Claimed) -> None:
        chat = update.effective_chat
        try:
            kept = replies.decode(self._sealer.open_text(row.replies or ""))
        except ValueError:
            logger.error("the kept replies of an update could not be read; it is handled again")
            kept = None
        if kept is None or chat is None:
            await self._work(update, row.sent)
            return
        count = functools.partial(journal.count_sent, self._database, update.update_id)
        sending = Delivery(max(row.sent, row.replies_from), count)
        sending.resume_after(row.replies_from)
        with delivering(sending):
            try:
                bot = cast("ExtBot[str]", self._application.bot)
                await send_to_chat(bot, chat.id, [reply for reply in kept if not reply.in_place])
            except Exception as error:
                logger.error("the kept replies of an update could not be sent: %s", type(error).__name__)
        self.not_resent += sending.passed_over
        await sending.settle()
        await self._finish(update.update_id)

    async def _work(self, update: Update, already_sent: int) -> None:
        """Handle the update (replies sent, each counted; those an earlier owner sent passed over), then mark it
        done. Cancelled at shutdown, it stays pending: released."""
        sending = Delivery(already_sent, functools.partial(journal.count_sent, self._database, update.update_id))
        keeper = functools.partial(self._keep, update.update_id, sending)
        with delivering(sending), replies.keeping(keeper):
            try:
                await self._application.process_update(update)
            except journal.LeaseLost:
                logger.warning("an update was taken over by another replica while this one worked on it; left to it")
                self._working.discard(update.update_id)
                return
            except Exception as error:  # Application.process_update reports handler errors itself; a last guard
                logger.error("an update failed: %s", type(error).__name__)
        self.not_resent += sending.passed_over
        await sending.settle()
        await self._finish(update.update_id)

    async def _keep(
        self, update_id: int, sending: Delivery, session: AsyncSession, decided: list[replies.Reply]
    ) -> None:
        """In the unit of work that decided them: the replies, with how many messages went out before them."""
        sealed = self._sealer.seal_text(replies.encode(decided))
        await journal.keep_replies(session, update_id, self.owner, sealed, sending.position)

    async def _finish(self, update_id: int) -> None:
        try:
            await asyncio.wait_for(journal.finish(self._database, [update_id], self._clock()), JOURNAL_SECONDS)
        except Exception as error:
            logger.warning("an update could not be marked done yet (%s); retried", type(error).__name__)
            self._unmarked.add(update_id)
            return
        self._working.discard(update_id)

    async def _handle_now(self, update: Update) -> None:
        """Through the processor (in order behind the chat's earlier updates), waiting until the work is done.

        The insert may have reached the database after all (a write that timed out): then the row is this
        process's, so its lease is renewed while the work runs, the replies are counted and kept as on the normal
        path, and the next tick marks it done (a no-op when there is no row): no replica takes it over and acts
        again."""
        done = asyncio.get_running_loop().create_future()
        self._working.add(update.update_id)
        sending = Delivery(0, functools.partial(journal.count_sent, self._database, update.update_id))
        keeper = functools.partial(self._keep, update.update_id, sending)
        lost = False

        async def work() -> None:
            nonlocal lost
            try:
                with delivering(sending), replies.keeping(keeper):
                    await self._application.process_update(update)
            except journal.LeaseLost:
                # The late insert landed with a lease that ran out before a renewal (an acute message's is short):
                # another replica took it over and answers it; this one neither commits nor marks it done.
                logger.warning("an update handled in memory was taken over by another replica; left to it")
                lost = True
            finally:
                if not done.done():
                    done.set_result(None)

        await self._application.update_processor.process_update(update, work())
        await done
        if lost:
            self._working.discard(update.update_id)
            return
        self._unmarked.add(update.update_id)

    async def tick(self) -> None:
        """Renew this process's leases, retry marks that failed, take over updates whose owner died."""
        now = self._clock()
        self._urgent &= self._working
        await journal.renew(self._database, self._urgent, self.owner, now, self._urgent_lease)  # the short ones first
        await journal.renew(self._database, self._working - self._urgent, self.owner, now, self._lease)
        if self._unmarked:
            marking = set(self._unmarked)
            await journal.finish(self._database, marking, now)
            self._unmarked -= marking
            self._working -= marking
        claimed = await journal.claim(self._database, self.owner, now, self._lease, self._room())
        if claimed:
            self._working.update(row.update_id for row in claimed)
            # Handed over beside the tick, so that a full processor never holds up the renewal of the leases.
            task = asyncio.create_task(self._take_over(claimed), name="inbound-take-over")
            self._taking_over.add(task)
            task.add_done_callback(self._taking_over.discard)
        if self._forgotten_at is None or now - self._forgotten_at >= FORGET_EVERY:
            async with self._database.sessions.begin() as session:
                await journal.forget_done(session, now)
            self._forgotten_at = now

    def _room(self) -> int:
        processor = self._application.update_processor
        if isinstance(processor, PerChatProcessor):
            return min(journal.CLAIM_BATCH, processor.max_waiting - processor.pending)
        return journal.CLAIM_BATCH

    async def _take_over(self, claimed: list[journal.Claimed]) -> None:
        """Hand the claimed updates over in update-id order, which keeps each chat's order (the processor queues
        per chat)."""
        for row in claimed:
            try:
                update, _ = self.parse(self._sealer.open(row.payload or ""))
            except ValueError:
                logger.error("a stored update could not be read; it is dropped")
                self._unmarked.add(row.update_id)
                continue
            self.taken_over += 1
            if self._is_urgent(update):  # from the next tick on, short again: this replica may die too
                self._urgent.add(row.update_id)
            if row.replied:  # its replies all went out before its owner died: only the mark was missing
                self.not_resent += row.sent
                self._unmarked.add(row.update_id)
                continue
            if row.replies is not None:  # its unit of work committed: send what it decided, do not decide again
                await self._hand_over_kept(update, row)
                continue
            await self._hand_over(update, row.sent)

    async def run(self, interval: float = TICK_SECONDS) -> None:
        """Tick every `interval` seconds until `stop`; a tick that fails (database down) is tried again next time."""
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), interval)
            if self._stop.is_set():
                break
            try:
                await self.tick()
            except Exception as error:
                logger.warning("the journal tick failed (%s); tried again in %.0f s", type(error).__name__, interval)
        for task in set(self._taking_over):  # what they did not hand over yet is given back by `release`
            task.cancel()
        if self._taking_over:
            await asyncio.wait(set(self._taking_over))

    def stop(self) -> None:
        self._stop.set()

    async def release(self) -> None:
        """At shutdown, once the processor is done: mark what was done, give back what was not, for another replica
        to take over at once instead of after the lease."""
        now = self._clock()
        try:
            await journal.finish(self._database, self._unmarked, now)
            released = await journal.release(self._database, self._working - self._unmarked, self.owner, now)
        except Exception as error:
            logger.error("could not give back unfinished updates (%s); their leases run out", type(error).__name__)
            return
        if released:
            logger.info("gave back %d unfinished updates for another replica", released)
        self._working.clear()
        self._unmarked.clear()
        self._urgent.clear()
