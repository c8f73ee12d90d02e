"""Hostile and odd text through the real pipeline, safety net and database (NLU answers are scripted)."""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Callable

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content import Content
from bot.conversation.flood import FloodGuard, Verdict
from bot.conversation.pipeline import Pipeline
from bot.replies import Sender
from bot.storage import cases
from bot.storage.cases import CaseStatus
from bot.storage.models import Case, Conversation, Database
from bot.understanding.nlu_client import NluClient
from bot.understanding.understander import Understander
from handoff.desk import OfflineDesk, Outcome
from safety.normalise import FORMAT_CHARACTERS
from safety.risk import RiskLevel, SafetyNet
from tests.conftest import scripted_nlu
from tests.fakes import by_keyword

KEY = "h" * 64
USER = Sender(KEY)
SLOW_DOWN = "veel berichten snel na elkaar"
MakePipeline = Callable[[NluClient | None], Pipeline]


class RecordingDesk(OfflineDesk):
    """A professionals' group that only records: a person can be asked for, and every message passed on is
    counted."""

    live = True

    async def open(self, session: AsyncSession, case: Case, chat_id: int | None) -> Outcome:
        await cases.set_status(case, CaseStatus.REQUESTED)
        return Outcome.ALERTED

    def __init__(self) -> None:
        self.relayed: list[str | None] = []

    async def from_user(self, session: AsyncSession, case: Case, text: str | None, message_id: int | None) -> None:
        self.relayed.append(text)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def build(
    database: Database, safety_net: SafetyNet, content: Content, flood: FloodGuard | None = None
) -> tuple[Pipeline, RecordingDesk]:
    desk = RecordingDesk()
    understander = Understander(safety_net, scripted_nlu(by_keyword), 0.45, 0.5)
    return Pipeline(understander, content, database, desk, flood=flood), desk


@pytest.fixture
def pipeline(database: Database, safety_net: SafetyNet, content: Content) -> Pipeline:
    return build(database, safety_net, content)[0]


async def chatting(pipeline: Pipeline, sender: Sender = USER) -> None:
    await pipeline.command(sender, "start")
    await pipeline.action(sender, "aud:parent")


# -- floods ------------------------------------------------------------------------------------------------------


async def test_fifty_messages_in_a_burst_get_a_few_answers_and_one_kind_notice(
    database: Database, safety_net: SafetyNet, content: Content
) -> None:
    pipeline, _ = build(database, safety_net, content, FloodGuard(8, 10.0))
    await chatting(pipeline)
    replies = [await pipeline.text(USER, f"hoe regel ik een bezoek {n}") for n in range(50)]
    answered = [r for r in replies if r]
    notices = [r for rs in replies for r in rs if SLOW_DOWN in r.text]
    assert len(answered) == 9 and len(notices) == 1  # eight answers, then the notice, then quiet
    assert all(reply.text for rs in replies for reply in rs)


async def test_after_the_window_the_bot_answers_again_and_would_warn_again(
    database: Database, safety_net: SafetyNet, content: Content
) -> None:
    clock = Clock()
    pipeline, _ = build(database, safety_net, content, FloodGuard(3, 10.0, clock))
    await chatting(pipeline)
    burst = [await pipeline.text(USER, "bezoek") for _ in range(6)]
    assert [len(r) for r in burst] == [1, 1, 1, 1, 0, 0] and SLOW_DOWN in burst[3][0].text
    clock.now += 10.0
    [answer] = await pipeline.text(USER, "hoe regel ik een bezoek")
    assert "slot:first_visit:yes" in [button.action for button in answer.buttons], "answered again: the visit question"


async def test_an_acute_message_in_a_flood_still_gets_the_crisis_lines_at_once(
    database: Database, safety_net: SafetyNet, content: Content
) -> None:
    pipeline, _ = build(database, safety_net, content, FloodGuard(3, 10.0))
    await chatting(pipeline)
    for _ in range(10):
        await pipeline.text(USER, "hallo?")
    first, offer = await pipeline.text(USER, "ik wil niet meer leven")
    assert "113" in first.text and "112" in first.text
    assert [b.action for b in offer.buttons] == ["handoff:yes", "handoff:no"]


async def test_during_a_handoff_every_message_of_a_flood_is_passed_on(
    database: Database, safety_net: SafetyNet, content: Content
) -> None:
    pipeline, desk = build(database, safety_net, content, FloodGuard(3, 10.0))
    await chatting(pipeline)
    await pipeline.text(USER, "kan ik een mens spreken")
    await pipeline.action(USER, "handoff:yes")
    for n in range(50):
        await pipeline.text(USER, f"bericht {n}")
    assert desk.relayed == [f"bericht {n}" for n in range(50)]


async def test_stickers_in_a_flood_are_braked_too(database: Database, safety_net: SafetyNet, content: Content) -> None:
    pipeline, _ = build(database, safety_net, content, FloodGuard(3, 10.0))
    replies = [await pipeline.non_text(USER) for _ in range(10)]
    assert [len(r) for r in replies] == [1, 1, 1, 1] + [0] * 6


def test_the_flood_guard_forgets_nothing_it_should_not_and_keeps_no_text() -> None:
    clock = Clock()
    guard = FloodGuard(2, 5.0, clock)
    a, b = Conversation(key="a"), Conversation(key="b")
    assert [guard.check(a) for _ in range(4)] == [Verdict.ANSWER, Verdict.ANSWER, Verdict.NOTICE, Verdict.QUIET]
    assert guard.check(b) is Verdict.ANSWER  # users are counted apart
    assert len((a.flood_times or "").split()) == 3, "only the last limit + 1 times are kept"
    clock.now += 5.0
    assert guard.check(a) is Verdict.ANSWER
    assert a.flood_times == str(round(clock.now * 1000)), "times out of the window are dropped"
    with pytest.raises(ValueError):
        FloodGuard(0, 5.0)


# -- long messages -----------------------------------------------------------------------------------------------


async def test_danger_at_the_very_end_of_a_100000_character_message_is_found(pipeline: Pipeline) -> None:
    await chatting(pipeline)
    text = "bla " * 25_000 + "ik wil niet meer leven"
    first, _ = await pipeline.text(USER, text)
    assert "113" in first.text  # how long the safety net takes on such a message: `make bench`


@pytest.mark.parametrize("text", ["x" * 4096, "hoe regel ik een bezoek " * 4200, "\n" * 100_000, " " * 100_000])
async def test_very_long_messages_get_a_normal_reply(pipeline: Pipeline, text: str) -> None:
    await chatting(pipeline)
    replies = await pipeline.text(USER, text)
    assert replies and all(reply.text for reply in replies)


# -- odd characters, markup, SQL ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["🙂", "😭😭😭😭", "👨\u200d👩\u200d👧", "\u202e\u2066", "\x00\x07\x1b[2J", "<b>hoi</b>", "**vet**", "&amp;"],
)
async def test_emoji_control_characters_and_markup_get_a_kind_answer_and_are_never_echoed(
    pipeline: Pipeline, text: str
) -> None:
    await chatting(pipeline)
    replies = await pipeline.text(USER, text)
    assert replies and all(reply.text for reply in replies)
    odd = {char for char in text if not char.isalnum() and not char.isspace()} - set(".,:;!?()-'\"/*&<>")
    assert not any(odd & set(reply.text) for reply in replies)


async def test_sql_looking_text_is_harmless_and_stored_nowhere(pipeline: Pipeline, database: Database) -> None:
    injection = "'; DROP TABLE conversations; --"
    await chatting(pipeline)
    assert await pipeline.text(USER, injection)
    assert await pipeline.text(USER, f"hoe regel ik een bezoek {injection}")
    assert await pipeline.command(USER, "start'; DROP TABLE cases; --")
    assert await pipeline.action(USER, f"topic:{injection}")
    await pipeline.text(USER, "ik wil dood " + injection)
    async with database.sessions() as session:
        tables = set(await session.run_sync(lambda sync: inspect(sync.connection()).get_table_names()))
        rows = [
            tuple(row)
            for table in ("conversations", "cases", "relayed_messages", "professionals")
            for row in (await session.execute(text(f"select * from {table}"))).all()
        ]
        assert len((await session.scalars(select(Conversation))).all()) == 1
        assert len((await session.scalars(select(Case))).all()) == 1
    assert {"conversations", "cases", "relayed_messages"} <= tables
    assert not any("DROP" in str(value) for row in rows for value in row)


# -- commands, edits, buttons ------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["foo", "", "start@otherbot", "../../etc/passwd", "x" * 10_000])
async def test_unknown_commands_get_a_kind_answer_with_the_menu(pipeline: Pipeline, command: str) -> None:
    [reply] = await pipeline.command(USER, command)
    assert "/hulp" in reply.text and "topic:visit" in [b.action for b in reply.buttons]


async def test_danger_after_a_command_still_gets_the_crisis_lines(pipeline: Pipeline) -> None:
    await chatting(pipeline)
    first, _ = await pipeline.command(USER, "hulp", "ik wil niet meer leven")
    assert "113" in first.text
    first, *_ = await pipeline.command(USER, "ik", "wil niet meer leven")  # Telegram takes "/ik" for a command
    assert "113" in first.text
    [help_] = await pipeline.command(USER, "help", "hoe werkt dit")
    assert "/menu" in help_.text


async def test_an_edit_is_ignored_unless_the_safety_net_fires(pipeline: Pipeline, database: Database) -> None:
    await chatting(pipeline)
    assert await pipeline.edited(USER, "hoe regel ik een bezoek") == []
    assert await pipeline.edited(Sender("n" * 64), "hallo") == []  # an edit from someone never seen
    first, offer = await pipeline.edited(USER, "ik wil niet meer leven")
    assert "113" in first.text and [b.action for b in offer.buttons] == ["handoff:yes", "handoff:no"]


async def test_during_a_handoff_an_edit_gets_a_note_that_edits_are_not_passed_on(
    database: Database, safety_net: SafetyNet, content: Content
) -> None:
    pipeline, desk = build(database, safety_net, content)
    await chatting(pipeline)
    await pipeline.text(USER, "kan ik een mens spreken")
    await pipeline.action(USER, "handoff:yes")
    [note] = await pipeline.edited(USER, "sorry, ik bedoelde iets anders")
    assert "nieuw bericht" in note.text and desk.relayed == []
    lines, note = await pipeline.edited(USER, "ik wil niet meer leven")
    assert "113" in lines.text and "nieuw bericht" in note.text


@pytest.mark.parametrize(
    "action",
    [
        "aud:admin",
        "topic:../../etc",
        "lang:xx",
        "case:claim:1",
        "case:close:1",
        "handoff:maybe",
        "safe:",
        ":",
        "",
        "\u202e" * 64,
        "x" * 100_000,
    ],
)
async def test_tampered_buttons_get_the_menu_and_change_nothing(
    pipeline: Pipeline, database: Database, action: str
) -> None:
    await chatting(pipeline)
    [reply] = await pipeline.action(USER, action)
    assert "topic:visit" in [b.action for b in reply.buttons]
    async with database.sessions() as session:
        assert (await session.scalars(select(Case))).all() == []


@pytest.mark.parametrize("action", ["transcript:yes", "transcript:no", "park:yes", "park:no", "safe:ok"])
async def test_old_buttons_without_a_case_behind_them_are_harmless(
    pipeline: Pipeline, database: Database, action: str
) -> None:
    await chatting(pipeline)
    assert await pipeline.action(USER, action)
    async with database.sessions() as session:
        assert (await session.scalars(select(Case))).all() == []


async def test_pressing_yes_twice_asks_for_one_professional_only(pipeline: Pipeline, database: Database) -> None:
    await chatting(pipeline)
    await pipeline.text(USER, "kan ik een mens spreken")
    await pipeline.action(USER, "handoff:yes")
    [again] = await pipeline.action(USER, "handoff:yes")
    assert "/stop" in again.text
    async with database.sessions() as session:
        assert len((await session.scalars(select(Case))).all()) == 1


# -- invisible characters cannot hide danger ---------------------------------------------------------------------


@pytest.mark.parametrize("hidden", ["\u00ad", "\u200b", "\u200d", "\u202e", "\u2066", "\ufeff", "\u2060"])
def test_invisible_characters_inside_words_do_not_hide_danger(safety_net: SafetyNet, hidden: str) -> None:
    assert safety_net.assess(f"ik wil niet meer le{hidden}ven").level is RiskLevel.ACUTE
    assert safety_net.assess(f"i{hidden}k w{hidden}il d{hidden}ood").level is RiskLevel.ACUTE


def test_every_invisible_format_character_is_taken_out_before_matching() -> None:
    format_characters = [chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"]
    assert all(FORMAT_CHARACTERS.fullmatch(char) for char in format_characters)
    assert not FORMAT_CHARACTERS.search("abc ÄÖÜ 😭 \n\t")
