"""The handoff desk, the users' side: what the conversation pipeline asks of it, inside its unit of work.

Cases become forum topics in the professionals' group (handoff.sweeper), messages are relayed both ways through the
outbox (handoff.outbox), professionals act in the group (handoff.professionals). Anonymous both ways: the group sees a
pseudonym, never a Telegram name, username, id or phone number; the user sees the name or role a professional chose
with /naam, never their account. Everything here only writes rows: nothing waits on Telegram inside the pipeline's
unit of work; the outbox is sent after it commits.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage import cases
from bot.storage.cases import CaseStatus
from bot.storage.models import Case, Conversation, utcnow
from handoff.chatref import ChatRefs
from handoff.group_texts import GroupTexts
from handoff.hours import OfficeHours
from handoff.outbox import Outbox, new_key, relay_once
from handoff.routing import CaseFacts, Routing


class Outcome(enum.Enum):
    ALERTED = "alerted"
    """The group was alerted; the user waits in the chat."""
    ALERTED_OUTSIDE_HOURS = "alerted_outside_hours"
    """Urgent outside office hours: the group was alerted anyway, but nobody may be online."""
    OUTSIDE_HOURS = "outside_hours"
    """Not urgent and outside office hours: the user may leave the case for the next working day."""
    UNAVAILABLE = "unavailable"
    """No professionals' group is connected, or it could not be reached."""


class Desk(Protocol):
    """What the pipeline asks of the desk, with or without a professionals' group."""

    live: bool

    async def open(self, session: AsyncSession, case: Case, chat_id: int | None) -> Outcome: ...
    async def park(self, session: AsyncSession, case: Case) -> None: ...
    def next_opening(self, case: Case | None = None) -> datetime | None: ...
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
        await cases.set_status(case, CaseStatus.PARKED)

    def next_opening(self, case: Case | None = None) -> datetime | None:
        return None

    async def from_user(self, session: AsyncSession, case: Case, text: str | None, message_id: int | None) -> None:
        return None

    async def flag(self, session: AsyncSession, case: Case, category: str) -> None:
        return None

    async def share_transcript(self, session: AsyncSession, case: Case, lines: Sequence[str]) -> None:
        return None

    async def user_left(self, session: AsyncSession, case: Case, key: str = "user_stopped") -> None:
        await cases.set_status(case, CaseStatus.CLOSED)

    def wake(self) -> None:
        return None


class LiveDesk:
    """The users' side with a professionals' group: writes cases and outbox rows in the pipeline's unit of work."""

    live = True

    def __init__(
        self,
        outbox: Outbox,
        texts: GroupTexts,
        chat_refs: ChatRefs,
        hours: OfficeHours | Routing,
        wake: Callable[[], None],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._outbox = outbox
        self._texts = texts
        self._chat_refs = chat_refs
        self._routing = hours if isinstance(hours, Routing) else Routing.single(None, hours)
        self._wake = wake
        self._clock = clock

    async def open(self, session: AsyncSession, case: Case, chat_id: int | None) -> Outcome:
        """Choose the case's group and queue the case for it; the sweeper publishes it once the user's unit of work
        has committed, so the user never waits on the group (whose messages Telegram limits to 20 a minute)."""
        if chat_id is None:
            return Outcome.UNAVAILABLE
        case.chat_ref = self._chat_refs.seal(chat_id)
        case.urgent = cases.reason_of(case).urgent
        routed = self._routing.route(await facts_of(session, case), self._clock())
        case.handoff_group, in_hours = routed.group.name, routed.in_hours
        self._outbox.wake_after_commit(session)
        if not in_hours and not case.urgent:
            case.status = CaseStatus.OUTSIDE_HOURS
            return Outcome.OUTSIDE_HOURS
        case.status = CaseStatus.REQUESTED
        return Outcome.ALERTED if in_hours else Outcome.ALERTED_OUTSIDE_HOURS

    def wake(self) -> None:
        """Something may be waiting for the group or the outbox: act now rather than at the next interval."""
        self._wake()

    def next_opening(self, case: Case | None = None) -> datetime | None:
        """When a professional is next online for this case (its group, or a fallback group)."""
        group = self._routing.group(case.handoff_group if case is not None else None)
        return self._routing.next_opening(group, self._clock())

    async def park(self, session: AsyncSession, case: Case) -> None:
        """The user leaves the case for the next working day."""
        await cases.set_status(case, CaseStatus.PARKED)

    async def from_user(self, session: AsyncSession, case: Case, text: str | None, message_id: int | None) -> None:
        """Relay a user's message into the case's topic, once, however often Telegram delivers it."""
        if case.topic_id is None or message_id is None:
            return
        if not await relay_once(session, case, "in", message_id):
            return
        parts = [self._texts.text("user_non_text")] if text is None else self._texts.relayed(text)
        for number, part in enumerate(parts):
            key = f"in:{case.id}:{message_id}:{number}"
            await self._outbox.to_topic(session, case.handoff_group, case.topic_id, part, key, case.id)

    async def flag(self, session: AsyncSession, case: Case, category: str) -> None:
        """A new acute message during a handoff: the topic is flagged (and renamed urgent)."""
        if case.topic_id is None:
            return
        group = case.handoff_group
        await self._outbox.to_topic(session, group, case.topic_id, self._texts.flag(category), new_key(), case.id)
        if not case.urgent:
            case.urgent = True
            await self._outbox.rename_topic(session, group, case.topic_id, self._texts.topic_name(case))

    async def share_transcript(self, session: AsyncSession, case: Case, lines: Sequence[str]) -> None:
        """Show the user's recent messages to the professionals (only called with the user's consent)."""
        if not lines:
            return
        if case.topic_id is None:  # not published yet: the card will carry it
            await self._outbox.hold_transcript(session, case, lines)
            return
        text = self._texts.transcript(lines)
        await self._outbox.to_topic(session, case.handoff_group, case.topic_id, text, new_key(), case.id)

    async def user_left(self, session: AsyncSession, case: Case, key: str = "user_stopped") -> None:
        """The user said /stop (or removed their data): the case closes, nothing more goes to them, the topic is
        told. The note has no case id, so it is still sent when /vergeet erases the case's rows."""
        await cases.set_status(case, CaseStatus.CLOSED)
        case.closed_at, case.chat_ref = self._clock(), None
        await self._outbox.forget_user_messages(session, case.id)
        if case.topic_id is not None:
            await self._outbox.to_topic(session, case.handoff_group, case.topic_id, self._texts.text(key), new_key())
            await self._outbox.close_topic(session, case.handoff_group, case.topic_id)


async def facts_of(session: AsyncSession, case: Case) -> CaseFacts:
    """What the routing rules look at: the case's audience, risk and category, and the municipality the user named
    (the conversation is already in the unit of work: no extra query)."""
    reason = cases.reason_of(case)
    conversation = await session.get(Conversation, case.user_key)
    municipality = conversation.municipality if conversation is not None else None
    return CaseFacts(case.audience, reason.risk, reason.detail, municipality)
