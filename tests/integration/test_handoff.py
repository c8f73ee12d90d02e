"""Live handoff to professionals, end to end: the real bot, the Bot API stand-in, the real NLU service and database."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from handoff.hours import AMSTERDAM, DAYS
from standin.bot_api import (
    GROUP_ID,
    USER,
    button_update,
    group_button_update,
    group_text_update,
    professional,
    sticker_update,
    text_update,
    topic_update,
)
from tests.integration.harness import RunningBot, StartBot, bots_with_a_group, buttons, wait_until

pytestmark = pytest.mark.integration

ANNA = professional(1001, "Anna")
BRAM = professional(1002, "Bram")
STRANGER = professional(2002, "Mallory")
USER_CHAT = USER["id"]


@pytest.fixture
async def start_bot(tmp_path: Path, rasa_url: str) -> AsyncIterator[StartBot]:
    async with bots_with_a_group(tmp_path, rasa_url, {ANNA["id"], BRAM["id"]}) as start:
        yield start


def topics(bot: RunningBot) -> list[dict[str, Any]]:
    return [call.params for call in bot.stand_in.calls_to("createForumTopic")]


def in_topic(bot: RunningBot) -> list[str]:
    return [str(c.params["text"]) for c in bot.sent(GROUP_ID) if c.params.get("message_thread_id")]


def case_rows(bot: RunningBot) -> list[tuple[Any, ...]]:
    with sqlite3.connect(bot.database) as connection:
        return connection.execute("select id, status, urgent, topic_id, claimed_name from cases order by id").fetchall()


async def acute_case(bot: RunningBot) -> tuple[int, int]:
    """A young person sends an acute message; returns (case id, topic id) once the group is alerted."""
    await bot.send(text_update("/start"))
    await bot.send(button_update("aud:youth"))
    first, waiting, _transcript = await bot.send(text_update("ik wil niet meer leven"), replies=3, to=USER_CHAT)
    assert "113" in first.params["text"] and "112" in first.params["text"]
    assert "/stop" in waiting.params["text"]
    await wait_until(lambda: len(bot.sent(GROUP_ID)) >= 2 and case_rows(bot)[0][3] is not None)
    [(case_id, status, urgent, topic_id, _)] = case_rows(bot)
    assert (status, urgent) == ("requested", 1)
    return case_id, topic_id


async def test_acute_message_urgent_topic_claim_relay_both_ways_close_and_the_bot_answers_again(
    start_bot: StartBot,
) -> None:
    bot = await start_bot()
    case_id, topic_id = await acute_case(bot)
    [topic] = topics(bot)
    assert topic["name"].startswith("URGENT · ") and topic["name"].endswith(" · jongere · nl")
    # The card goes to the case's topic and the alert to the group's general chat, in whichever order they leave.
    [card] = [call for call in bot.sent(GROUP_ID)[:2] if call.params.get("message_thread_id") == topic_id]
    [alert] = [call for call in bot.sent(GROUP_ID)[:2] if "message_thread_id" not in call.params]
    assert buttons(card) == [f"case:claim:{case_id}", f"case:close:{case_id}"]
    assert "URGENT" in alert.params["text"]
    for identity in ("424242", "Sanne", "sanne_k"):
        assert all(
            identity not in str(call.params) for call in bot.sent(GROUP_ID) + bot.stand_in.calls_to("createForumTopic")
        )

    await bot.send(topic_update("/naam Anna", topic_id, ANNA), to=GROUP_ID)
    [joined] = await bot.send(group_button_update(f"case:claim:{case_id}", ANNA, topic_id), to=USER_CHAT)
    assert joined.params["text"].startswith("Anna (hulpverlener) doet nu mee")
    assert "Anna" in str(bot.sent(GROUP_ID)[-1].params["text"])

    before = len(bot.sent(USER_CHAT))
    [relayed] = await bot.send(text_update("ik ben bang <b>echt</b>"), to=GROUP_ID)
    assert relayed.params["message_thread_id"] == topic_id
    assert "ik ben bang &lt;b&gt;echt&lt;/b&gt;" in relayed.params["text"]
    await bot.settle()
    assert len(bot.sent(USER_CHAT)) == before  # the bot stays quiet while Anna owns the conversation

    [reply] = await bot.send(topic_update("Hoi, ik ben Anna. Fijn dat je het zegt.", topic_id, ANNA), to=USER_CHAT)
    assert reply.params["text"] == "Anna (hulpverlener): Hoi, ik ben Anna. Fijn dat je het zegt."
    await bot.send(topic_update("notitie voor collega's", topic_id, BRAM), replies=0)
    await bot.settle()
    assert all("notitie" not in str(c.params["text"]) for c in bot.sent(USER_CHAT))

    [left] = await bot.send(group_button_update(f"case:close:{case_id}", ANNA, topic_id), to=USER_CHAT)
    assert "Anna (hulpverlener) heeft het gesprek afgesloten" in left.params["text"]
    await wait_until(lambda: bool(bot.stand_in.calls_to("closeForumTopic")))
    assert bot.stand_in.calls_to("closeForumTopic")[0].params["message_thread_id"] == topic_id
    await wait_until(lambda: case_rows(bot)[0][1] == "closed")

    [question] = await bot.send(text_update("hoe kan ik mijn vader in de gevangenis bezoeken"), to=USER_CHAT)
    assert "slot:first_visit:yes" in buttons(question)
    [answer] = await bot.send(button_update("slot:first_visit:no"), to=USER_CHAT)
    assert "dji.nl" in answer.params["text"]


async def test_a_new_acute_message_during_a_handoff_still_gets_the_lines_and_flags_the_topic(
    start_bot: StartBot,
) -> None:
    bot = await start_bot()
    await bot.send(text_update("/start"))
    await bot.send(button_update("aud:parent"))
    await bot.send(text_update("kan ik met een echt mens praten"), to=USER_CHAT)
    waiting, transcript = await bot.send(button_update("handoff:yes"), replies=2, to=USER_CHAT)
    assert "/stop" in waiting.params["text"] and buttons(transcript) == ["transcript:yes", "transcript:no"]
    await wait_until(lambda: len(topics(bot)) == 1 and case_rows(bot)[0][3] is not None)
    assert topics(bot)[0]["name"].startswith("vraag · ")
    [shared] = await bot.send(button_update("transcript:yes"), to=USER_CHAT)
    assert "kan je berichten lezen" in shared.params["text"]
    await wait_until(lambda: any("kan ik met een echt mens praten" in t for t in in_topic(bot)))
    topic_id = case_rows(bot)[0][3]
    [listed] = await bot.send(topic_update("/casussen", topic_id, BRAM), to=GROUP_ID)
    assert "vraag · " in listed.params["text"] and "vraagt zelf" in listed.params["text"]
    await bot.send(topic_update("/claim", topic_id, ANNA), to=USER_CHAT)  # the command works like the button
    await wait_until(lambda: case_rows(bot)[0][1] == "claimed")

    [lines] = await bot.send(text_update("mijn vriend slaat me en de kinderen"), to=USER_CHAT)
    assert "0800-2000" in lines.params["text"]
    await wait_until(lambda: any("Nieuw acuut signaal" in t for t in in_topic(bot)))
    await wait_until(lambda: bool(bot.stand_in.calls_to("editForumTopic")))
    assert bot.stand_in.calls_to("editForumTopic")[0].params["name"].startswith("URGENT · ")


async def test_asking_for_a_person_and_then_declining_opens_nothing(start_bot: StartBot) -> None:
    bot = await start_bot()
    await bot.send(text_update("/start"))
    await bot.send(button_update("aud:parent"))
    [offer] = await bot.send(text_update("ik wil graag met een hulpverlener praten"), to=USER_CHAT)
    assert buttons(offer) == ["handoff:yes", "handoff:no"]
    [declined] = await bot.send(button_update("handoff:no"), to=USER_CHAT)
    assert "/hulp" in declined.params["text"]
    await bot.settle()
    assert topics(bot) == [] and bot.sent(GROUP_ID) == [] and case_rows(bot) == []


async def test_unclaimed_case_is_alerted_again_and_the_user_hears_what_to_do_meanwhile(start_bot: StartBot) -> None:
    bot = await start_bot(handoff_claim_timeout=0.5)
    await bot.send(text_update("/start"))
    await bot.send(button_update("aud:parent"))
    await bot.send(text_update("kan ik iemand spreken"), to=USER_CHAT)
    await bot.send(button_update("handoff:yes"), to=USER_CHAT)
    await wait_until(lambda: any("wacht al" in str(c.params["text"]) for c in bot.sent(GROUP_ID)))
    await wait_until(lambda: any("nog niemand gereageerd" in str(c.params["text"]) for c in bot.sent(USER_CHAT)))
    [still] = [c for c in bot.sent(USER_CHAT) if "nog niemand gereageerd" in str(c.params["text"])]
    assert "088-0767 000" in still.params["text"]


async def test_urgent_cases_are_alerted_again_before_others(start_bot: StartBot) -> None:
    # Both cases fall due before the first periodic sweep, so one sweep re-alerts both, in order of urgency.
    bot = await start_bot(handoff_claim_timeout=3.0, handoff_sweep_seconds=6.0)
    other: dict[str, Any] = {**USER, "id": 515151, "first_name": "Kim", "username": "kim"}
    await bot.send(text_update("/start", other))
    await bot.send(button_update("aud:parent", other))
    await bot.send(text_update("kan ik iemand spreken", other), to=other["id"])
    await bot.send(button_update("handoff:yes", other), to=other["id"])
    await bot.send(text_update("/start"))
    await bot.send(text_update("ik wil niet meer leven"), replies=2, to=USER_CHAT)
    await wait_until(lambda: len(topics(bot)) == 2)

    def general() -> list[str]:
        return [str(c.params["text"]) for c in bot.sent(GROUP_ID) if "message_thread_id" not in c.params]

    await wait_until(lambda: sum("wacht al" in text for text in general()) >= 2)
    realerts = [text for text in general() if "wacht al" in text]
    assert "acuut" in realerts[0] and "vraagt zelf" in realerts[1]


async def test_outside_office_hours_the_user_is_told_at_once_and_may_leave_the_case(start_bot: StartBot) -> None:
    tomorrow = DAYS[(datetime.now(AMSTERDAM) + timedelta(days=1)).weekday()]
    bot = await start_bot(handoff_hours=f"{tomorrow} 09:00-17:00")
    await bot.send(text_update("/start"))
    await bot.send(button_update("aud:parent"))
    await bot.send(text_update("ik wil met iemand praten"), to=USER_CHAT)
    closed, park = await bot.send(button_update("handoff:yes"), replies=2, to=USER_CHAT)
    assert "geen hulpverlener online" in closed.params["text"] and "088-0767 000" in closed.params["text"]
    assert buttons(park) == ["park:yes", "park:no"]
    [parked] = await bot.send(button_update("park:yes"), to=USER_CHAT)
    assert "blijft staan" in parked.params["text"]
    await bot.settle()
    assert topics(bot) == [] and case_rows(bot)[0][1] == "parked"


async def test_a_restart_in_the_middle_of_a_handoff_loses_nothing_and_delivers_once(start_bot: StartBot) -> None:
    bot = await start_bot()
    case_id, topic_id = await acute_case(bot)
    await bot.send(group_button_update(f"case:claim:{case_id}", ANNA, topic_id), to=USER_CHAT)
    await bot.stop()

    bot.stand_in.push(text_update("ben je er nog?", message_id=777001))  # arrives while the bot is down
    restarted = await start_bot()
    await wait_until(lambda: any("ben je er nog?" in t for t in in_topic(restarted)))
    # Telegram delivering the same message again (after a crash) does not relay it twice.
    restarted.stand_in.push(text_update("ben je er nog?", message_id=777001))
    await restarted.settle()
    assert sum("ben je er nog?" in t for t in in_topic(restarted)) == 1
    [reply] = await restarted.send(topic_update("Ja, ik ben er nog.", topic_id, ANNA), to=USER_CHAT)
    assert reply.params["text"].endswith("Ja, ik ben er nog.")


async def test_someone_outside_the_group_cannot_claim(start_bot: StartBot) -> None:
    bot = await start_bot()
    case_id, topic_id = await acute_case(bot)
    answered = len(bot.stand_in.calls_to("answerCallbackQuery"))
    bot.stand_in.push(group_button_update(f"case:claim:{case_id}", STRANGER, topic_id))
    await wait_until(lambda: len(bot.stand_in.calls_to("answerCallbackQuery")) > answered)
    await bot.settle()
    assert case_rows(bot)[0][1] == "requested"
    assert all("doet nu mee" not in str(c.params["text"]) for c in bot.sent(USER_CHAT))


async def test_two_professionals_claiming_at_once_one_wins_the_other_is_told(start_bot: StartBot) -> None:
    bot = await start_bot()
    case_id, topic_id = await acute_case(bot)
    await bot.send(topic_update("/naam Bram", topic_id, BRAM), to=GROUP_ID)
    answered = len(bot.stand_in.calls_to("answerCallbackQuery"))
    bot.stand_in.push(group_button_update(f"case:claim:{case_id}", ANNA, topic_id))
    bot.stand_in.push(group_button_update(f"case:claim:{case_id}", BRAM, topic_id))
    await wait_until(lambda: len(bot.stand_in.calls_to("answerCallbackQuery")) >= answered + 2)
    await bot.settle()
    joined = [c for c in bot.sent(USER_CHAT) if "doet nu mee" in str(c.params["text"])]
    assert len(joined) == 1
    answers = [str(c.params.get("text", "")) for c in bot.stand_in.calls_to("answerCallbackQuery")]
    assert any("al opgepakt door" in answer for answer in answers)
    assert case_rows(bot)[0][1] == "claimed"


async def test_non_text_during_a_handoff_is_not_passed_on_and_the_sender_is_told(start_bot: StartBot) -> None:
    bot = await start_bot()
    case_id, topic_id = await acute_case(bot)
    await bot.send(group_button_update(f"case:claim:{case_id}", ANNA, topic_id), to=USER_CHAT)
    [told] = await bot.send(sticker_update(), to=USER_CHAT)
    assert "alleen tekst" in told.params["text"]
    await wait_until(lambda: any("anders dan tekst" in t for t in in_topic(bot)))


async def test_the_user_can_stop_a_handoff(start_bot: StartBot) -> None:
    bot = await start_bot()
    await acute_case(bot)
    [stopped] = await bot.send(text_update("/stop"), to=USER_CHAT)
    assert "weer met de bot" in stopped.params["text"]
    await wait_until(lambda: any("gestopt" in t for t in in_topic(bot)))
    assert case_rows(bot)[0][1] == "closed"


async def test_forget_during_a_live_handoff_ends_it_tells_the_topic_and_leaves_nothing(start_bot: StartBot) -> None:
    bot = await start_bot()
    case_id, topic_id = await acute_case(bot)
    await bot.send(group_button_update(f"case:claim:{case_id}", ANNA, topic_id), to=USER_CHAT)
    await bot.send(text_update("ik durf het niet te zeggen"), replies=1, to=GROUP_ID)

    [question] = await bot.send(text_update("/vergeet"), to=USER_CHAT)
    assert buttons(question) == ["forget:yes", "forget:no"] and "hulpverlener" in question.params["text"]
    [done] = await bot.send(button_update("forget:yes"), to=USER_CHAT)
    assert "gewist" in done.params["text"] and "/start" in done.params["text"]
    await wait_until(lambda: any("/vergeet alle gegevens laten wissen" in t for t in in_topic(bot)))
    forgot = [c for c in bot.sent(GROUP_ID) if "/vergeet" in str(c.params["text"])]
    assert [c.params["message_thread_id"] for c in forgot] == [topic_id]
    await wait_until(lambda: bool(bot.stand_in.calls_to("closeForumTopic")))
    assert case_rows(bot) == []
    with sqlite3.connect(bot.database) as connection:
        for table in ("conversations", "cases", "relayed_messages"):
            assert connection.execute(f"select count(*) from {table}").fetchone() == (0,)

    before = len(bot.sent(USER_CHAT))
    await bot.send(topic_update("Ben je er nog?", topic_id, ANNA), replies=0)
    [again] = await bot.send(button_update("forget:yes"), to=USER_CHAT)  # pressed a second time
    assert "niets te wissen" in again.params["text"]
    await bot.settle()
    assert all("Ben je er nog?" not in str(c.params["text"]) for c in bot.sent(USER_CHAT)[before:])


async def test_the_professionals_group_is_not_left_but_a_strangers_group_is(start_bot: StartBot) -> None:
    bot = await start_bot()
    await bot.send(group_text_update("hallo", chat_id=-100555), to=-100555)
    bot.stand_in.push(group_text_update("goedemorgen team", chat_id=GROUP_ID))
    await bot.settle()
    assert [c.params["chat_id"] for c in bot.stand_in.calls_to("leaveChat")] == [-100555]
