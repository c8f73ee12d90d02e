"""The sweeper: publishes what waits for the professionals' group and re-alerts what nobody claimed.

One unit of work per case, and no Telegram call inside any: the decision is committed first, then the topic is
created, then a second short unit of work stores it and writes the card and alerts to the outbox. With several
replicas on one PostgreSQL database only one sweeps at a time (an advisory lock, `bot.storage.exclusive`), so a case
is never published in two topics nor re-alerted twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.replies import Button
from bot.storage import cases, exclusive
from bot.storage.cases import CaseStatus
from bot.storage.models import Case, Database
from handoff.group_texts import GroupTexts, aware
from handoff.hours import OfficeHours
from handoff.messenger import Messenger, attempt
from handoff.outbox import Outbox, new_key
from handoff.routing import Routing

logger = logging.getLogger(__name__)

BUSY_RETRY_SECONDS = 0.5
"""How soon to sweep again after finding another replica sweeping."""


class Sweeper:
    def __init__(
        self,
        database: Database,
        messenger: Messenger,
        outbox: Outbox,
        texts: GroupTexts,
        hours: OfficeHours | Routing,
        claim_timeout: timedelta,
        clock: Callable[[], datetime],
        groups: Mapping[str, Messenger] | None = None,
    ) -> None:
        self._database = database
        self._messenger = messenger
        self._groups = groups or {}
        self._outbox = outbox
        self._texts = texts
        self._routing = hours if isinstance(hours, Routing) else Routing.single(None, hours)
        self._claim_timeout = claim_timeout
        self._clock = clock
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._stopping = False
        self._busy_elsewhere = False

    def wake(self) -> None:
        """Something may be waiting for the group: sweep now rather than at the next interval."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self, interval: float) -> None:
        """Sweep when woken and every `interval` seconds, until `stop`; stopped between sweeps, never in one
        (cancelling a database session half-way can leave the connection pool waiting for it)."""
        while True:
            # Woken while another replica swept: what woke this one may have been committed after that sweep read
            # the cases, so look again soon rather than at the next interval.
            wait = min(interval, BUSY_RETRY_SECONDS) if self._busy_elsewhere else interval
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
            self._wake.clear()
            if self._stopping:
                return
            try:
                await self.sweep()
            except Exception:
                logger.exception("handoff sweep failed")

    async def sweep(self) -> bool:
        """Publish what waits, re-alert what nobody claimed; urgent cases first. Sweeps never overlap, in this
        process nor across replicas (False: another replica is sweeping; this one tries again shortly)."""
        async with self._lock, exclusive.only_one(self._database, exclusive.SWEEPER) as mine:
            if not mine:
                self._busy_elsewhere = True
                return False
            self._busy_elsewhere = False
            now = self._clock()
            async with self._database.sessions() as session:
                query = select(Case.id).where(Case.status.in_(cases.WAITING))
                waiting = (await session.scalars(query.order_by(Case.urgent.desc(), Case.created_at))).all()
            for case_id in waiting:
                try:
                    await self._sweep_case(case_id, now)
                except Exception:
                    logger.exception("sweeping a case failed")
            return True

    async def _sweep_case(self, case_id: int, now: datetime) -> None:
        async with self._database.sessions.begin() as session:
            case = await session.get(Case, case_id)
            if case is None or case.status not in cases.WAITING:
                return
            was_parked = case.status == CaseStatus.PARKED
            if was_parked:
                # Published by the first group on the case's fallback chain that opens (often its own).
                open_group = self._routing.open_along(self._routing.group(case.handoff_group), now)
                if open_group is None:
                    return
                case.handoff_group = open_group.name
                await cases.set_status(case, CaseStatus.REQUESTED)
            elif case.topic_id is not None:
                if self._overdue(case, now):
                    await self._realert(session, case, now)
                return
            name, group = self._texts.topic_name(case), self._group(case.handoff_group)
        topic_id = await attempt(group.create_topic(name), "create a topic for a case")
        if topic_id is None:
            return
        async with self._database.sessions.begin() as session:
            published = await self._publish(session, case_id, topic_id, was_parked)
        if not published:  # closed or published meanwhile: the new topic is not needed
            await attempt(group.close_topic(topic_id), "close a topic nobody needs")

    def _group(self, name: str | None) -> Messenger:
        return self._groups.get(self._routing.group(name).name, self._messenger)

    def _overdue(self, case: Case, now: datetime) -> bool:
        last = case.realerted_at or case.alerted_at
        return last is not None and now - aware(last) >= self._claim_timeout

    async def _realert(self, session: AsyncSession, case: Case, now: datetime) -> None:
        text = self._texts.realert(case, now)
        await self._outbox.alert(session, case.handoff_group, text, new_key())
        if case.topic_id is not None:
            await self._outbox.to_topic(session, case.handoff_group, case.topic_id, text, new_key())
        if case.realerted_at is None:  # tell the user once, not at every re-alert
            told = self._texts.to_user(case, "handoff_still_waiting", suffix=self._texts.day_and_night_lines(case))
            await self._outbox.to_user(session, case, told, f"still_waiting:{case.id}")
        case.realerted_at = now
        logger.info("case %s re-alerted", case.pseudonym)

    async def _publish(self, session: AsyncSession, case_id: int, topic_id: int, was_parked: bool) -> bool:
        """Store the new topic if the case still waits for one; write its card and the alert to the outbox."""
        won = await session.execute(
            update(Case)
            .where(Case.id == case_id, Case.status == CaseStatus.REQUESTED, Case.topic_id.is_(None))
            .values(topic_id=topic_id, alerted_at=self._clock())
            .execution_options(synchronize_session=False)
        )
        if won.rowcount != 1:  # type: ignore[attr-defined]
            return False
        case = await session.get(Case, case_id, populate_existing=True)
        assert case is not None
        transcript = await self._outbox.held_transcript(session, case.id)
        buttons = (
            Button(self._texts.text("buttons", "claim"), f"case:claim:{case.id}"),
            Button(self._texts.text("buttons", "close"), f"case:close:{case.id}"),
        )
        await self._outbox.card(session, case, self._texts.card(case, transcript), buttons)
        await self._outbox.alert(session, case.handoff_group, self._texts.alert(case), f"alert:{case.id}:{topic_id}")
        await self._outbox.release_held(session, case.id, topic_id)
        if was_parked:
            await self._outbox.to_user(session, case, self._texts.to_user(case, "handoff_waiting"), new_key())
        logger.info("case %s published (urgent=%s)", case.pseudonym, case.urgent)
        return True
