"""Faults on the crisis path: the database going down, the NLU service slow or gone. Whatever fails, a message that
shows danger gets the crisis lines, and every other message gets a kind reply with the numbers to call."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import make_url

from bot.content import Content
from bot.conversation.pipeline import Pipeline
from bot.replies import Reply, Sender
from bot.storage.models import Database
from bot.storage.schema import migrate
from bot.understanding.nlu_client import NluClient
from bot.understanding.understander import Understander
from handoff.desk import OfflineDesk
from safety.risk import SafetyNet
from standin.faults import CuttableProxy, SlowNlu
from tests.conftest import scripted_nlu, unreachable_nlu
from tests.fakes import by_keyword

USER = Sender("f" * 64, "nl", 4242)
OTHER = Sender("g" * 64, "nl", 4343)
DANGER = "ik wil niet meer leven"


def build(database: Database, nlu: NluClient, content: Content, safety_net: SafetyNet) -> Pipeline:
    return Pipeline(Understander(safety_net, nlu, 0.45, 0.5), content, database, OfflineDesk())


class Recorder:
    """The channel's `emit`: what was sent at once, and when."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, Reply]] = []

    async def __call__(self, reply: Reply) -> None:
        self.sent.append((time.monotonic(), reply))


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_with_the_database_down_danger_gets_the_crisis_lines_and_others_a_kind_reply(
    database_url: str, content: Content, safety_net: SafetyNet
) -> None:
    url = make_url(database_url)
    proxy = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    database = Database(url.set(port=proxy.listen_port).render_as_string(hide_password=False))
    try:
        await migrate(database)
        pipeline = build(database, scripted_nlu(by_keyword), content, safety_net)
        await pipeline.command(USER, "start")
        await pipeline.action(USER, "aud:youth")
        await proxy.cut()  # PostgreSQL is gone from here on

        emit = Recorder()
        after = await pipeline.text(USER, DANGER, emit=emit)
        [(_, lines)] = emit.sent
        assert lines.urgent and "113" in lines.text and "0800-0432" in lines.text  # the youth lines: role cached
        assert after == []  # nothing more to say than the lines; no crash, no silence

        [kind] = await pipeline.text(OTHER, "hoe werkt een bezoek")
        assert kind == Reply(content.ui("unavailable", "nl"), urgent=True)
        [button] = await pipeline.action(USER, "menu")
        assert button.text == content.ui("unavailable", "nl")
        [command] = await pipeline.command(USER, "mijngegevens")
        assert command.text == content.ui("unavailable", "nl")
    finally:
        await proxy.cut()
        await database.dispose()


async def test_a_user_the_bot_never_met_gets_the_lines_for_everyone_when_the_database_is_down(
    content: Content, safety_net: SafetyNet
) -> None:
    database = Database("sqlite+aiosqlite:////nonexistent-folder/none.sqlite3")  # cannot even be opened
    pipeline = build(database, scripted_nlu(by_keyword), content, safety_net)
    [lines] = await pipeline.text(Sender("n" * 64, "en-GB", 1), "i want to kill myself")
    for number in ("112", "113", "0800-0113", "0800-0432"):  # every audience's lines: the role is not known
        assert number in lines.text
    assert "Kindertelefoon" in lines.text and lines.urgent
    await database.dispose()


async def test_with_the_nlu_service_slow_the_crisis_lines_go_out_before_it_answers(
    database: Database, content: Content, safety_net: SafetyNet
) -> None:
    slow = SlowNlu(delay=1.5)
    await slow.start()
    nlu = NluClient(slow.url, 5.0)
    try:
        pipeline = build(database, nlu, content, safety_net)
        emit = Recorder()
        await pipeline.text(USER, DANGER, emit=emit)
        [(sent_at, lines)] = emit.sent[:1]
        assert "113" in lines.text
        assert slow.answered_at and sent_at < slow.answered_at[0]  # the lines did not wait for the model
    finally:
        await nlu.aclose()
        await slow.stop()


async def test_with_the_nlu_service_down_danger_gets_the_lines_and_questions_the_menu(
    database: Database, content: Content, safety_net: SafetyNet
) -> None:
    pipeline = build(database, unreachable_nlu(), content, safety_net)
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:parent")
    emit = Recorder()
    await pipeline.text(USER, DANGER, emit=emit)
    assert "113" in emit.sent[0][1].text
    [menu] = await pipeline.text(OTHER, "hoe werkt een bezoek")
    assert menu.text in (content.ui("nlu_down", "nl"), content.ui("welcome", "nl"))
    assert menu.buttons
