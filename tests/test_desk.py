"""The handoff desk on a real database (SQLite and PostgreSQL): two professionals claiming one case at once."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.content import Content
from bot.pseudonym import Pseudonymiser
from bot.storage import cases
from bot.storage.cases import CaseReason, CaseStatus
from bot.storage.models import Case, Conversation, Database
from handoff.chatref import ChatRefs
from handoff.professionals import PROFESSIONAL_CHANNEL
from tests.conftest import make_desk
from tests.fakes import RecordingMessenger

ANNA, BRAM = 1001, 1002
USER_CHAT = 555
ROUNDS = 20


async def requested_case(database: Database, topic_id: int) -> int:
    key = f"user-{topic_id}"
    async with database.sessions.begin() as session:
        session.add(Conversation(key=key))
        await session.flush()
        case = await cases.open_case(session, key, CaseReason.acute("suicidal"), CaseStatus.REQUESTED, None, "nl")
        case.topic_id = topic_id
        case.chat_ref = ChatRefs(b"test-secret").seal(USER_CHAT)
        await session.flush()
        return case.id


async def test_two_professionals_claiming_at_the_same_moment_exactly_one_wins(
    database: Database, content: Content
) -> None:
    messenger = RecordingMessenger()
    handoff = make_desk(database, content, messenger)
    desk = handoff.professionals
    await desk.set_name(ANNA, "Anna")
    await desk.set_name(BRAM, "Bram")
    keys = {
        ANNA: Pseudonymiser(b"test-secret").key(PROFESSIONAL_CHANNEL, ANNA),
        BRAM: Pseudonymiser(b"test-secret").key(PROFESSIONAL_CHANNEL, BRAM),
    }
    for topic_id in range(1, ROUNDS + 1):
        case_id = await requested_case(database, topic_id)
        told_before = len(messenger.users)
        anna, bram = await asyncio.gather(desk.claim(case_id, ANNA), desk.claim(case_id, BRAM))
        await handoff.sender.drain()

        async with database.sessions() as session:
            case = (await session.scalars(select(Case).where(Case.id == case_id))).one()
        assert case.status == CaseStatus.CLAIMED
        winner, loser = (ANNA, BRAM) if case.claimed_by == keys[ANNA] else (BRAM, ANNA)
        assert case.claimed_by == keys[winner]
        name = {ANNA: "Anna", BRAM: "Bram"}
        replies = {ANNA: anna, BRAM: bram}
        assert replies[winner] == content.group("claimed").format(name=name[winner], pseudonym=case.pseudonym)
        assert replies[loser] == content.group("already_claimed").format(name=name[winner])
        joined = [text for _, text in messenger.users[told_before:]]
        assert len(joined) == 1 and name[winner] in joined[0]  # the user is told once, about the winner


async def test_a_claim_on_a_case_that_is_no_longer_open_is_refused(database: Database, content: Content) -> None:
    desk = make_desk(database, content, RecordingMessenger()).professionals
    case_id = await requested_case(database, 1)
    assert await desk.close(case_id, ANNA) is not None
    assert await desk.claim(case_id, BRAM) == content.group("not_open")
