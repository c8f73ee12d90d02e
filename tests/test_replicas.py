"""Several bot replicas on one database: what one replica learnt, another knows; what must happen once happens once;
and together they stay within Telegram's send budget.

The replicas here are separate `Database` engines (separate connection pools) on the same database, as separate
processes would be. The tests about replicas run on PostgreSQL (the production case); the heartbeat also on SQLite.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from telegram.constants import FloodLimit

from bot.app import Handoff, live_handoff
from bot.channels.telegram.rate_limit import URGENT, PriorityRateLimiter
from bot.content import Content
from bot.conversation.flood import FloodGuard
from bot.conversation.pipeline import Pipeline
from bot.replies import Sender
from bot.storage import cases
from bot.storage.cases import CaseReason, CaseStatus
from bot.storage.models import Conversation, Database, RecentMessage, utcnow
from bot.storage.replicas import STALE_SECONDS, Heartbeat
from bot.understanding.understander import Understander
from handoff.desk import OfflineDesk
from handoff.hours import OfficeHours
from handoff.outbox import Outbox
from safety.risk import SafetyNet
from tests.conftest import scripted_nlu
from tests.fakes import RecordingMessenger, by_keyword

SECRET = b"test-secret"
HANG_GUARD = 5.0  # only turns a hang into a failure; nothing is timed
ON_POSTGRESQL = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@pytest.fixture
async def other(database: Database, database_url: str) -> AsyncIterator[Database]:
    """A second replica's engine on the same (migrated) database."""
    second = Database(database_url)
    yield second
    await second.dispose()


def desk_of(database: Database, content: Content, messenger: RecordingMessenger) -> Handoff:
    return live_handoff(database, messenger, content, SECRET, OfficeHours.parse("always"), timedelta(minutes=5))


def pipeline_of(
    database: Database, content: Content, safety_net: SafetyNet, desk: Handoff | None = None, **kwargs: Any
) -> Pipeline:
    understander = Understander(safety_net, scripted_nlu(by_keyword), 0.45, 0.5)
    if desk is None:
        return Pipeline(understander, content, database, OfflineDesk(), secret=SECRET, **kwargs)
    return Pipeline(understander, content, database, desk.desk, secret=SECRET, **kwargs)


async def requested_cases(handoff: Handoff, database: Database, count: int) -> None:
    """`count` users each asked for a person; nothing is published yet."""
    async with database.sessions.begin() as session:
        for n in range(count):
            key = f"{n:064d}"
            session.add(Conversation(key=key, language="nl", audience="parent", step="chat"))
            await session.flush()
            case = await cases.open_case(session, key, CaseReason.request(), CaseStatus.REQUESTED, "parent", "nl")
            await handoff.desk.open(session, case, 1000 + n)


# -- one sweeper, one sender ---------------------------------------------------------------------------------------


@ON_POSTGRESQL
async def test_two_replicas_sweeping_at_once_publish_each_case_in_one_topic(
    database: Database, other: Database, content: Content
) -> None:
    messenger = RecordingMessenger()
    first, second = desk_of(database, content, messenger), desk_of(other, content, messenger)
    await requested_cases(first, database, 3)
    messenger.gate = asyncio.Event()
    sweeping = asyncio.create_task(first.sweeper.sweep())
    await asyncio.wait_for(messenger.sending.wait(), HANG_GUARD)  # the first replica is creating a topic
    # Had the second replica swept as well, it would now wait at the gate too (and time out here).
    assert await asyncio.wait_for(second.sweeper.sweep(), HANG_GUARD) is False
    messenger.gate.set()
    assert await sweeping is True
    await second.settle()
    await first.settle()
    assert len(messenger.topics) == 3, "one topic per case"
    assert messenger.closed_topics == [], "no topic made twice and closed again"
    cards = [buttons for buttons in messenger.buttons if buttons]
    assert len(cards) == 3, "one card per case"


@ON_POSTGRESQL
async def test_two_replicas_sending_the_outbox_at_once_send_each_message_once(
    database: Database, other: Database, content: Content
) -> None:
    messenger = RecordingMessenger()
    first, second = desk_of(database, content, messenger), desk_of(other, content, messenger)
    async with database.sessions.begin() as session:
        for n in range(5):
            await Outbox().alert(session, None, f"melding {n}", f"alert-{n}")
    messenger.gate = asyncio.Event()
    sending = asyncio.create_task(first.sender.deliver())
    await asyncio.wait_for(messenger.sending.wait(), HANG_GUARD)
    assert await asyncio.wait_for(second.sender.deliver(), HANG_GUARD) == 0
    messenger.gate.set()
    await sending
    await asyncio.gather(first.sender.drain(), second.sender.drain())
    await second.sender.drain()
    await first.sender.drain()
    assert [text for text, _ in messenger.group] == [f"melding {n}" for n in range(5)], "each once, in order"


# -- conversation state ------------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@ON_POSTGRESQL
async def test_a_flood_spread_over_two_replicas_is_braked_as_one(
    database: Database, other: Database, content: Content, safety_net: SafetyNet
) -> None:
    clock = Clock()
    replicas = [pipeline_of(db, content, safety_net, flood=FloodGuard(3, 10.0, clock)) for db in (database, other)]
    user = Sender("r" * 64)
    await replicas[0].command(user, "start")
    await replicas[1].action(user, "aud:parent")
    burst = [await replicas[n % 2].text(user, "bezoek") for n in range(6)]
    assert [len(replies) for replies in burst] == [1, 1, 1, 1, 0, 0]
    assert "veel berichten snel na elkaar" in burst[3][0].text, "one kind notice, then quiet"
    clock.now += 10.0
    assert await replicas[1].text(user, "bezoek"), "answered again after the window, on either replica"


@ON_POSTGRESQL
async def test_messages_written_on_one_replica_can_be_shared_from_another(
    database: Database, other: Database, content: Content, safety_net: SafetyNet
) -> None:
    messenger = RecordingMessenger()
    desks = desk_of(database, content, messenger), desk_of(other, content, messenger)
    first, second = (
        pipeline_of(database, content, safety_net, desks[0]),
        pipeline_of(other, content, safety_net, desks[1]),
    )
    user = Sender("s" * 64, "nl", 4242)
    await first.command(user, "start")
    await first.action(user, "aud:parent")
    await first.text(user, "mijn zoon slaapt slecht sinds het bezoek")
    [offer] = await second.text(user, "kan ik een mens spreken")
    assert [button.action for button in offer.buttons] == ["handoff:yes", "handoff:no"]
    replies = await second.action(user, "handoff:yes")
    assert any("transcript:yes" in [b.action for b in reply.buttons] for reply in replies), "the lines are offered"
    await first.action(user, "transcript:yes")
    await desks[1].settle()
    card = next(text for text, _ in messenger.group if "mijn zoon slaapt slecht" in text)
    assert "kan ik een mens spreken" in card
    async with database.sessions() as session:
        assert (await session.scalars(select(RecentMessage))).all() == [], "dropped once the user answered"


async def test_recent_messages_are_sealed_at_rest_and_go_with_forget(
    database: Database, content: Content, safety_net: SafetyNet
) -> None:
    pipeline = pipeline_of(database, content, safety_net)
    user = Sender("t" * 64, "nl", 4343)
    await pipeline.command(user, "start")
    await pipeline.action(user, "aud:parent")
    for n in range(10):
        await pipeline.text(user, f"mijn dochter huilt elke avond {n}")
    async with database.sessions() as session:
        sealed = (await session.scalars(select(RecentMessage.sealed))).all()
        assert len(sealed) == 8, "at most eight are kept"
        assert not any("huilt" in text for text in sealed), "the text is not readable in the database"
        lines = await pipeline.memory.recent_lines(session, user.key)
    assert lines == [f"mijn dochter huilt elke avond {n}" for n in range(2, 10)]
    await pipeline.command(user, "vergeet")
    await pipeline.action(user, "forget:yes")
    async with database.sessions() as session:
        assert (await session.scalars(select(RecentMessage))).all() == []


async def test_recent_messages_older_than_thirty_minutes_are_not_kept(
    database: Database, content: Content, safety_net: SafetyNet
) -> None:
    pipeline = pipeline_of(database, content, safety_net)
    early, late = Sender("u" * 64), Sender("v" * 64)
    for user in (early, late):
        await pipeline.command(user, "start")
        await pipeline.action(user, "aud:parent")
    await pipeline.text(early, "ik ben zo moe van alles")
    async with database.sessions.begin() as session:  # as if written 31 minutes ago
        for row in (await session.scalars(select(RecentMessage))).all():
            row.created_at = utcnow() - timedelta(minutes=31)
    async with database.sessions() as session:
        assert await pipeline.memory.recent_lines(session, early.key) == [], "never used after 30 minutes"
    await pipeline.text(late, "hoe regel ik een bezoek")  # any user's message clears what is too old
    async with database.sessions() as session:
        keys = (await session.scalars(select(RecentMessage.user_key))).all()
    assert keys == [late.key]


@ON_POSTGRESQL
async def test_a_question_skipped_on_one_replica_is_not_asked_again_on_another(
    database: Database, other: Database, content: Content, safety_net: SafetyNet
) -> None:
    first, second = pipeline_of(database, content, safety_net), pipeline_of(other, content, safety_net)
    user = Sender("w" * 64)
    await first.command(user, "start")
    await first.action(user, "aud:parent")
    [question] = await first.text(user, "hoe vertel ik het")
    assert "slot:child_age:skip" in [button.action for button in question.buttons]
    await first.action(user, "slot:child_age:skip")
    [again] = await second.text(user, "hoe vertel ik het")
    assert not any(button.action.startswith("slot:") for button in again.buttons)


# -- the send budget ---------------------------------------------------------------------------------------------


async def test_the_heartbeat_counts_the_live_replicas(database: Database, other: Database) -> None:
    now = utcnow()
    first, second = Heartbeat(database, lambda: now), Heartbeat(other, lambda: now)
    assert await first.beat() == 1
    assert await second.beat() == 2
    assert await first.beat() == 2
    await second.leave()
    assert await first.beat() == 1
    gone = Heartbeat(other, lambda: now - timedelta(seconds=STALE_SECONDS + 1))
    await gone.beat()  # a replica that stopped beating a while ago (it crashed)
    assert await first.beat() == 1


async def test_two_limiters_told_there_are_two_replicas_together_stay_under_the_cap() -> None:
    frozen: list[float] = [0.0]  # no time passes: only the burst each limiter allows goes out
    limiters = [PriorityRateLimiter(clock=lambda: frozen[0]) for _ in range(2)]
    for limiter in limiters:
        limiter.share(2)
    sent: list[int] = []

    async def send_message(index: int) -> bool:
        sent.append(index)
        return True

    def call(limiter: PriorityRateLimiter, index: int, urgent: bool = False) -> asyncio.Task[Any]:
        data = {"chat_id": 100 + index}
        args = (index,)
        return asyncio.create_task(
            limiter.process_request(send_message, args, {}, "sendMessage", data, URGENT if urgent else None)
        )

    tasks = [call(limiter, n + 100 * which) for which, limiter in enumerate(limiters) for n in range(40)]
    for _ in range(100):
        await asyncio.sleep(0)
    try:
        assert len(sent) == FloodLimit.MESSAGES_PER_SECOND, "together one second's worth, not twice that"
        assert sum(limiter.overall.per_second for limiter in limiters if limiter.overall) == 30
        urgent = call(limiters[0], 999, urgent=True)  # a crisis reply, while forty ordinary replies wait
        await asyncio.sleep(0)
        frozen[0] = 0.2  # a fifth of a second later: each may send its share of it, no more
        await asyncio.wait_for(urgent, HANG_GUARD)
        first_replica = [index for index in sent[FloodLimit.MESSAGES_PER_SECOND :] if index < 100 or index == 999]
        assert first_replica[0] == 999, "the crisis reply still goes first"
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_one_replica_of_many_still_sends() -> None:
    limiter = PriorityRateLimiter(clock=lambda: 0.0)
    limiter.share(100)  # more replicas than messages a second: each still gets one at a time
    sent: list[bool] = []

    async def send_message() -> bool:
        sent.append(True)
        return True

    await asyncio.wait_for(limiter.process_request(send_message, (), {}, "sendMessage", {"chat_id": 1}, None), 5)
    assert sent == [True]
