"""What the conversation counts for the anonymous insights, through the real pipeline and database: requests for a
professional made outside office hours, and the one-tap feedback under answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.app import live_handoff
from bot.content import Content
from bot.conversation.actions import Action, Feedback, parse
from bot.conversation.pipeline import Pipeline
from bot.insights.page import low_helpfulness_rows
from bot.insights.report import build
from bot.replies import Reply, Sender
from bot.storage.models import Database, InsightCount
from bot.understanding.understander import Understander
from handoff.desk import OfflineDesk
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


# -- 👍/👎 under answers ------------------------------------------------------------------------------------------


def feedback_pipeline(database: Database, content: Content, safety_net: SafetyNet) -> Pipeline:
    understander = Understander(safety_net, scripted_nlu(by_keyword), 0.45, 0.5)
    return Pipeline(understander, content, database, OfflineDesk(), feedback=True)


def votes(reply: Reply) -> list[str]:
    return [action for action in actions(reply) if action.startswith("fb:")]


async def parent(pipeline: Pipeline) -> None:
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:parent")


async def test_the_first_answer_of_a_topic_can_be_rated_once_and_the_tap_is_counted_once(
    database: Database, content: Content, safety_net: SafetyNet
) -> None:
    pipeline = feedback_pipeline(database, content, safety_net)
    await parent(pipeline)
    [rules] = await pipeline.text(USER, "welke regels gelden er")
    assert votes(rules) == ["fb:up:visit_rules", "fb:dn:visit_rules"]
    assert actions(rules)[-3] == "menu", "the answer's own buttons come first"
    [more] = await pipeline.action(USER, "answer:visit_bring")
    assert votes(more) == [], "not under every reply: once per topic"
    [thanks] = await pipeline.action(USER, "fb:dn:visit_rules")
    assert thanks.in_place and thanks.text == content.ui("feedback_thanks", "nl") and not thanks.buttons
    await pipeline.action(USER, "fb:dn:visit_rules")  # a second tap on the same message
    await pipeline.action(USER, "fb:up:visit_rules")
    counts = await counted(database)
    assert counts == {("topic", "visit", "parent"): 1, ("feedback_down", "visit_rules", "parent"): 1}
    [other_topic] = await pipeline.text(USER, "is het mijn schuld")
    assert votes(other_topic) == ["fb:up:explain_my_fault", "fb:dn:explain_my_fault"]


async def test_no_rating_under_crisis_replies_menus_or_small_talk(
    database: Database, content: Content, safety_net: SafetyNet
) -> None:
    pipeline = feedback_pipeline(database, content, safety_net)
    await parent(pipeline)
    [hello] = await pipeline.text(USER, "hoi")
    [menu] = await pipeline.command(USER, "menu")
    crisis = await pipeline.text(USER, "ik wil niet meer leven")
    after = await pipeline.text(USER, "welke regels gelden er")  # during the check-in after the alarm
    assert [votes(reply) for reply in (hello, menu, *crisis, *after)] == [[]] * (2 + len(crisis) + len(after))


async def test_a_rating_for_an_answer_never_shown_counts_nothing(
    database: Database, content: Content, safety_net: SafetyNet
) -> None:
    pipeline = feedback_pipeline(database, content, safety_net)
    await parent(pipeline)
    [thanks] = await pipeline.action(USER, "fb:up:visit_costs")
    assert thanks.in_place
    assert not [key for key in await counted(database) if key[0].startswith("feedback")]


async def test_without_the_setting_answers_carry_no_rating(
    database: Database, content: Content, safety_net: SafetyNet
) -> None:
    understander = Understander(safety_net, scripted_nlu(by_keyword), 0.45, 0.5)
    pipeline = Pipeline(understander, content, database, OfflineDesk())
    await parent(pipeline)
    [rules] = await pipeline.text(USER, "welke regels gelden er")
    assert votes(rules) == []


def test_feedback_buttons_are_parsed_strictly_and_fit_telegrams_limit() -> None:
    assert actions_parse("fb:up:visit_costs") == Feedback("visit_costs", True)
    assert actions_parse("fb:dn:visit_costs") == Feedback("visit_costs", False)
    for tampered in ("fb:up:", "fb:maybe:visit", "fb:up:../etc", "fb:up:Visit", "fb:up:" + "a" * 59, "fb"):
        assert actions_parse(tampered) is None
    assert len(Feedback("a" * 58, False).data.encode()) <= 64


def actions_parse(data: str) -> Action | None:
    return parse(data)


def test_the_page_lists_answers_that_help_little_only_from_counts_it_may_show() -> None:
    raw = {
        ("2026-W49", "feedback_up", "visit_costs", "parent", "nl"): 12,
        ("2026-W49", "feedback_down", "visit_costs", "parent", "nl"): 30,
        ("2026-W49", "feedback_up", "contact_video", "parent", "nl"): 40,
        ("2026-W49", "feedback_down", "contact_video", "parent", "nl"): 10,
        ("2026-W49", "feedback_up", "stigma_school", "youth", "nl"): 1,  # small: no share can be shown
        ("2026-W49", "feedback_down", "stigma_school", "youth", "nl"): 25,
    }
    rows = low_helpfulness_rows(build(raw, ["2026-W49"], 10))
    assert rows[1:] == [["2026-W49", "visit_costs", "71%", "30", "12"]]
