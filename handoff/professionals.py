"""The professionals' side of the desk: Telegram group events (case buttons, commands, messages in a topic).

Each event is one short unit of work; membership is checked before it (a network call), and what must reach the
group or the user is written to the outbox, sent after the commit.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.insights.recorder import HandoffEvent, Recorder
from bot.insights.report import last_complete_weeks
from bot.insights.report import summary as insight_summary
from bot.pseudonym import Pseudonymiser
from bot.storage import cases
from bot.storage.cases import CaseStatus
from bot.storage.models import Case, Database, Professional
from handoff import display
from handoff.group_texts import GroupTexts
from handoff.hours import OfficeHours
from handoff.membership import Membership
from handoff.outbox import Outbox, new_key, relay_once
from handoff.routing import DEFAULT_GROUP, Routing

logger = logging.getLogger(__name__)

PROFESSIONAL_CHANNEL = "telegram-professional"
MAX_NAME = 40


class Professionals:
    """One professionals' group's side of the desk: it sees and acts on its own group's cases only (a topic id is
    only unique within its group, and a case routed to one team is not another team's to claim)."""

    def __init__(
        self,
        database: Database,
        membership: Membership,
        outbox: Outbox,
        texts: GroupTexts,
        pseudonyms: Pseudonymiser,
        clock: Callable[[], datetime],
        recorder: Recorder | None = None,
        routing: Routing | None = None,
        group: str = DEFAULT_GROUP,
    ) -> None:
        self._routing = routing or Routing.single(None, OfficeHours(None))
        self.group = self._routing.group(group).name
        self._recorder = recorder or Recorder()
        self._database = database
        self._membership = membership
        self._outbox = outbox
        self._texts = texts
        self._pseudonyms = pseudonyms
        self._clock = clock

    def _key(self, professional_id: int) -> str:
        return self._pseudonyms.key(PROFESSIONAL_CHANNEL, professional_id)

    def _mine(self) -> ColumnElement[bool]:
        return self._routing.owns(Case.handoff_group, self.group)

    def _owns(self, case: Case) -> bool:
        return self._routing.group(case.handoff_group).name == self.group

    async def case_for_topic(self, session: AsyncSession, topic_id: int) -> Case | None:
        query = select(Case).where(Case.topic_id == topic_id, self._mine()).order_by(Case.id.desc()).limit(1)
        return (await session.scalars(query)).first()

    async def claim(self, case_id: int, professional_id: int) -> str | None:
        """Claim a case; exactly one professional wins. Returns what to tell the professional, None if ignored."""
        if not await self._membership.admits(professional_id, "claim"):
            return None
        key = self._key(professional_id)
        async with self._database.sessions.begin() as session:
            name = await self._name(session, key)
            won = await session.execute(
                update(Case)
                .where(Case.id == case_id, Case.status == CaseStatus.REQUESTED, self._mine())
                .values(status=CaseStatus.CLAIMED, claimed_by=key, claimed_name=name, claimed_at=self._clock())
                .execution_options(synchronize_session=False)
            )
            case = await session.get(Case, case_id, populate_existing=True)
            if case is None or not self._owns(case):
                if case is not None:
                    logger.warning("ignored a claim on a case of another professionals' group")
                return None
            if won.rowcount != 1:  # type: ignore[attr-defined]
                if case.status == CaseStatus.CLAIMED:
                    return self._texts.text("already_claimed").format(name=case.claimed_name)
                return self._texts.text("not_open")
            logger.info("case %s claimed", case.pseudonym)
            await self._recorder.handoff(session, HandoffEvent.CLAIMED, case.audience, case.language)
            waited = self._clock() - _aware(case.alerted_at or case.created_at)
            await self._recorder.claim_time(session, waited.total_seconds() / 60)
            if case.topic_id is not None:
                note = self._texts.text("claimed").format(name=html.escape(name), pseudonym=case.pseudonym)
                await self._outbox.to_topic(session, case.handoff_group, case.topic_id, note, new_key())
            joined = self._texts.to_user(case, "handoff_joined", who=self._texts.who(case))
            await self._outbox.to_user(session, case, joined, f"joined:{case.id}:{key}")
            return self._texts.text("claimed").format(name=name, pseudonym=case.pseudonym)

    async def close(self, case_id: int, professional_id: int) -> str | None:
        if not await self._membership.admits(professional_id, "close"):
            return None
        async with self._database.sessions.begin() as session:
            case = await session.get(Case, case_id)
            if case is not None and not self._owns(case):
                logger.warning("ignored a close of a case of another professionals' group")
                return None
            if case is None or case.status not in cases.LIVE:
                return self._texts.text("not_open")
            name = case.claimed_name or await self._name(session, self._key(professional_id))
            left = self._texts.to_user(case, "handoff_left", who=self._texts.who(case))
            await self._outbox.to_user(session, case, left, f"left:{case.id}")
            await cases.set_status(case, CaseStatus.CLOSED)
            case.closed_at, case.chat_ref = self._clock(), None
            text = self._texts.text("closed").format(name=name, pseudonym=case.pseudonym)
            if case.topic_id is not None:
                await self._outbox.to_topic(session, case.handoff_group, case.topic_id, html.escape(text), new_key())
                await self._outbox.close_topic(session, case.handoff_group, case.topic_id)
            await self._outbox.forget_transcripts(session, case.id)
            return text

    async def from_professional(self, topic_id: int, professional_id: int, text: str | None, message_id: int) -> None:
        """A message in a case's topic: the claimer's text goes to the user; colleagues' notes stay in the group."""
        key = self._key(professional_id)
        async with self._database.sessions() as session:
            case = await self.case_for_topic(session, topic_id)
        if case is None or case.status != CaseStatus.CLAIMED or case.claimed_by != key:
            return
        if not await self._membership.admits(professional_id, "message"):
            return
        async with self._database.sessions.begin() as session:
            case = await session.get(Case, case.id)
            if case is None or case.status != CaseStatus.CLAIMED or case.claimed_by != key:
                return
            if text is None:
                only_text = self._texts.text("text_only")
                await self._outbox.to_topic(session, case.handoff_group, topic_id, only_text, new_key())
                return
            if not await relay_once(session, case, "out", message_id):
                return
            told = self._texts.to_user(case, "handoff_message", who=self._texts.who(case), text=text)
            await self._outbox.to_user(session, case, told, f"out:{case.id}:{message_id}")

    async def edit_note(self, topic_id: int, professional_id: int) -> str | None:
        """The claimer edited a message in their case's topic: say that the user does not see edits."""
        async with self._database.sessions() as session:
            case = await self.case_for_topic(session, topic_id)
        if case is None or case.status != CaseStatus.CLAIMED or case.claimed_by != self._key(professional_id):
            return None
        return self._texts.text("edit_not_relayed")

    async def set_name(self, professional_id: int, name: str) -> str | None:
        if not await self._membership.admits(professional_id, "name"):
            return None
        name = " ".join(display.neutralise(name).split())[:MAX_NAME]
        if not name:
            return self._texts.text("name_usage")
        key = self._key(professional_id)
        async with self._database.sessions.begin() as session:
            professional = await session.get(Professional, key)
            if professional is None:
                session.add(Professional(key=key, display_name=name))
            else:
                professional.display_name = name
        return self._texts.text("name_set").format(name=name)

    async def insights(self, professional_id: int, minimum: int) -> str | None:
        """Last week's anonymous counts, small ones hidden (`/inzichten` in the group); members only."""
        if not await self._membership.admits(professional_id, "insights"):
            return None
        week = last_complete_weeks(1, self._clock())[-1]
        async with self._database.sessions() as session:
            return await insight_summary(session, week, minimum)

    async def waiting_list(self, professional_id: int) -> str | None:
        """This group's cases waiting for a professional, urgent first, then oldest first (`/casussen`)."""
        if not await self._membership.admits(professional_id, "list"):
            return None
        now = self._clock()
        async with self._database.sessions() as session:
            query = select(Case).where(Case.status.in_(cases.WAITING), self._mine())
            waiting = (await session.scalars(query.order_by(Case.urgent.desc(), Case.created_at))).all()
        if not waiting:
            return self._texts.text("list_empty")
        return "\n".join([self._texts.text("list_header"), *(self._texts.list_item(case, now) for case in waiting)])

    async def _name(self, session: AsyncSession, key: str) -> str:
        professional = await session.get(Professional, key)
        return professional.display_name if professional else self._texts.text("default_name")


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
