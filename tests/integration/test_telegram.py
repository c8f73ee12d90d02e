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
from standin.bot_api import (
    GROUP_ID,
    USER,
    button_update,
    group_text_update,
    sticker_update,
    text_update,
)
from tests.integration.harness import RunningBot, buttons, one_bot

pytestmark = pytest.mark.integration


@pytest.fixture
async def bot(tmp_path: Path, rasa_url: str) -> AsyncIterator[RunningBot]:
    async with one_bot(tmp_path, rasa_url) as running:
        yield running


async def test_commands_are_registered_in_dutch_and_english(bot: RunningBot) -> None:
    calls = bot.stand_in.calls_to("setMyCommands")
    names = {call.params.get("language_code"): [c["command"] for c in call.params["commands"]] for call in calls}
    assert names[None] == ["start", "menu", "hulp", "privacy", "mijngegevens", "vergeet", "taal", "stop", "help"]
    assert names["en"] == ["start", "menu", "hulp", "privacy", "mydata", "forget", "taal", "stop", "help"]


async def test_start_choose_and_ask_a_question(bot: RunningBot) -> None:
    [welcome] = await bot.send(text_update("/start"))
    assert welcome.params["chat_id"] == USER["id"]
    assert "anoniem" in welcome.params["text"]
    assert buttons(welcome)[:3] == ["aud:parent", "aud:youth", "aud:professional"]

    [answer] = await bot.send(button_update("aud:parent"))
    assert bot.stand_in.calls_to("answerCallbackQuery")
    assert "topic:visit" in buttons(answer)

    [question] = await bot.send(text_update("hoe kan ik mijn man in de gevangenis bezoeken?"))
    assert buttons(question)[:2] == ["slot:first_visit:yes", "slot:first_visit:no"]
    [visit] = await bot.send(button_update("slot:first_visit:yes"))
    assert "dji.nl" in visit.params["text"]


async def test_a_follow_up_question_is_asked_once_and_remembered(bot: RunningBot) -> None:
    await bot.send(text_update("/start"))
    await bot.send(button_update("aud:parent"))
    [question] = await bot.send(text_update("hoe vertel ik mijn kinderen dat hun vader vastzit?"))
    assert "slot:child_age:under_4" in buttons(question)
    [young] = await bot.send(text_update("ze is 3"))
    await bot.send(text_update("hoe gaat een bezoek in de gevangenis"))  # in between: no answer twice in a row
    [again] = await bot.send(text_update("hoe leg ik het uit aan mijn kind"))
    assert not any(action.startswith("slot:") for action in buttons(again)), "the age is remembered"
    assert again.params["text"] == young.params["text"]


async def test_acute_message_gets_crisis_lines_in_the_first_reply(bot: RunningBot) -> None:
    await bot.send(text_update("/start"))
    first, check = await bot.send(text_update("ik wil niet meer leven"), replies=2)
    assert "113" in first.params["text"] and "112" in first.params["text"]
    # No professionals' group: no promise of a person, a check-in instead.
    assert buttons(check) == ["safe:ok", "safe:notok"]


async def test_sticker_gets_a_kind_reply(bot: RunningBot) -> None:
    [reply] = await bot.send(sticker_update())
    assert "tekst" in reply.params["text"]


async def test_in_a_stranger_group_the_bot_says_one_line_and_leaves(bot: RunningBot) -> None:
    [line] = await bot.send(group_text_update("hallo bot"))
    assert line.params["chat_id"] == -100555
    await asyncio.to_thread(bot.stand_in.wait_for, "leaveChat")
    assert bot.stand_in.calls_to("leaveChat")[0].params["chat_id"] == -100555


@pytest.fixture
async def bot_with_group(tmp_path: Path, rasa_url: str) -> AsyncIterator[RunningBot]:
    async with one_bot(tmp_path, rasa_url, handoff_chat_id=GROUP_ID) as running:
        yield running


async def test_no_telegram_identity_or_text_reaches_the_database_or_the_logs(
    bot_with_group: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    bot = bot_with_group
    app.configure_logging("DEBUG")  # the most a deployment can turn on
    caplog.set_level(logging.DEBUG)
    await bot.send(text_update("/start"), to=USER["id"])
    await bot.send(button_update("aud:youth"), to=USER["id"])
    await bot.send(
        text_update("mijn stiefvader slaat me"), replies=3, to=USER["id"]
    )  # lines, waiting, share the messages?
    await bot.send(button_update("handoff:yes"), to=USER["id"])
    dump = "\n".join(sqlite3.connect(bot.database).iterdump())
    for secret in (str(USER["id"]), str(USER["username"]), str(USER["first_name"]), "stiefvader"):
        assert secret not in dump
        assert secret not in caplog.text
    assert 'INSERT INTO "cases"' in dump

    # /vergeet: the log says how much was deleted, never whose (not even the pseudonymous key) or what.
    assert bot.services is not None
    key = bot.services.pseudonyms.key("telegram", USER["id"])
    await bot.send(text_update("/vergeet"), to=USER["id"])
    await bot.send(button_update("forget:yes"), to=USER["id"])
    [deleted] = [r.getMessage() for r in caplog.records if "deleted on request" in r.getMessage()]
    assert deleted.endswith(": 1 cases (1 open), 0 relayed-message records")
    for secret in (key, str(USER["id"]), str(USER["username"]), str(USER["first_name"]), "stiefvader"):
        assert secret not in caplog.text
    dump = "\n".join(sqlite3.connect(bot.database).iterdump())
    assert key not in dump and 'INSERT INTO "cases"' not in dump


async def test_a_thumbs_up_under_an_answer_is_thanked_counted_once_and_its_buttons_go(bot: RunningBot) -> None:
    await bot.send(text_update("/start"))
    await bot.send(button_update("aud:parent"))
    await bot.send(text_update("hoe kan ik mijn man in de gevangenis bezoeken?"))
    [answer] = await bot.send(button_update("slot:first_visit:yes"))
    votes = [action for action in buttons(answer) if action.startswith("fb:")]
    assert len(votes) == 2 and votes[0].startswith("fb:up:")
    markup = answer.params["reply_markup"]
    bot.stand_in.push(button_update(votes[0], markup=markup))
    [edit] = await asyncio.to_thread(bot.stand_in.wait_for, "editMessageReplyMarkup")
    kept = [
        b["callback_data"] for row in (edit.params.get("reply_markup") or {}).get("inline_keyboard", []) for b in row
    ]
    assert kept == [action for action in buttons(answer) if not action.startswith("fb:")]
    thanked = [c for c in bot.stand_in.calls_to("answerCallbackQuery") if c.params.get("text")]
    assert len(thanked) == 1 and "Dank je" in thanked[0].params["text"]
    bot.stand_in.push(button_update(votes[0], markup=markup))  # a second tap that still arrives
    await asyncio.to_thread(bot.stand_in.wait_for, "editMessageReplyMarkup", 2)
    with sqlite3.connect(bot.database) as connection:
        rows = connection.execute("select kind, key, audience, tally from insight_counts where kind like 'feedback%'")
        counted = rows.fetchall()
    assert counted == [("feedback_up", votes[0].removeprefix("fb:up:"), "parent", 1)]
