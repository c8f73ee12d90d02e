"""What the conversation counts for the anonymous insights, through the real pipeline and database: requests for a
professional made outside office hours, and the one-tap feedback under answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.app import live_handoff
from bot.content import Content
from bot.conversation.pipeline import Pipeline
from bot.replies import Reply, Sender
from bot.storage.models import Database, InsightCount
from bot.understanding.understander import Understander
from handoff.hours import OfficeHours
from safety.risk import SafetyNet
from tests.conftest import scripted_nlu
from tests.fakes import RecordingMessenger, by_keyword

KEY = "f" * 64
USER = Sender(KEY, "nl", 555)
SUNDAY_NIGHT = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
TUESDAY_NOON = datetime(2026, 12, 8, 11, 0, tzinfo=UTC)


def actions(reply: Reply) -> list[str]:
    return [button.action for button in reply.buttons]


async def counted(database: Database) -> dict[tuple[str, str, str], int]:
    """(kind, key, audience) -> count, over every week."""
    async with database.sessions() as session:
        rows = (await session.scalars(select(InsightCount))).all()
    result: dict[tuple[str, str, str], int] = {}
    for row in rows:
        result[(row.kind, row.key, row.audience)] = result.get((row.kind, row.key, row.audience), 0) + row.tally
    return result


def office_pipeline(database: Database, content: Content, safety_net: SafetyNet, now: datetime) -> Pipeline:
    """A live desk whose team works weekdays 9 to 5, seen at `now`."""
    hours = OfficeHours.parse("mon-fri 09:00-17:00")
    handoff = live_handoff(database, RecordingMessenger(), content, b"s", hours, timedelta(minutes=5), lambda: now)
    return Pipeline(Understander(safety_net, scripted_nlu(by_keyword), 0.45, 0.5), content, database, handoff.desk)


async def ask_for_a_person(pipeline: Pipeline) -> None:
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:parent")
    [offer] = await pipeline.text(USER, "kan ik een mens spreken")
    assert "handoff:yes" in actions(offer)
    await pipeline.action(USER, "handoff:yes")


async def test_a_request_for_a_person_at_night_is_counted_as_out_of_hours(
    database: Database, content: Content, safety_net: SafetyNet
) -> None:
    await ask_for_a_person(office_pipeline(database, content, safety_net, SUNDAY_NIGHT))
    counts = await counted(database)
    assert counts[("handoff_accepted", "", "parent")] == 1
    assert counts[("handoff_out_of_hours", "", "parent")] == 1


async def test_a_request_for_a_person_in_office_hours_is_not_counted_as_out_of_hours(
    database: Database, content: Content, safety_net: SafetyNet
) -> None:
    await ask_for_a_person(office_pipeline(database, content, safety_net, TUESDAY_NOON))
    counts = await counted(database)
    assert counts[("handoff_accepted", "", "parent")] == 1
    assert ("handoff_out_of_hours", "", "parent") not in counts


async def test_an_acute_message_at_night_counts_as_out_of_hours_too(
    database: Database, content: Content, safety_net: SafetyNet
) -> None:
    pipeline = office_pipeline(database, content, safety_net, SUNDAY_NIGHT)
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:youth")
    await pipeline.text(USER, "ik wil niet meer leven")
    counts = await counted(database)
    assert counts[("handoff_out_of_hours", "", "youth")] == 1
