"""Retention: what is past its time is removed, on SQLite and on PostgreSQL; what still needs a professional stays."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot.conversation.pipeline import Pipeline
from bot.replies import Sender
from bot.storage.cases import CaseStatus
from bot.storage.models import Case, Conversation, Database, RelayedMessage, utcnow
from bot.storage.retention import Purged, Retention
from bot.understanding.nlu_client import NluClient

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=utcnow().tzinfo)
CASE_DAYS, STATE_DAYS = 30, 180
MakePipeline = Callable[[NluClient | None], Pipeline]


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


async def add_conversation(database: Database, key: str, last_active: datetime) -> None:
    async with database.sessions.begin() as session:
        session.add(Conversation(key=key, updated_at=last_active))


async def add_case(
    database: Database, key: str, status: str, changed: datetime, closed: datetime | None = None, relayed: int = 0
) -> int:
    """A case of user `key`, last changed at `changed`, with `relayed` relayed-message records."""
    async with database.sessions.begin() as session:
        case = Case(
            user_key=key,
            pseudonym="TEST",
            reason="request",
            risk="none",
            status=status,
            created_at=changed,
            updated_at=changed,
            closed_at=closed,
        )
        session.add(case)
        await session.flush()
        for message_id in range(relayed):
            session.add(RelayedMessage(case_id=case.id, direction="in", source_message_id=message_id))
        return case.id


async def remaining(database: Database) -> tuple[set[int], set[str], int]:
    """Case ids, conversation keys and the number of relayed-message records still stored."""
    async with database.sessions() as session:
        case_ids = set((await session.scalars(select(Case.id))).all())
        keys = set((await session.scalars(select(Conversation.key))).all())
        relayed = await session.scalar(select(func.count()).select_from(RelayedMessage))
    return case_ids, keys, relayed or 0


def retention(database: Database) -> Retention:
    return Retention(database, CASE_DAYS, STATE_DAYS, clock=lambda: NOW)


async def test_cases_that_are_over_go_after_their_time_with_their_relayed_messages(database: Database) -> None:
    await add_conversation(database, "user", days_ago(1))
    old_closed = await add_case(database, "user", CaseStatus.CLOSED, days_ago(40), closed=days_ago(31), relayed=3)
    recent_closed = await add_case(database, "user", CaseStatus.CLOSED, days_ago(40), closed=days_ago(29), relayed=2)
    old_declined = await add_case(
        database, "user", CaseStatus.DECLINED, days_ago(31)
    )  # no closed_at: last change counts
    recent_declined = await add_case(database, "user", CaseStatus.DECLINED, days_ago(29))
    old_offer = await add_case(database, "user", CaseStatus.OFFERED, days_ago(31))

    assert await retention(database).purge() == Purged(cases=3, conversations=0)

    case_ids, keys, relayed = await remaining(database)
    assert case_ids == {recent_closed, recent_declined}
    assert not case_ids & {old_closed, old_declined, old_offer}
    assert keys == {"user"}
    assert relayed == 2


async def test_live_and_parked_cases_are_never_removed_nor_their_users_state(database: Database) -> None:
    await add_conversation(database, "waiting", days_ago(400))
    live = {
        await add_case(database, "waiting", status, days_ago(400), relayed=1)
        for status in (CaseStatus.REQUESTED, CaseStatus.CLAIMED, CaseStatus.PARKED)
    }
    old_closed = await add_case(database, "waiting", CaseStatus.CLOSED, days_ago(400), closed=days_ago(400))

    assert await retention(database).purge() == Purged(cases=1, conversations=0)

    case_ids, keys, relayed = await remaining(database)
    assert case_ids == live and old_closed not in case_ids
    assert keys == {"waiting"}
    assert relayed == 3


async def test_inactive_conversation_state_goes_with_all_its_cases(database: Database) -> None:
    await add_conversation(database, "gone", days_ago(181))
    await add_case(
        database, "gone", CaseStatus.CLOSED, days_ago(181), closed=days_ago(2), relayed=1
    )  # recent, but goes
    await add_conversation(database, "still here", days_ago(179))
    kept = await add_case(database, "still here", CaseStatus.CLOSED, days_ago(179), closed=days_ago(2))

    assert await retention(database).purge() == Purged(cases=1, conversations=1)

    assert await remaining(database) == ({kept}, {"still here"}, 0)
    assert await retention(database).purge() == Purged(cases=0, conversations=0)


async def test_a_message_counts_as_activity(database: Database, make_pipeline: MakePipeline) -> None:
    pipeline: Pipeline = make_pipeline(None)
    await pipeline.command(Sender("active"), "start")
    await pipeline.command(Sender("quiet"), "start")
    for key in ("active", "quiet"):  # both last wrote long ago ...
        async with database.sessions.begin() as session:
            conversation = await session.get(Conversation, key)
            assert conversation is not None
            conversation.updated_at = utcnow() - timedelta(days=STATE_DAYS + 1)
    await pipeline.text(Sender("active"), "hoe regel ik een bezoek")  # ... and one writes again

    assert await Retention(database, CASE_DAYS, STATE_DAYS).purge() == Purged(cases=0, conversations=1)
    assert (await remaining(database))[1] == {"active"}


async def test_the_daily_purge_runs_on_its_interval_and_stops_between_purges(database: Database) -> None:
    await add_conversation(database, "gone", days_ago(181))
    daily = retention(database)
    task = asyncio.create_task(daily.run(interval=0.01))
    for _ in range(500):
        if not (await remaining(database))[1]:
            break
        await asyncio.sleep(0.01)
    assert (await remaining(database))[1] == set()
    daily.stop()
    await asyncio.wait_for(task, 5)
