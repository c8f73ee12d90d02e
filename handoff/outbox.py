"""The outbox: what the desk sends to Telegram is written as a row in the unit of work that decided it, and a
sender delivers it after that unit of work has committed. No unit of work waits on Telegram (whose group messages
are rate-limited to 20 a minute), and nothing decided is lost in a restart.

Per destination (a topic, the group's general thread, a user) rows go out in the order they were written; what
piled up for a topic is merged into as few messages as fit. A sent row is deleted in a short unit of work of its
own: the text is stored only until it is sent. A failed send is retried with backoff and given up after
`MAX_TRIES`. Passes never overlap, in one process nor across replicas: on PostgreSQL a pass runs only under an
advisory lock (`bot.storage.exclusive`), so two replicas never send the same row, and order per destination holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, event, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import SessionTransaction

from bot.replies import Button
from bot.storage import cases, exclusive
from bot.storage.cases import CaseStatus
from bot.storage.models import Case, Database, OutboxMessage, RelayedMessage, utcnow
from handoff import display
from handoff.chatref import ChatRefs
from handoff.group_texts import GroupTexts
from handoff.hours import OfficeHours
from handoff.messenger import DeliveryError, Failure, Messenger
from handoff.routing import Routing

logger = logging.getLogger(__name__)

# Row kinds. TOPIC_KINDS go to a case's topic, in order; a GROUP or TRANSCRIPT row without a topic waits for it.
USER, ALERT, GROUP, CARD, CLOSE, RENAME, TRANSCRIPT = "user", "alert", "group", "card", "close", "rename", "transcript"
TOPIC_KINDS = (GROUP, CARD, CLOSE, RENAME)
MAX_TRIES = 6
BACKOFF_SECONDS = 2.0
BATCH = 200
BUSY_RETRY_SECONDS = 0.5
"""How soon to look again after finding another replica sending (what woke this one may be newer than its pass)."""


def new_key() -> str:
    return uuid.uuid4().hex


class Outbox:
    """Writes rows in the caller's unit of work; wakes the sender once that unit of work commits."""

    def __init__(self, clock: Callable[[], datetime] = utcnow, wake: Callable[[], None] = lambda: None) -> None:
        self._clock = clock
        self.wake = wake

    async def add(self, session: AsyncSession, row: OutboxMessage) -> bool:
        """Add a row unless one with its dedupe key is already waiting; False then."""
        self.wake_after_commit(session)
        row.next_try_at = self._clock()
        try:
            async with session.begin_nested():
                session.add(row)
        except IntegrityError:
            logger.info("a message already on its way was not queued again")
            return False
        return True

    def wake_after_commit(self, session: AsyncSession) -> None:
        """Wake the sender (and sweeper) when `session` commits: sending starts only after the commit."""
        if session.info.get("wake_outbox"):
            return
        session.info["wake_outbox"] = True

        def ended(_session: object, transaction: SessionTransaction) -> None:
            if transaction.parent is not None or transaction.nested:
                return  # a savepoint (a dedupe check) ended, not the unit of work
            if session.info.pop("wake_outbox", None):
                self.wake()  # committed or rolled back: the sender only finds committed rows

        event.listen(session.sync_session, "after_transaction_end", ended)

    async def to_topic(
        self,
        session: AsyncSession,
        group: str | None,
        topic_id: int,
        html_text: str,
        key: str,
        case_id: int | None = None,
    ) -> None:
        """A message in a topic of `group` (a case's `handoff_group`); with `case_id` when it holds the user's words
        (then erased with the case)."""
        row = OutboxMessage(
            dedupe_key=key, case_id=case_id, kind=GROUP, handoff_group=group, topic_id=topic_id, text=html_text
        )
        await self.add(session, row)

    async def card(self, session: AsyncSession, case: Case, html_text: str, buttons: Sequence[Button]) -> None:
        encoded = json.dumps([[button.label, button.action] for button in buttons])
        row = OutboxMessage(
            dedupe_key=f"card:{case.id}:{case.topic_id}",
            kind=CARD,
            handoff_group=case.handoff_group,
            topic_id=case.topic_id,
            text=html_text,
            buttons=encoded,
        )
        await self.add(session, row)

    async def alert(self, session: AsyncSession, group: str | None, html_text: str, key: str) -> None:
        await self.add(session, OutboxMessage(dedupe_key=key, kind=ALERT, handoff_group=group, text=html_text))

    async def close_topic(self, session: AsyncSession, group: str | None, topic_id: int) -> None:
        row = OutboxMessage(
            dedupe_key=f"close:{topic_id}:{new_key()}", kind=CLOSE, handoff_group=group, topic_id=topic_id
        )
        await self.add(session, row)

    async def rename_topic(self, session: AsyncSession, group: str | None, topic_id: int, name: str) -> None:
        row = OutboxMessage(
            dedupe_key=f"rename:{new_key()}", kind=RENAME, handoff_group=group, topic_id=topic_id, text=name
        )
        await self.add(session, row)

    async def to_user(self, session: AsyncSession, case: Case, text: str, key: str) -> None:
        """A message to the case's user; nothing when the case no longer knows the user's chat."""
        if case.chat_ref is None:
            return
        row = OutboxMessage(dedupe_key=key, case_id=case.id, kind=USER, chat_ref=case.chat_ref, text=text)
        await self.add(session, row)

    async def hold_transcript(self, session: AsyncSession, case: Case, lines: Sequence[str]) -> None:
        """A transcript shared before the case has a topic: it goes on the case card."""
        row = OutboxMessage(
            dedupe_key=f"transcript:{new_key()}", case_id=case.id, kind=TRANSCRIPT, text=json.dumps(list(lines))
        )
        await self.add(session, row)

    async def held_transcript(self, session: AsyncSession, case_id: int) -> list[str] | None:
        """The latest transcript held for the case card, taken out of the outbox."""
        query = select(OutboxMessage).where(OutboxMessage.case_id == case_id, OutboxMessage.kind == TRANSCRIPT)
        held = (await session.scalars(query.order_by(OutboxMessage.id))).all()
        for row in held:
            await session.delete(row)
        return json.loads(held[-1].text or "[]") if held else None

    async def release_held(self, session: AsyncSession, case_id: int, topic_id: int) -> None:
        """Messages that waited for the case's topic go to it, after what was just written (the card)."""
        query = select(OutboxMessage).where(
            OutboxMessage.case_id == case_id, OutboxMessage.kind == GROUP, OutboxMessage.topic_id.is_(None)
        )
        held = (await session.scalars(query.order_by(OutboxMessage.id))).all()
        for row in held:
            await session.delete(row)
        await session.flush()
        for row in held:
            session.add(
                OutboxMessage(
                    dedupe_key=row.dedupe_key,
                    case_id=case_id,
                    kind=GROUP,
                    handoff_group=row.handoff_group,
                    topic_id=topic_id,
                    text=row.text,
                )
            )

    async def forget_user_messages(self, session: AsyncSession, case_id: int) -> None:
        """Nothing more goes to this case's user (they left, or cannot be reached)."""
        kinds = (USER, TRANSCRIPT)
        await session.execute(
            delete(OutboxMessage).where(OutboxMessage.case_id == case_id, OutboxMessage.kind.in_(kinds))
        )

    async def forget_transcripts(self, session: AsyncSession, case_id: int) -> None:
        """A transcript waiting for the case card goes with the case when it closes."""
        query = delete(OutboxMessage).where(OutboxMessage.case_id == case_id, OutboxMessage.kind == TRANSCRIPT)
        await session.execute(query)


async def relay_once(session: AsyncSession, case: Case, direction: str, message_id: int) -> bool:
    """Record that a message is relayed; False when it already was (Telegram delivered the update again)."""
    try:
        async with session.begin_nested():
            session.add(RelayedMessage(case_id=case.id, direction=direction, source_message_id=message_id))
    except IntegrityError:
        logger.info("case %s: a redelivered message was not relayed again", case.pseudonym)
        return False
    return True


async def erase_for_cases(session: AsyncSession, case_ids: Sequence[int]) -> None:
    """Delete everything on its way to or from these cases' users (/vergeet, retention)."""
    await session.execute(delete(OutboxMessage).where(OutboxMessage.case_id.in_(case_ids)))


@dataclass(frozen=True)
class _Row:
    """A row as read for sending (detached from any session)."""

    id: int
    kind: str
    group: str | None
    case_id: int | None
    topic_id: int | None
    chat_ref: str | None
    text: str | None
    buttons: str | None
    tries: int

    @property
    def destination(self) -> tuple[str, str | None, int | None]:
        if self.kind == USER:
            return (USER, None, self.case_id if self.case_id is not None else -self.id)
        if self.kind == ALERT:
            return (ALERT, self.group, None)
        return (GROUP, self.group, self.topic_id)


class Sender:
    """Delivers the outbox after commit: woken by each commit that wrote to it, and every `interval` seconds.

    Rows for the group go through their group's messenger; messages to users through `messenger`."""

    def __init__(
        self,
        database: Database,
        messenger: Messenger,
        outbox: Outbox,
        texts: GroupTexts,
        chat_refs: ChatRefs,
        clock: Callable[[], datetime] = utcnow,
        routing: Routing | None = None,
        groups: Mapping[str, Messenger] | None = None,
    ) -> None:
        self._database = database
        self._messenger = messenger
        self._routing = routing or Routing.single(None, OfficeHours(None))
        self._groups = groups or {}
        self._outbox = outbox
        self._texts = texts
        self._chat_refs = chat_refs
        self._clock = clock
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._stopping = False
        self._busy_elsewhere = False
        self.republish: Callable[[], None] = lambda: None
        """Called when a case lost its topic and waits to be published again (the sweeper's wake)."""

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self, interval: float) -> None:
        """Deliver until `stop`; stopped between passes, never in the middle of one."""
        while not self._stopping:
            wait = min(interval, BUSY_RETRY_SECONDS) if self._busy_elsewhere else interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
            self._wake.clear()
            try:
                await self.deliver()
            except Exception:
                logger.exception("delivering the outbox failed")

    async def drain(self) -> None:
        """Deliver until nothing is due (at shutdown, and in tests); what waits for a retry stays for later."""
        while await self.deliver():
            pass

    async def deliver(self) -> int:
        """One pass: send what is due, each destination in order, destinations side by side. Returns rows done (0
        also when another replica is sending: it sends what is due, and this one looks again shortly)."""
        async with self._lock, exclusive.only_one(self._database, exclusive.OUTBOX_SENDER) as mine:
            if not mine:
                self._busy_elsewhere = True
                return 0
            self._busy_elsewhere = False
            rows = await self._due()
            by_destination: dict[tuple[str, str | None, int | None], list[_Row]] = {}
            for row in rows:
                by_destination.setdefault(row.destination, []).append(row)
            done = await asyncio.gather(*(self._deliver_in_order(queue) for queue in by_destination.values()))
            return sum(done)

    async def _due(self) -> list[_Row]:
        query = (
            select(OutboxMessage)
            .where(
                OutboxMessage.next_try_at <= self._clock(),
                or_(OutboxMessage.kind.in_((USER, ALERT)), OutboxMessage.topic_id.is_not(None)),
                OutboxMessage.kind != TRANSCRIPT,
            )
            .order_by(OutboxMessage.id)
            .limit(BATCH)
        )
        async with self._database.sessions() as session:
            found = (await session.scalars(query)).all()
            return [
                _Row(r.id, r.kind, r.handoff_group, r.case_id, r.topic_id, r.chat_ref, r.text, r.buttons, r.tries)
                for r in found
            ]

    async def _deliver_in_order(self, queue: list[_Row]) -> int:
        done = 0
        while queue:
            batch = _merged(queue)
            try:
                await self._send(batch[0], "\n\n".join(row.text or "" for row in batch))
            except DeliveryError as error:
                await self._failed(batch, error.failure)
                return done + (len(batch) if error.failure is not Failure.OTHER else 0)
            except ValueError:  # a chat reference this secret cannot open: nothing to try again
                logger.error("gave up a message to a user: the chat reference cannot be read")
                await self._remove(batch)
            else:
                await self._remove(batch)
            done += len(batch)
            del queue[: len(batch)]
        return done

    def _group(self, name: str | None) -> Messenger:
        """The messenger of a row's group (a row from before routing, or of a removed group: the default one)."""
        return self._groups.get(self._routing.group(name).name, self._messenger)

    async def _send(self, row: _Row, text: str) -> None:
        if row.kind == USER:
            await self._messenger.to_user(self._chat_refs.open(row.chat_ref or ""), text)
            return
        group = self._group(row.group)
        if row.kind == ALERT:
            await group.to_group(text)
        elif row.kind == CARD:
            buttons = [Button(label, action) for label, action in json.loads(row.buttons or "[]")]
            await group.to_group(text, row.topic_id, buttons)
        elif row.kind == CLOSE and row.topic_id is not None:
            await group.close_topic(row.topic_id)
        elif row.kind == RENAME and row.topic_id is not None:
            await group.rename_topic(row.topic_id, text)
        else:
            await group.to_group(text, row.topic_id)

    async def _remove(self, batch: Sequence[_Row]) -> None:
        """Sent: the rows (and the text in them) are deleted."""
        async with self._database.sessions.begin() as session:
            await session.execute(delete(OutboxMessage).where(OutboxMessage.id.in_([row.id for row in batch])))

    async def _failed(self, batch: Sequence[_Row], failure: Failure) -> None:
        first = batch[0]
        if failure is Failure.USER_GONE and first.kind == USER and first.case_id is not None:
            await self._user_gone(first.case_id)
        elif failure is Failure.TOPIC_GONE and first.topic_id is not None:
            await self._topic_gone(first.group, first.topic_id)
        else:
            await self._retry_later(batch)

    async def _retry_later(self, batch: Sequence[_Row]) -> None:
        tries = batch[0].tries + 1
        if tries >= MAX_TRIES:
            logger.error("gave up a message (%s) after %d tries", batch[0].kind, tries)
            await self._remove(batch)
            return
        later = self._clock() + timedelta(seconds=BACKOFF_SECONDS * 2 ** (tries - 1))
        async with self._database.sessions.begin() as session:
            ids = [row.id for row in batch]
            await session.execute(
                update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(tries=tries, next_try_at=later)
            )

    async def _user_gone(self, case_id: int) -> None:
        """The user blocked the bot: the case closes and the professional is told, kindly."""
        async with self._database.sessions.begin() as session:
            await self._outbox.forget_user_messages(session, case_id)
            case = await session.get(Case, case_id)
            if case is None or case.status not in cases.OPEN:
                return
            await cases.set_status(case, CaseStatus.CLOSED)
            case.closed_at, case.chat_ref = self._clock(), None
            if case.topic_id is not None:
                group, unreachable = case.handoff_group, self._texts.text("user_unreachable")
                await self._outbox.to_topic(session, group, case.topic_id, unreachable, new_key())
                await self._outbox.close_topic(session, group, case.topic_id)
        logger.info("a case was closed: its user cannot be reached any more")

    async def _topic_gone(self, group: str | None, topic_id: int) -> None:
        """Staff deleted a case's topic: a live case is published again in a new topic, with what waited for it."""
        name = self._routing.group(group).name
        async with self._database.sessions.begin() as session:
            mine = self._routing.owns(Case.handoff_group, name)
            query = select(Case).where(Case.topic_id == topic_id, mine).order_by(Case.id.desc()).limit(1)
            case = (await session.scalars(query)).first()
            in_topic = (OutboxMessage.topic_id == topic_id) & self._routing.owns(OutboxMessage.handoff_group, name)
            if case is not None and case.status in cases.LIVE:
                keep = in_topic & (OutboxMessage.case_id == case.id) & (OutboxMessage.kind == GROUP)
                await session.execute(update(OutboxMessage).where(keep).values(topic_id=None))
                case.status, case.topic_id, case.alerted_at, case.realerted_at = CaseStatus.REQUESTED, None, None, None
                case.claimed_by = case.claimed_name = case.claimed_at = None
                logger.warning("case %s lost its topic; it is published again", case.pseudonym)
            await session.execute(delete(OutboxMessage).where(in_topic))
        self.republish()


def _mergeable(row: _Row) -> bool:
    """What a user wrote (or a flag about it) may be merged; the desk's own notes go out as they are."""
    return row.kind == GROUP and row.case_id is not None


def _merged(queue: Sequence[_Row]) -> list[_Row]:
    """The first row, and the user's messages after it that fit with it into one Telegram message."""
    first = queue[0]
    if not _mergeable(first):
        return [first]
    batch, length = [first], display.visible_length(first.text or "")
    for row in queue[1:]:
        length += 2 + display.visible_length(row.text or "")
        if not _mergeable(row) or length > display.TELEGRAM_TEXT_LIMIT:
            break
        batch.append(row)
    return batch
