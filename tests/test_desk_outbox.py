"""The desk never holds a database write open while it talks to Telegram, and nothing it decided is lost or
doubled: what it sends goes through the outbox, after the unit of work that decided it has committed.

Also the failures a relay bot meets in practice: two messages at once, a topic deleted by staff, a user who
blocked the bot, a restart in the middle of a handoff, and /vergeet while a professional's reply is on its way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.app import Handoff, live_handoff
from bot.content import Content
from bot.conversation.pipeline import Pipeline
from bot.replies import Sender
from bot.storage import cases
from bot.storage.cases import CaseReason, CaseStatus
from bot.storage.models import Case, Conversation, Database, OutboxMessage, utcnow
from bot.understanding.nlu_client import NluClient
from bot.understanding.understander import Understander
from handoff.hours import OfficeHours
from handoff.outbox import MAX_TRIES
from safety.risk import SafetyNet
from tests.conftest import scripted_nlu
from tests.fakes import RecordingMessenger

SECRET = b"test-secret"
ANNA = 1001
USER_CHAT = 424242
HANG_GUARD = 5.0  # only turns a hang (a send awaited inside a write) into a failure; nothing is timed


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self) -> datetime:
        return self.now


def build(database: Database, content: Content, messenger: RecordingMessenger, clock: Clock | None = None) -> Handoff:
    hours = OfficeHours.parse("always")
    return live_handoff(database, messenger, content, SECRET, hours, timedelta(minutes=5), clock or utcnow)


async def published_case(handoff: Handoff, database: Database, key: str = "user", chat: int = USER_CHAT) -> int:
    """An acute case of a young person, published in its topic (card and alert sent)."""
    async with database.sessions.begin() as session:
        session.add(Conversation(key=key, language="nl", audience="youth", step="chat"))
        await session.flush()
        case = await cases.open_case(session, key, CaseReason.acute("suicidal"), CaseStatus.REQUESTED, "youth", "nl")
        await handoff.desk.open(session, case, chat)
        case_id = case.id
    await handoff.settle()
    return case_id


async def case_row(database: Database, case_id: int) -> Case | None:
    async with database.sessions() as session:
        return await session.get(Case, case_id)


async def topic_of(database: Database, case_id: int) -> int:
    case = await case_row(database, case_id)
    assert case is not None and case.topic_id is not None
    return case.topic_id


async def user_writes(handoff: Handoff, database: Database, case_id: int, text: str, message_id: int) -> None:
    async with database.sessions.begin() as session:
        case = await session.get(Case, case_id)
        assert case is not None
        await handoff.desk.from_user(session, case, text, message_id)


async def waiting_in_outbox(database: Database) -> int:
    async with database.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxMessage)) or 0)


# -- commit first, then send -------------------------------------------------------------------------------------


async def claim(handoff: Handoff, database: Database, case_id: int) -> None:
    await handoff.professionals.claim(case_id, ANNA)


async def close(handoff: Handoff, database: Database, case_id: int) -> None:
    await handoff.professionals.close(case_id, ANNA)


async def professional_replies(handoff: Handoff, database: Database, case_id: int) -> None:
    await handoff.professionals.from_professional(await topic_of(database, case_id), ANNA, "Hoi, ik ben Anna.", 7)


async def user_relays(handoff: Handoff, database: Database, case_id: int) -> None:
    await user_writes(handoff, database, case_id, "ben je er nog?", 8)


async def user_stops(handoff: Handoff, database: Database, case_id: int) -> None:
    async with database.sessions.begin() as session:
        case = await session.get(Case, case_id)
        assert case is not None
        await handoff.desk.user_left(session, case)


Action = Callable[[Handoff, Database, int], Awaitable[None]]


@pytest.mark.parametrize("action", [claim, close, professional_replies, user_relays, user_stops])
async def test_what_the_desk_decides_is_committed_before_anything_is_sent(
    database: Database, content: Content, action: Action
) -> None:
    messenger = RecordingMessenger()
    handoff = build(database, content, messenger)
    case_id = await published_case(handoff, database)
    if action is professional_replies:
        await handoff.professionals.claim(case_id, ANNA)
        await handoff.sender.drain()
    sent_before = len(messenger.group) + len(messenger.users)
    messenger.gate = asyncio.Event()  # from now on every send waits until the test lets it go
    sender = asyncio.create_task(handoff.sender.run(3600))
    async with asyncio.timeout(HANG_GUARD):
        await action(handoff, database, case_id)  # returns while Telegram holds every send
        await messenger.sending.wait()  # the sender is in the middle of a send

    # Another user's unit of work writes while that send is held: no write of the desk is open.
    async with database.sessions.begin() as session:
        session.add(Conversation(key="someone else"))
    assert len(messenger.group) + len(messenger.users) == sent_before

    messenger.gate.set()
    await handoff.sender.drain()
    handoff.sender.stop()
    await sender
    assert len(messenger.group) + len(messenger.users) > sent_before
    assert await waiting_in_outbox(database) == 0  # sent rows (and their text) are gone


# -- two messages at once ------------------------------------------------------------------------------------------


async def test_two_acute_messages_at_once_make_one_case_and_one_topic(database: Database, content: Content) -> None:
    messenger = RecordingMessenger()
    handoff = build(database, content, messenger)
    pipeline = make_live_pipeline(database, content, handoff, scripted_nlu(lambda text: ("out_of_scope", 0.6)))
    young = Sender("k" * 64, "nl", USER_CHAT)
    await pipeline.command(young, "start")
    await pipeline.action(young, "aud:youth")
    await asyncio.gather(
        pipeline.text(young, "ik wil niet meer leven", message_id=1),
        pipeline.text(young, "ik wil dood", message_id=2),
    )
    await asyncio.gather(handoff.sweeper.sweep(), handoff.sweeper.sweep())  # woken twice
    await handoff.settle()
    async with database.sessions() as session:
        live = (await session.scalars(select(Case).where(Case.status.in_(cases.LIVE)))).all()
    assert len(live) == 1
    assert len(messenger.topics) == 1


def make_live_pipeline(database: Database, content: Content, handoff: Handoff, nlu: NluClient) -> Pipeline:
    return Pipeline(Understander(SafetyNet.from_yaml(), nlu, 0.45, 0.5), content, database, handoff.desk)


# -- a topic deleted by staff --------------------------------------------------------------------------------------


async def test_a_topic_deleted_by_staff_is_replaced_by_a_new_one_and_the_message_reaches_it(
    database: Database, content: Content
) -> None:
    messenger = RecordingMessenger()
    handoff = build(database, content, messenger)
    case_id = await published_case(handoff, database)
    old_topic = await topic_of(database, case_id)
    messenger.deleted_topics.add(old_topic)

    await user_writes(handoff, database, case_id, "is daar iemand?", 11)
    await handoff.sender.drain()  # Telegram: "message thread not found"
    await handoff.settle()

    new_topic = await topic_of(database, case_id)
    assert new_topic != old_topic and len(messenger.topics) == 2
    case = await case_row(database, case_id)
    assert case is not None and case.status == CaseStatus.REQUESTED
    card, relayed = messenger.in_topic(new_topic)
    assert "Casus" in card and "is daar iemand?" in relayed
    assert await waiting_in_outbox(database) == 0


# -- a user who blocked the bot ------------------------------------------------------------------------------------


async def test_a_user_who_blocked_the_bot_closes_the_case_the_professional_is_told_and_the_sender_carries_on(
    database: Database, content: Content
) -> None:
    messenger = RecordingMessenger()
    handoff = build(database, content, messenger)
    blocked = await published_case(handoff, database, "blocker", chat=111)
    other = await published_case(handoff, database, "other", chat=222)
    for case_id in (blocked, other):
        await handoff.professionals.claim(case_id, ANNA)
    messenger.blocked_chats.add(111)
    sender = asyncio.create_task(handoff.sender.run(3600))

    await handoff.professionals.from_professional(await topic_of(database, blocked), ANNA, "Hoi!", 5)
    await handoff.professionals.from_professional(await topic_of(database, other), ANNA, "Hallo!", 6)
    await handoff.sender.drain()
    assert not sender.done()  # the sender's loop carries on
    handoff.sender.stop()
    await sender

    assert any("Hallo!" in text for text in messenger.to_chat(222))
    case = await case_row(database, blocked)
    assert case is not None and case.status == CaseStatus.CLOSED and case.chat_ref is None
    topic = await topic_of(database, blocked)
    assert content.group("user_unreachable") in messenger.in_topic(topic)
    assert topic in messenger.closed_topics
    still = await case_row(database, other)
    assert still is not None and still.status == CaseStatus.CLAIMED


# -- /vergeet while a reply is on its way ------------------------------------------------------------------------


async def test_after_forget_no_message_reaches_the_user_and_the_topic_is_told(
    database: Database, content: Content
) -> None:
    messenger = RecordingMessenger()
    handoff = build(database, content, messenger)
    pipeline = make_live_pipeline(database, content, handoff, scripted_nlu(lambda text: ("talk_to_human", 0.9)))
    young = Sender("f" * 64, "nl", USER_CHAT)
    await pipeline.command(young, "start")
    await pipeline.action(young, "aud:youth")
    await pipeline.text(young, "kan ik een mens spreken", message_id=1)
    await pipeline.action(young, "handoff:yes")
    await handoff.settle()
    async with database.sessions() as session:
        [case] = (await session.scalars(select(Case))).all()
    await handoff.professionals.claim(case.id, ANNA)
    await handoff.sender.drain()
    told_before = len(messenger.to_chat(USER_CHAT))

    messenger.failing = True  # the professional's reply cannot go out yet
    await handoff.professionals.from_professional(await topic_of(database, case.id), ANNA, "Ben je er nog?", 41)
    await handoff.sender.drain()
    await pipeline.command(young, "vergeet")
    await pipeline.action(young, "forget:yes")
    messenger.failing = False
    await handoff.sender.drain()
    async with database.sessions() as session:
        for_user = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.case_id == case.id)
        assert await session.scalar(for_user) == 0

    assert len(messenger.to_chat(USER_CHAT)) == told_before
    assert not any("Ben je er nog?" in text for text in messenger.to_chat(USER_CHAT))
    assert content.group("user_forgot") in messenger.in_topic(case.topic_id or 0)


# -- a restart in the middle of a handoff ------------------------------------------------------------------------


async def test_a_restart_mid_handoff_loses_nothing_and_sends_nothing_twice(
    database: Database, content: Content
) -> None:
    clock = Clock()
    before = RecordingMessenger()
    handoff = build(database, content, before, clock)
    case_id = await published_case(handoff, database)
    await handoff.professionals.claim(case_id, ANNA)
    before.failing = True  # Telegram is unreachable when the bot goes down
    await user_writes(handoff, database, case_id, "hallo?", 21)
    await handoff.professionals.from_professional(await topic_of(database, case_id), ANNA, "Ik ben er.", 22)
    await handoff.sender.drain()
    assert await waiting_in_outbox(database) > 0

    clock.now += timedelta(minutes=1)  # the bot starts again, later
    after = RecordingMessenger()
    restarted = build(database, content, after, clock)
    await restarted.sender.drain()
    await restarted.sender.drain()
    topic = await topic_of(database, case_id)
    assert [text for text in after.in_topic(topic) if "hallo?" in text] != []
    assert sum("hallo?" in text for text in after.in_topic(topic)) == 1
    assert sum("Ik ben er." in text for text in after.to_chat(USER_CHAT)) == 1
    assert await waiting_in_outbox(database) == 0

    # Telegram delivers the same updates again after the restart: they are not relayed twice.
    await user_writes(restarted, database, case_id, "hallo?", 21)
    await restarted.professionals.from_professional(topic, ANNA, "Ik ben er.", 22)
    await restarted.sender.drain()
    assert sum("hallo?" in text for text in after.in_topic(topic)) == 1
    assert sum("Ik ben er." in text for text in after.to_chat(USER_CHAT)) == 1


async def test_a_send_that_keeps_failing_is_retried_later_then_given_up_without_logging_its_text(
    database: Database, content: Content, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    messenger = RecordingMessenger()
    handoff = build(database, content, messenger, clock)
    case_id = await published_case(handoff, database)
    messenger.failing = True
    await user_writes(handoff, database, case_id, "geheim bericht", 31)
    caplog.set_level(logging.INFO)
    for _ in range(MAX_TRIES):
        await handoff.sender.drain()
        assert await handoff.sender.deliver() == 0  # not tried again before its backoff has passed
        clock.now += timedelta(hours=1)
    assert await waiting_in_outbox(database) == 0
    assert "gave up" in caplog.text and "geheim bericht" not in caplog.text
