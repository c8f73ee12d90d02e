"""Hostile and odd Telegram input, end to end: the real bot over HTTP against the Bot API stand-in, with the real
NLU service and database. Every update gets a sensible reply or is ignored — never a crash or a leak."""

from __future__ import annotations

import asyncio
import html
import logging
import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot import app
from handoff import display
from standin.bot_api import (
    BOT_USERNAME,
    CHANNEL,
    GROUP_ID,
    PROFESSIONALS_CHAT,
    USER,
    added_to_channel_update,
    button_update,
    channel_post_update,
    edited_text_update,
    group_button_update,
    inline_query_update,
    professional,
    raw_button_update,
    text_update,
    topic_update,
)
from tests.integration.harness import RunningBot, StartBot, bots_with_a_group, buttons, wait_until

pytestmark = pytest.mark.integration

ANNA = professional(1001, "Anna")
MALLORY = professional(2002, "Mallory")
USER_CHAT = USER["id"]
SLOW_DOWN = "veel berichten snel na elkaar"
UNKNOWN = "Dat commando ken ik niet"


@pytest.fixture
async def start_bot(tmp_path: Path, rasa_url: str) -> AsyncIterator[StartBot]:
    async with bots_with_a_group(tmp_path, rasa_url, {ANNA["id"]}) as start:
        yield start


def case_rows(bot: RunningBot) -> list[tuple[Any, ...]]:
    with sqlite3.connect(bot.database) as connection:
        return connection.execute("select id, status, topic_id, claimed_by from cases order by id").fetchall()


def in_topic(bot: RunningBot) -> list[str]:
    return [str(c.params["text"]) for c in bot.sent(GROUP_ID) if c.params.get("message_thread_id")]


def quoted(message: str) -> str:
    """The user's own words in a relayed message, as the professional reads them."""
    return html.unescape(message.split("<blockquote>", 1)[1].rsplit("</blockquote>", 1)[0])


def quotes(bot: RunningBot) -> list[str]:
    """Every user message relayed to a topic so far, in order (several may share one group message)."""
    return [
        html.unescape(q) for text in in_topic(bot) for q in re.findall(r"<blockquote>(.*?)</blockquote>", text, re.S)
    ]


async def chatting(bot: RunningBot) -> None:
    await bot.send(text_update("/start"))
    await bot.send(button_update("aud:parent"))


async def claimed_case(bot: RunningBot) -> tuple[int, int]:
    """A young person's acute case, claimed by Anna; returns (case id, topic id)."""
    await bot.send(text_update("/start"))
    await bot.send(button_update("aud:youth"))
    await bot.send(text_update("ik wil niet meer leven"), replies=3, to=USER_CHAT)
    await wait_until(lambda: bool(case_rows(bot)) and case_rows(bot)[0][2] is not None)
    case_id, _, topic_id, _ = case_rows(bot)[0]
    await bot.send(group_button_update(f"case:claim:{case_id}", ANNA, topic_id), to=USER_CHAT)
    await wait_until(lambda: case_rows(bot)[0][1] == "claimed")
    return case_id, topic_id


# -- long, odd and marked-up text in a handoff -------------------------------------------------------------------


async def test_a_4096_character_message_with_markup_reaches_the_topic_whole_escaped_and_within_the_limit(
    start_bot: StartBot,
) -> None:
    bot = await start_bot()
    await claimed_case(bot)
    before = len(in_topic(bot))
    text = ("<b>vet</b> & <a href='https://evil.example'>x</a> " * 200)[:4096]
    bot.stand_in.push(text_update(text))
    await wait_until(lambda: len(in_topic(bot)) >= before + 2)
    await bot.settle()
    parts = in_topic(bot)[before:]
    assert bot.stand_in.refused == []
    assert all(display.visible_length(part) <= display.TELEGRAM_TEXT_LIMIT for part in parts)
    assert "<b>vet</b>" not in "".join(parts) and "&lt;b&gt;vet&lt;/b&gt; &amp; &lt;a href=" in parts[0]
    assert " ".join(quoted(part) for part in parts).split() == text.split()


async def test_bidi_overrides_and_control_characters_are_taken_out_before_professionals_read_them(
    start_bot: StartBot,
) -> None:
    bot = await start_bot()
    await claimed_case(bot)
    [relayed] = await bot.send(
        text_update("hoi \u202e\u2066\x07\x1b[0m✅ Anna heeft casus opgepakt\u202c"), to=GROUP_ID
    )
    assert not set("\u202e\u2066\u202c\x07\x1b") & set(relayed.params["text"])
    assert quoted(relayed.params["text"]) == "hoi [0m✅ Anna heeft casus opgepakt"


async def test_a_long_professional_reply_reaches_the_user_in_pieces_within_the_limit(start_bot: StartBot) -> None:
    bot = await start_bot()
    _, topic_id = await claimed_case(bot)
    before = len(bot.sent(USER_CHAT))
    bot.stand_in.push(topic_update("lang antwoord " * 300, topic_id, ANNA))  # 4,200 characters, plus the name
    await bot.wait_for_messages(before + 2, USER_CHAT)
    assert bot.stand_in.refused == []
    assert "".join(str(c.params["text"]) for c in bot.sent(USER_CHAT)[before:]).count("antwoord") == 300


# -- floods ------------------------------------------------------------------------------------------------------


async def test_fifty_messages_in_ten_seconds_get_a_few_answers_and_one_kind_notice(start_bot: StartBot) -> None:
    bot = await start_bot()
    await chatting(bot)
    before = len(bot.sent(USER_CHAT))
    for n in range(50):
        bot.stand_in.push(text_update(f"hoe regel ik een bezoek {n}"))
    await wait_until(lambda: bot.stand_in.pending_updates == 0, within=30)  # every update was fetched
    await bot.settle(1.0)
    replies = [str(c.params["text"]) for c in bot.sent(USER_CHAT)[before:]]
    assert len(replies) <= 10
    assert sum(SLOW_DOWN in reply for reply in replies) == 1


async def test_an_acute_message_in_the_middle_of_a_flood_gets_the_crisis_lines(start_bot: StartBot) -> None:
    bot = await start_bot()
    await chatting(bot)
    for n in range(20):
        bot.stand_in.push(text_update(f"hallo {n}"))
    bot.stand_in.push(text_update("ik wil niet meer leven"))
    await wait_until(lambda: any("113" in str(c.params["text"]) for c in bot.sent(USER_CHAT)))


# -- commands ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["/foo", "/start@OtherBot", "/", "/🙂", "/" + "x" * 4000])
async def test_unknown_commands_get_a_kind_answer_with_the_menu(start_bot: StartBot, command: str) -> None:
    bot = await start_bot()
    [reply] = await bot.send(text_update(command))
    assert UNKNOWN in reply.params["text"] and "topic:visit" in buttons(reply)


async def test_a_command_addressed_to_this_bot_by_name_works(start_bot: StartBot) -> None:
    bot = await start_bot()
    [welcome] = await bot.send(text_update(f"/start@{BOT_USERNAME}"))
    assert "aud:parent" in buttons(welcome)


async def test_danger_written_after_a_command_still_gets_the_crisis_lines(start_bot: StartBot) -> None:
    bot = await start_bot()
    await chatting(bot)
    first, *_ = await bot.send(text_update("/hulp ik wil niet meer leven"), replies=2, to=USER_CHAT)
    assert "113" in first.params["text"]


# -- edits -------------------------------------------------------------------------------------------------------


async def test_an_edit_is_ignored_unless_it_is_alarming(start_bot: StartBot) -> None:
    bot = await start_bot()
    await chatting(bot)
    await bot.send(text_update("hoe regel ik een bezoek", message_id=880001))
    before = len(bot.sent(USER_CHAT))
    bot.stand_in.push(edited_text_update("hoe regel ik een bezoek aan mijn man", 880001))
    await bot.settle()
    assert len(bot.sent(USER_CHAT)) == before
    [lines, *_] = await bot.send(edited_text_update("ik wil niet meer leven", 880001), to=USER_CHAT)
    assert "113" in lines.params["text"]


async def test_during_a_handoff_an_edit_is_not_passed_on_and_both_sides_are_told(start_bot: StartBot) -> None:
    bot = await start_bot()
    _, topic_id = await claimed_case(bot)
    await bot.send(text_update("ik heb een vraag", message_id=880002), to=GROUP_ID)
    relayed = len(in_topic(bot))
    [note] = await bot.send(edited_text_update("ik heb een andere vraag", 880002), to=USER_CHAT)
    assert "ziet de hulpverlener dat niet" in note.params["text"]
    await bot.settle()
    assert len(in_topic(bot)) == relayed and all("andere vraag" not in text for text in in_topic(bot))

    await bot.send(topic_update("Hoi!", topic_id, ANNA, message_id=990001), to=USER_CHAT)
    edit = topic_update("Hoi! Ik ben Anna.", topic_id, ANNA, message_id=990001)
    edit["edited_message"] = {**edit.pop("message"), "edit_date": 1}
    [told] = await bot.send(edit, to=GROUP_ID)
    assert "Bewerkingen worden niet doorgegeven" in told.params["text"]
    assert all("Ik ben Anna" not in str(c.params["text"]) for c in bot.sent(USER_CHAT))


# -- channels, inline queries, odd updates ------------------------------------------------------------------------


async def test_a_channel_is_left_without_a_word(start_bot: StartBot) -> None:
    bot = await start_bot()
    bot.stand_in.push(added_to_channel_update())
    bot.stand_in.push(channel_post_update("hallo kanaal"))
    await wait_until(lambda: len(bot.stand_in.calls_to("leaveChat")) >= 2)
    assert {c.params["chat_id"] for c in bot.stand_in.calls_to("leaveChat")} == {CHANNEL["id"]}
    assert bot.sent(CHANNEL["id"]) == []


async def test_inline_queries_are_answered_with_nothing(start_bot: StartBot) -> None:
    bot = await start_bot()
    bot.stand_in.push(inline_query_update("ik wil niet meer leven"))
    [answer] = await asyncio.to_thread(bot.stand_in.wait_for, "answerInlineQuery")
    assert answer.params["results"] in ([], "[]")
    await bot.settle()
    assert bot.sent() == []


async def test_update_kinds_the_bot_does_not_handle_are_ignored(start_bot: StartBot) -> None:
    bot = await start_bot()
    odd: list[dict[str, Any]] = [
        {"edited_channel_post": channel_post_update("x")["channel_post"] | {"edit_date": 1}},
        {"chosen_inline_result": {"result_id": "1", "from": USER, "query": "x"}},
        {
            "message_reaction": {
                "chat": {"id": USER_CHAT, "type": "private"},
                "message_id": 1,
                "date": 1,
                "user": USER,
                "old_reaction": [],
                "new_reaction": [{"type": "emoji", "emoji": "👍"}],
            }
        },
    ]
    for update in odd:
        bot.stand_in.push(update)
    [reply] = await bot.send(text_update("/menu"))  # the bot is still there, and answers the next message
    assert "topic:visit" in buttons(reply)


# -- buttons -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data", [None, "", "topic:../../etc", "aud:admin", "x" * 5000, "case:claim:1", "\u202e:\u202e", "handoff:maybe"]
)
async def test_tampered_buttons_in_a_private_chat_get_the_menu_and_change_nothing(
    start_bot: StartBot, data: str | None
) -> None:
    bot = await start_bot()
    await chatting(bot)
    answered = len(bot.stand_in.calls_to("answerCallbackQuery"))
    [menu] = await bot.send(raw_button_update(data))
    assert "topic:visit" in buttons(menu)
    assert len(bot.stand_in.calls_to("answerCallbackQuery")) > answered
    assert case_rows(bot) == []


@pytest.mark.parametrize(
    "data",
    [
        "case:claim:999",
        "case:close:999",
        "case:claim:" + "9" * 40,
        "case:claim:-1",
        "case:claim:\u0661",
        "case:open:1",
        "case:claim:1:extra",
        "claim:1",
        "x" * 5000,
    ],
)
async def test_tampered_case_buttons_in_the_group_are_answered_and_change_nothing(
    start_bot: StartBot, data: str
) -> None:
    bot = await start_bot()
    await bot.send(text_update("/start"))
    await bot.send(text_update("ik wil niet meer leven"), replies=2, to=USER_CHAT)
    await wait_until(lambda: bool(case_rows(bot)) and case_rows(bot)[0][2] is not None)
    _, _, topic_id, _ = case_rows(bot)[0]
    answered = len(bot.stand_in.calls_to("answerCallbackQuery"))
    to_user = len(bot.sent(USER_CHAT))
    bot.stand_in.push(group_button_update(data, ANNA, topic_id))
    await wait_until(lambda: len(bot.stand_in.calls_to("answerCallbackQuery")) > answered)
    await bot.settle()
    assert case_rows(bot)[0][1] == "requested" and len(bot.sent(USER_CHAT)) == to_user


async def test_a_stranger_cannot_close_a_claimed_case_and_nobody_can_claim_a_closed_one(start_bot: StartBot) -> None:
    bot = await start_bot()
    case_id, topic_id = await claimed_case(bot)
    answered = len(bot.stand_in.calls_to("answerCallbackQuery"))
    bot.stand_in.push(group_button_update(f"case:close:{case_id}", MALLORY, topic_id))
    await wait_until(lambda: len(bot.stand_in.calls_to("answerCallbackQuery")) > answered)
    assert case_rows(bot)[0][1] == "claimed"
    await bot.send(group_button_update(f"case:close:{case_id}", ANNA, topic_id), to=USER_CHAT)
    await wait_until(lambda: case_rows(bot)[0][1] == "closed")
    bot.stand_in.push(group_button_update(f"case:claim:{case_id}", ANNA, topic_id))

    # The close's own answer may still be on its way: wait for the answer to the claim itself.
    def told_not_open() -> bool:
        return any(
            "niet meer open" in str(call.params.get("text")) for call in bot.stand_in.calls_to("answerCallbackQuery")
        )

    await wait_until(told_not_open)
    assert case_rows(bot)[0][1] == "closed"


async def test_a_case_button_pressed_in_a_private_chat_does_nothing_to_the_case(start_bot: StartBot) -> None:
    bot = await start_bot()
    case_id, _ = await claimed_case(bot)
    before = case_rows(bot)
    [menu] = await bot.send(raw_button_update(f"case:close:{case_id}"), to=USER_CHAT)
    assert "topic:visit" in buttons(menu) and case_rows(bot) == before
    # ... nor from a lookalike group that is not the professionals' group.
    fake = {**PROFESSIONALS_CHAT, "id": -100777}
    answered = len(bot.stand_in.calls_to("answerCallbackQuery"))
    bot.stand_in.push(raw_button_update(f"case:close:{case_id}", ANNA, chat=fake))
    await wait_until(lambda: len(bot.stand_in.calls_to("answerCallbackQuery")) > answered)
    await bot.settle()
    assert case_rows(bot) == before


# -- SQL-looking text, and what the logs and the database keep ---------------------------------------------------


async def test_sql_looking_text_changes_nothing_and_is_stored_nowhere(start_bot: StartBot) -> None:
    bot = await start_bot()
    injection = "'; DROP TABLE conversations; --"
    await chatting(bot)
    await bot.send(text_update(injection))
    await bot.send(text_update(f"/start {injection}"))
    await bot.send(raw_button_update(injection))
    with sqlite3.connect(bot.database) as connection:
        assert connection.execute("select count(*) from conversations").fetchone() == (1,)
        dump = "\n".join(connection.iterdump())
    assert "DROP" not in dump


async def test_hostile_scenarios_leave_no_text_or_identity_in_the_logs_or_the_database(
    start_bot: StartBot, caplog: pytest.LogCaptureFixture
) -> None:
    app.configure_logging("DEBUG")
    caplog.set_level(logging.DEBUG)
    bot = await start_bot(flood_messages=3)
    secrets = ["geheimwoord", "\u202egeheim", "<b>geheimvet</b>", "DROP TABLE geheim"]
    case_id, topic_id = await claimed_case(bot)
    for text in secrets:
        await bot.send(text_update(text), to=GROUP_ID)
    bot.stand_in.push(edited_text_update("bewerktgeheim", 880003))
    bot.stand_in.push(inline_query_update("inlinegeheim"))
    bot.stand_in.push(channel_post_update("kanaalgeheim"))
    bot.stand_in.push(raw_button_update("knopgeheim"))
    bot.stand_in.push(group_button_update("case:claim:" + "9" * 30, MALLORY, topic_id))
    await bot.send(text_update("/geheimcommando"), to=USER_CHAT)
    await bot.send(group_button_update(f"case:close:{case_id}", ANNA, topic_id), to=USER_CHAT)
    for n in range(10):
        bot.stand_in.push(text_update(f"floodgeheim {n}"))
    await wait_until(lambda: bot.stand_in.pending_updates == 0)
    await bot.settle(1.0)
    dump = "\n".join(sqlite3.connect(bot.database).iterdump())
    identities = [str(USER["id"]), USER["username"], USER["first_name"], str(MALLORY["id"]), "Mallory", "Anna"]
    words = ["geheim", "bewerkt", "inline", "kanaal", "knop", "floodgeheim", "ik wil niet meer leven"]
    for leak in identities + words:
        assert not _contains(caplog.text, leak), leak
    for leak in [*identities[:-1], *words]:  # Anna chose no name, so "Anna" is not stored either
        assert not _contains(dump, leak), leak
    assert "error while handling an update" not in caplog.text


def _contains(text: str, leak: str) -> bool:
    """A numeric id as a number of its own, not inside another (a timestamp's microseconds held "…920026…", which has
    the id 2002 in it); any other leak as a substring."""
    if leak.isdigit():
        return re.search(rf"(?<!\d){leak}(?!\d)", text) is not None
    return leak in text


async def test_during_a_handoff_all_fifty_messages_of_a_flood_reach_the_professional(start_bot: StartBot) -> None:
    bot = await start_bot()
    await claimed_case(bot)
    to_user = len(bot.sent(USER_CHAT))
    for n in range(50):
        bot.stand_in.push(text_update(f"bericht nummer {n}"))
    other: dict[str, Any] = {**USER, "id": 515151, "first_name": "Kim", "username": "kim"}
    bot.stand_in.push(text_update("ik wil niet meer leven", other))  # someone else, in danger, right after
    await wait_until(lambda: any("113" in str(c.params["text"]) for c in bot.sent(other["id"])), within=60)

    expected = [f"bericht nummer {n}" for n in range(50)]
    await wait_until(lambda: quotes(bot)[-50:] == expected, within=60)
    messages = len(in_topic(bot))
    assert messages < 50  # what piled up was merged into fewer group messages
    assert len(bot.sent(USER_CHAT)) == to_user  # no slow-down notice while a professional is there
