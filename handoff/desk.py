"""The live handoff desk: cases become forum topics in the professionals' group, and messages are relayed.

Anonymous both ways: the group sees a pseudonym, never a Telegram name, username, id or phone number; the user sees
the name or role a professional chose with /naam, never their account. Everything the desk needs to carry on after a
restart lives in the database (cases, topics, relayed message ids); message text is never stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import html
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content import Content
from bot.insights.report import last_complete_weeks
from bot.insights.report import summary as insight_summary
from bot.pseudonym import Pseudonymiser
from bot.replies import Button
from bot.storage import cases
from bot.storage.models import Case, Database, Professional, RelayedMessage, utcnow
from handoff import display
from handoff.chatref import ChatRefs
from handoff.hours import AMSTERDAM, OfficeHours

logger = logging.getLogger(__name__)

PROFESSIONAL_CHANNEL = "telegram-professional"
MAX_NAME = 40
# A message longer than Telegram allows is relayed in at most this many parts (Telegram itself caps a user's message
# at 4,096 characters, so this only bites for other channels); the last part then ends with a marker.
MAX_RELAY_PARTS = 4
# Each line of a shared transcript keeps at least this much when the case card has to be shortened to fit.
MIN_TRANSCRIPT_LINE = 80


class Outcome(enum.Enum):
    ALERTED = "alerted"
    """The group was alerted; the user waits in the chat."""
    ALERTED_OUTSIDE_HOURS = "alerted_outside_hours"
    """Urgent outside office hours: the group was alerted anyway, but nobody may be online."""
    OUTSIDE_HOURS = "outside_hours"
    """Not urgent and outside office hours: the user may leave the case for the next working day."""
    UNAVAILABLE = "unavailable"
    """No professionals' group is connected, or it could not be reached."""


class DeliveryError(Exception):
    """Telegram did not take a message (network, rights, a deleted topic)."""


class Messenger(Protocol):
    """What the desk needs from Telegram; `bot.channels.telegram` implements it with python-telegram-bot."""

    async def create_topic(self, name: str) -> int: ...
    async def rename_topic(self, topic_id: int, name: str) -> None: ...
    async def close_topic(self, topic_id: int) -> None: ...
    async def to_group(self, html_text: str, topic_id: int | None = None, buttons: Sequence[Button] = ()) -> int: ...
    async def to_user(self, chat_id: int, text: str, buttons: Sequence[Button] = ()) -> int: ...
    async def is_member(self, user_id: int) -> bool: ...


class Desk(Protocol):
    """What the pipeline asks of the desk, with or without a professionals' group."""

    live: bool

    async def open(self, session: AsyncSession, case: Case, chat_id: int | None) -> Outcome: ...
    async def park(self, session: AsyncSession, case: Case) -> None: ...
    def next_opening(self) -> datetime | None: ...
    async def from_user(self, session: AsyncSession, case: Case, text: str | None, message_id: int | None) -> None: ...
    async def flag(self, session: AsyncSession, case: Case, category: str) -> None: ...
    async def share_transcript(self, session: AsyncSession, case: Case, lines: Sequence[str]) -> None: ...
    async def user_left(self, session: AsyncSession, case: Case, key: str = "user_stopped") -> None: ...
    def wake(self) -> None: ...


class OfflineDesk:
    """No professionals' group (the console, or Telegram without HANDOFF_CHAT_ID): cases are recorded only."""

    live = False

    async def open(self, session: AsyncSession, case: Case, chat_id: int | None) -> Outcome:
        return Outcome.UNAVAILABLE

    async def park(self, session: AsyncSession, case: Case) -> None:
        await cases.set_status(case, cases.PARKED)

    def next_opening(self) -> datetime | None:
        return None

    async def from_user(self, session: AsyncSession, case: Case, text: str | None, message_id: int | None) -> None:
        return None

    async def flag(self, session: AsyncSession, case: Case, category: str) -> None:
        return None

    async def share_transcript(self, session: AsyncSession, case: Case, lines: Sequence[str]) -> None:
        return None

    async def user_left(self, session: AsyncSession, case: Case, key: str = "user_stopped") -> None:
        await cases.set_status(case, cases.CLOSED)

    def wake(self) -> None:
        return None


class LiveDesk:
    live = True

    def __init__(
        self,
        database: Database,
        messenger: Messenger,
        content: Content,
        chat_refs: ChatRefs,
        pseudonyms: Pseudonymiser,
        hours: OfficeHours,
        claim_timeout: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._database = database
        self._messenger = messenger
        self._content = content
        self._chat_refs = chat_refs
        self._pseudonyms = pseudonyms
        self._hours = hours
        self._claim_timeout = claim_timeout
        self._clock = clock
        self._wake = asyncio.Event()
        self._stopping = False
        # Transcripts a user agreed to share before their case reached the group; memory only, never stored.
        self._pending_transcripts: dict[int, list[str]] = {}
        # What users wrote, on its way to their case's topic (see `_queue`); memory only, never stored.
        self._outbox: dict[int, list[str]] = {}
        self._couriers: dict[int, asyncio.Task[None]] = {}

    # -- the user's side (called by the pipeline, inside its unit of work) -----------------------------------

    async def open(self, session: AsyncSession, case: Case, chat_id: int | None) -> Outcome:
        """Queue the case for the group. Publishing happens in the sweeper, after the user's unit of work has
        committed, so the user never waits on the group (whose messages Telegram limits to 20 a minute)."""
        if chat_id is None:
            return Outcome.UNAVAILABLE
        case.chat_ref = self._chat_refs.seal(chat_id)
        case.urgent = case.risk == "acute"
        in_hours = self._hours.is_open(self._clock())
        if not in_hours and not case.urgent:
            case.status = cases.OUTSIDE_HOURS
            return Outcome.OUTSIDE_HOURS
        case.status = cases.REQUESTED
        return Outcome.ALERTED if in_hours else Outcome.ALERTED_OUTSIDE_HOURS

    def wake(self) -> None:
        """Something may be waiting for the group: sweep now rather than at the next interval."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self, interval: float) -> None:
        """The sweeper: publish and re-alert, when woken and every `interval` seconds, until `stop`.

        It is stopped between sweeps, not cancelled in the middle of one: cancelling a database session half-way
        can leave the connection pool waiting for it.
        """
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval)
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self.sweep()
            except Exception:
                logger.exception("handoff sweep failed")

    def next_opening(self) -> datetime | None:
        return self._hours.next_opening(self._clock())

    async def park(self, session: AsyncSession, case: Case) -> None:
        """The user leaves the case for the next working day."""
        await cases.set_status(case, cases.PARKED)

    async def from_user(self, session: AsyncSession, case: Case, text: str | None, message_id: int | None) -> None:
        """Relay a user's message into the case's topic, once, however often Telegram delivers it."""
        if case.topic_id is None or message_id is None:
            return
        if not await self._first_delivery(session, case, "in", message_id):
            return
        if text is None:
            self._queue(self._content.group("user_non_text"), case.topic_id)
            return
        for part in self._relayed(text):
            self._queue(part, case.topic_id)

    def _relayed(self, text: str) -> list[str]:
        """The group messages that carry a user's text: neutralised, escaped, and split to fit Telegram."""
        text = display.neutralise(text)
        whole = self._content.group("user_message").format(text=html.escape(text))
        if display.visible_length(whole) <= display.TELEGRAM_TEXT_LIMIT:
            return [whole]
        template = self._content.group("user_message_part")
        frame = template.format(text="", part=MAX_RELAY_PARTS, parts=MAX_RELAY_PARTS)
        room = display.TELEGRAM_TEXT_LIMIT - display.visible_length(frame)
        pieces = display.split(text, room)
        if len(pieces) > MAX_RELAY_PARTS:
            marker = self._content.group("cut_marker")
            pieces = [
                *pieces[: MAX_RELAY_PARTS - 1],
                display.truncate(" ".join(pieces[MAX_RELAY_PARTS - 1 :]), room, marker),
            ]
        return [
            template.format(text=html.escape(piece), part=number, parts=len(pieces))
            for number, piece in enumerate(pieces, start=1)
        ]

    async def flag(self, session: AsyncSession, case: Case, category: str) -> None:
        """A new acute message during a handoff: the topic is flagged (and renamed urgent)."""
        if case.topic_id is None:
            return
        reason = html.escape(self._content.group("reason", category))
        self._queue(self._content.group("flag").format(reason=reason), case.topic_id)
        if not case.urgent:
            case.urgent = True
            await self._rename(case)

    async def share_transcript(self, session: AsyncSession, case: Case, lines: Sequence[str]) -> None:
        """Show the user's recent messages to the professionals (only called with the user's consent)."""
        if not lines:
            return
        if case.topic_id is None:  # not published yet: the card will carry it
            self._pending_transcripts[case.id] = list(lines)
            self.wake()
            return
        await self._send_group(self._transcript(lines, display.TELEGRAM_TEXT_LIMIT), case.topic_id)

    def _transcript(self, lines: Sequence[str], room: int) -> str:
        """The user's recent messages, neutralised and escaped; each line is shortened (with a marker) as far as
        needed to keep the whole within `room` characters as Telegram counts them."""
        header = self._content.group("transcript_header")
        lines = [display.neutralise(line) for line in lines]
        bullets = "• " * len(lines) + "\n" * len(lines)
        share = (room - display.visible_length(header) - display.units(bullets)) // max(len(lines), 1)
        marker = self._content.group("cut_marker")
        body = "\n".join(
            f"• {html.escape(display.truncate(line, max(share, MIN_TRANSCRIPT_LINE), marker))}" for line in lines
        )
        return f"{header}\n{body}"

    async def user_left(self, session: AsyncSession, case: Case, key: str = "user_stopped") -> None:
        """The user said /stop (or removed their data): the case closes and the topic is told."""
        await self._close(case)
        if case.topic_id is not None:
            await self._delivered(case.topic_id)
            await self._send_group(self._content.group(key), case.topic_id)
            await self._close_topic(case.topic_id)

    # -- the professionals' side (Telegram group events; each is one unit of work) ---------------------------

    async def claim(self, case_id: int, professional_id: int) -> str | None:
        """Claim a case; exactly one professional wins. Returns what to tell the professional, None if ignored."""
        if not await self._is_member(professional_id):
            logger.warning("ignored a claim from someone outside the professionals' group")
            return None
        key = self._pseudonyms.key(PROFESSIONAL_CHANNEL, professional_id)
        async with self._database.sessions.begin() as session:
            name = await self._name(session, key)
            won = await session.execute(
                update(Case)
                .where(Case.id == case_id, Case.status == cases.REQUESTED)
                .values(status=cases.CLAIMED, claimed_by=key, claimed_name=name, claimed_at=self._clock())
                .execution_options(synchronize_session=False)
            )
            case = await session.get(Case, case_id, populate_existing=True)
            if case is None:
                return None
            if won.rowcount != 1:  # type: ignore[attr-defined]
                if case.status == cases.CLAIMED:
                    return self._content.group("already_claimed").format(name=case.claimed_name)
                return self._content.group("not_open")
            logger.info("case %s claimed", case.pseudonym)
            if case.topic_id is not None:
                text = self._content.group("claimed").format(name=html.escape(name), pseudonym=case.pseudonym)
                await self._send_group(text, case.topic_id)
            await self._tell_user(case, "handoff_joined", who=self._who(case))
            return self._content.group("claimed").format(name=name, pseudonym=case.pseudonym)

    async def close(self, case_id: int, professional_id: int) -> str | None:
        if not await self._is_member(professional_id):
            logger.warning("ignored a close from someone outside the professionals' group")
            return None
        key = self._pseudonyms.key(PROFESSIONAL_CHANNEL, professional_id)
        async with self._database.sessions.begin() as session:
            case = await session.get(Case, case_id)
            if case is None or case.status not in cases.LIVE:
                return self._content.group("not_open")
            name = case.claimed_name or await self._name(session, key)
            await self._tell_user(case, "handoff_left", who=self._who(case))
            await self._close(case)
            text = self._content.group("closed").format(name=name, pseudonym=case.pseudonym)
            if case.topic_id is not None:
                await self._delivered(case.topic_id)
                await self._send_group(html.escape(text), case.topic_id)
                await self._close_topic(case.topic_id)
            return text

    async def from_professional(self, topic_id: int, professional_id: int, text: str | None, message_id: int) -> None:
        """A message in a case's topic: the claimer's text goes to the user; colleagues' notes stay in the group."""
        key = self._pseudonyms.key(PROFESSIONAL_CHANNEL, professional_id)
        async with self._database.sessions.begin() as session:
            case = await self.case_for_topic(session, topic_id)
            if case is None or case.status != cases.CLAIMED or case.claimed_by != key:
                return
            if not await self._is_member(professional_id):
                logger.warning("ignored a message from someone outside the professionals' group")
                return
            if text is None:
                await self._send_group(self._content.group("text_only"), topic_id)
                return
            if not await self._first_delivery(session, case, "out", message_id):
                return
            await self._tell_user(case, "handoff_message", who=self._who(case), text=text)

    async def edit_note(self, topic_id: int, professional_id: int) -> str | None:
        """The claimer edited a message in their case's topic: say that the user does not see edits."""
        key = self._pseudonyms.key(PROFESSIONAL_CHANNEL, professional_id)
        async with self._database.sessions() as session:
            case = await self.case_for_topic(session, topic_id)
        if case is None or case.status != cases.CLAIMED or case.claimed_by != key:
            return None
        return self._content.group("edit_not_relayed")

    async def set_name(self, professional_id: int, name: str) -> str | None:
        if not await self._is_member(professional_id):
            return None
        name = " ".join(display.neutralise(name).split())[:MAX_NAME]
        if not name:
            return self._content.group("name_usage")
        key = self._pseudonyms.key(PROFESSIONAL_CHANNEL, professional_id)
        async with self._database.sessions.begin() as session:
            professional = await session.get(Professional, key)
            if professional is None:
                session.add(Professional(key=key, display_name=name))
            else:
                professional.display_name = name
        return self._content.group("name_set").format(name=name)

    async def waiting_list(self, professional_id: int) -> str | None:
        """The cases waiting for a professional, urgent first, then oldest first (`/casussen` in the group)."""
        if not await self._is_member(professional_id):
            return None
        now = self._clock()
        async with self._database.sessions() as session:
            query = (
                select(Case)
                .where(Case.status.in_((cases.REQUESTED, cases.PARKED)))
                .order_by(Case.urgent.desc(), Case.created_at)
            )
            waiting = (await session.scalars(query)).all()
        if not waiting:
            return self._content.group("list_empty")
        lines = [self._content.group("list_header")]
        for case in waiting:
            minutes = int((now - _aware(case.created_at)).total_seconds() // 60)
            lines.append(
                self._content.group("list_item").format(
                    urgency=self._content.group("urgency", "urgent" if case.urgent else "normal"),
                    pseudonym=case.pseudonym,
                    reason=self._reason(case),
                    minutes=minutes,
                )
            )
        return "\n".join(lines)

    async def insights(self, professional_id: int, minimum: int) -> str | None:
        """Last week's anonymous counts, small ones hidden (`/inzichten` in the group); members only."""
        if not await self._is_member(professional_id):
            return None
        week = last_complete_weeks(1, self._clock())[-1]
        async with self._database.sessions() as session:
            return await insight_summary(session, week, minimum)

    async def case_for_topic(self, session: AsyncSession, topic_id: int) -> Case | None:
        query = select(Case).where(Case.topic_id == topic_id).order_by(Case.id.desc()).limit(1)
        return (await session.scalars(query)).first()

    async def sweep(self) -> None:
        """Run periodically: publish what waits, re-alert what nobody claimed. Urgent cases go first."""
        now = self._clock()
        async with self._database.sessions.begin() as session:
            query = (
                select(Case)
                .where(Case.status.in_((cases.REQUESTED, cases.PARKED)))
                .order_by(Case.urgent.desc(), Case.created_at)
            )
            for case in (await session.scalars(query)).all():
                if case.status == cases.PARKED:
                    if self._hours.is_open(now):
                        case.status = cases.REQUESTED
                        if await self._publish(case):
                            await self._tell_user(case, "handoff_waiting")
                elif case.topic_id is None:
                    await self._publish(case)
                elif self._overdue(case, now):
                    await self._realert(case, now)

    # -- internals -------------------------------------------------------------------------------------------

    def _overdue(self, case: Case, now: datetime) -> bool:
        last = case.realerted_at or case.alerted_at
        return last is not None and now - _aware(last) >= self._claim_timeout

    async def _realert(self, case: Case, now: datetime) -> None:
        waited = int((now - _aware(case.created_at)).total_seconds() // 60)
        reason = html.escape(self._reason(case))
        text = self._content.group("realert").format(pseudonym=case.pseudonym, reason=reason, minutes=waited)
        await self._send_group(text, None)
        if case.topic_id is not None:
            await self._send_group(text, case.topic_id)
        if case.realerted_at is None:  # tell the user once, not at every re-alert
            lines = self._content.ui("day_and_night_lines", case.language, case.audience or "youth")
            await self._tell_user(case, "handoff_still_waiting", suffix=lines)
        case.realerted_at = now
        logger.info("case %s re-alerted", case.pseudonym)

    async def _publish(self, case: Case) -> bool:
        """Create the case's topic with its card, and alert the group. False when Telegram could not be reached."""
        name = self._topic_name(case)
        transcript = self._pending_transcripts.pop(case.id, None)
        try:
            case.topic_id = await self._messenger.create_topic(name)
            card = self._card(case, transcript)
            buttons = (
                Button(self._content.group("buttons", "claim"), f"case:claim:{case.id}"),
                Button(self._content.group("buttons", "close"), f"case:close:{case.id}"),
            )
            await self._messenger.to_group(card, case.topic_id, buttons)
            alert = self._content.group("alert_urgent" if case.urgent else "alert_normal")
            await self._messenger.to_group(
                alert.format(pseudonym=case.pseudonym, reason=html.escape(self._reason(case)), topic=html.escape(name))
            )
        except DeliveryError:
            logger.error("could not publish case %s to the professionals' group", case.pseudonym)
            if transcript:
                self._pending_transcripts[case.id] = transcript
            return False
        case.alerted_at = self._clock()
        logger.info("case %s published (urgent=%s)", case.pseudonym, case.urgent)
        return True

    def _card(self, case: Case, transcript: Sequence[str] | None) -> str:
        """The case card; a shared transcript is shortened as far as needed for the card to fit in one message."""

        def card(note: str) -> str:
            return self._content.group("card").format(
                pseudonym=case.pseudonym,
                reason=html.escape(self._reason(case)),
                risk=case.risk,
                opened=_aware(case.created_at).astimezone(AMSTERDAM).strftime("%d-%m-%Y %H:%M"),
                audience=self._content.group("audience", case.audience or "unknown"),
                language=case.language,
                transcript_note=note,
            )

        if not transcript:
            return card(self._content.group("transcript_none"))
        room = display.TELEGRAM_TEXT_LIMIT - display.visible_length(card(""))
        return card(self._transcript(transcript, room))

    async def _first_delivery(self, session: AsyncSession, case: Case, direction: str, message_id: int) -> bool:
        try:
            async with session.begin_nested():
                session.add(RelayedMessage(case_id=case.id, direction=direction, source_message_id=message_id))
        except IntegrityError:
            logger.info("case %s: a redelivered message was not relayed again", case.pseudonym)
            return False
        return True

    async def _close(self, case: Case) -> None:
        await cases.set_status(case, cases.CLOSED)
        case.closed_at = self._clock()
        case.chat_ref = None
        self._pending_transcripts.pop(case.id, None)  # a transcript waiting for the card goes with the case

    async def _tell_user(self, case: Case, key: str, suffix: str = "", **values: str) -> None:
        if case.chat_ref is None:
            return
        text = self._content.ui(key, case.language).format(**values)
        try:
            await self._messenger.to_user(
                self._chat_refs.open(case.chat_ref), f"{text}\n\n{suffix}" if suffix else text
            )
        except (DeliveryError, ValueError):
            logger.error("could not reach the user of case %s", case.pseudonym)

    def _queue(self, html_text: str, topic_id: int) -> None:
        """Pass a user's message (or a flag about it) on to their case's topic without making the user wait.

        Telegram lets a bot post only 20 messages a minute in a group, and updates are handled one at a time, so
        relaying inside the update would let one user's burst of messages hold up every other user — including
        someone who needs the crisis lines. A courier task per topic sends in order instead, and merges what
        piles up into as few messages as fit.
        """
        self._outbox.setdefault(topic_id, []).append(html_text)
        if topic_id not in self._couriers:
            self._couriers[topic_id] = asyncio.create_task(self._courier(topic_id))

    async def _courier(self, topic_id: int) -> None:
        try:
            while pending := self._outbox.get(topic_id):
                batch = _fitting(pending)
                del pending[: len(batch)]
                await self._send_group("\n\n".join(batch), topic_id)
        except Exception:
            logger.exception("relaying to a topic failed")
        finally:
            self._outbox.pop(topic_id, None)
            self._couriers.pop(topic_id, None)

    async def _delivered(self, topic_id: int) -> None:
        """Wait until what users wrote to this topic has been sent (before the topic is told it closes)."""
        while (courier := self._couriers.get(topic_id)) is not None:
            await courier

    async def drain(self) -> None:
        """Send everything still on its way to the group (at shutdown)."""
        while self._couriers:
            await asyncio.gather(*self._couriers.values(), return_exceptions=True)

    async def _send_group(self, html_text: str, topic_id: int | None) -> None:
        try:
            await self._messenger.to_group(html_text, topic_id)
        except DeliveryError:
            logger.error("could not post in the professionals' group")

    async def _close_topic(self, topic_id: int) -> None:
        try:
            await self._messenger.close_topic(topic_id)
        except DeliveryError:
            logger.error("could not close a topic")

    async def _rename(self, case: Case) -> None:
        if case.topic_id is None:
            return
        try:
            await self._messenger.rename_topic(case.topic_id, self._topic_name(case))
        except DeliveryError:
            logger.error("could not rename a topic")

    async def _is_member(self, professional_id: int) -> bool:
        try:
            return await self._messenger.is_member(professional_id)
        except DeliveryError:
            return False

    async def _name(self, session: AsyncSession, key: str) -> str:
        professional = await session.get(Professional, key)
        return professional.display_name if professional else self._content.group("default_name")

    def _who(self, case: Case) -> str:
        """How the user sees the professional: the name they chose, or just their role."""
        name = case.claimed_name
        if not name or name == self._content.group("default_name"):
            return self._content.ui("professional_unnamed", case.language)
        return self._content.ui("professional_named", case.language).format(name=name)

    def _reason(self, case: Case) -> str:
        detail = case.reason.partition(":")[2] or case.reason
        return self._content.group("reason", detail)

    def _topic_name(self, case: Case) -> str:
        return self._content.group("topic_name").format(
            urgency=self._content.group("urgency", "urgent" if case.urgent else "normal"),
            pseudonym=case.pseudonym,
            audience=self._content.group("audience", case.audience or "unknown"),
            language=case.language,
        )


def _fitting(messages: Sequence[str]) -> list[str]:
    """The first message, and as many after it as fit with it into one Telegram message."""
    batch = [messages[0]]
    length = display.visible_length(messages[0])
    for message in messages[1:]:
        length += 2 + display.visible_length(message)
        if length > display.TELEGRAM_TEXT_LIMIT:
            break
        batch.append(message)
    return batch


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=utcnow().tzinfo)
