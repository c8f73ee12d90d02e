"""The real python-telegram-bot stack, over HTTP, against a local stand-in for the Telegram Bot API.

The NLU service and the database are real too; nothing inside the bot is replaced.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import app
from bot.channels.telegram import build_application
from tests.conftest import make_settings
from tests.telegram_stand_in import (
    USER,
    Call,
    StandIn,
    button_update,
    group_text_update,
    sticker_update,
    text_update,
)

pytestmark = pytest.mark.integration


class Bot:
    def __init__(self, stand_in: StandIn, database: Path) -> None:
        self.stand_in = stand_in
        self.database = database

    async def send(self, update: dict[str, object], replies: int = 1) -> list[Call]:
        """Push an update and return the messages the bot sent in answer (waiting off the event loop)."""
        before = len(self.stand_in.calls_to("sendMessage"))
        self.stand_in.push(update)
        calls = await asyncio.to_thread(self.stand_in.wait_for, "sendMessage", before + replies)
        return calls[before:]


@pytest.fixture
async def bot(tmp_path: Path, rasa_url: str) -> AsyncIterator[Bot]:
    stand_in = StandIn()
    stand_in.start()
    settings = make_settings(
        tmp_path, telegram_token="123456:TEST-TOKEN", telegram_api_base_url=stand_in.base_url, rasa_url=rasa_url
    )
    services = await app.build(settings)
    application = build_application(services)
    await application.initialize()
    assert application.post_init is not None
    await application.post_init(application)
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0.0, timeout=1)
    await application.start()
    try:
        yield Bot(stand_in, tmp_path / "test.sqlite3")
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
        await services.aclose()
        stand_in.stop()


def buttons(call: Call) -> list[str]:
    markup = call.params.get("reply_markup") or {"inline_keyboard": []}
    return [button["callback_data"] for row in markup["inline_keyboard"] for button in row]


async def test_commands_are_registered_in_dutch_and_english(bot: Bot) -> None:
    calls = bot.stand_in.calls_to("setMyCommands")
    names = {call.params.get("language_code"): [c["command"] for c in call.params["commands"]] for call in calls}
    assert names[None] == names["en"] == ["start", "menu", "hulp", "privacy", "stop", "help"]


async def test_start_choose_and_ask_a_question(bot: Bot) -> None:
    [welcome] = await bot.send(text_update("/start"))
    assert welcome.params["chat_id"] == USER["id"]
    assert "anoniem" in welcome.params["text"]
    assert buttons(welcome)[:3] == ["aud:parent", "aud:youth", "aud:professional"]

    [answer] = await bot.send(button_update("aud:parent"))
    assert bot.stand_in.calls_to("answerCallbackQuery")
    assert "topic:visit" in buttons(answer)

    [visit] = await bot.send(text_update("hoe kan ik mijn man in de gevangenis bezoeken?"))
    assert "dji.nl" in visit.params["text"]


async def test_acute_message_gets_crisis_lines_in_the_first_reply(bot: Bot) -> None:
    await bot.send(text_update("/start"))
    first, offer = await bot.send(text_update("ik wil niet meer leven"), replies=2)
    assert "113" in first.params["text"] and "112" in first.params["text"]
    assert buttons(offer) == ["handoff:yes", "handoff:no"]


async def test_sticker_gets_a_kind_reply(bot: Bot) -> None:
    [reply] = await bot.send(sticker_update())
    assert "tekst" in reply.params["text"]


async def test_in_a_stranger_group_the_bot_says_one_line_and_leaves(bot: Bot) -> None:
    [line] = await bot.send(group_text_update("hallo bot"))
    assert line.params["chat_id"] == -100555
    await asyncio.to_thread(bot.stand_in.wait_for, "leaveChat")
    assert bot.stand_in.calls_to("leaveChat")[0].params["chat_id"] == -100555


async def test_no_telegram_identity_or_text_reaches_the_database_or_the_logs(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    app.configure_logging("DEBUG")  # the most a deployment can turn on
    caplog.set_level(logging.DEBUG)
    await bot.send(text_update("/start"))
    await bot.send(button_update("aud:youth"))
    await bot.send(text_update("mijn stiefvader slaat me"), replies=2)
    await bot.send(button_update("handoff:yes"))
    dump = "\n".join(sqlite3.connect(bot.database).iterdump())
    for secret in (str(USER["id"]), str(USER["username"]), str(USER["first_name"]), "stiefvader"):
        assert secret not in dump
        assert secret not in caplog.text
    assert 'INSERT INTO "cases"' in dump
