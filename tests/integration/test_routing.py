"""Several professionals' groups, end to end: the real bot, the Bot API stand-in, the real NLU service and database.
A young person's case goes to the youth team's group; a professional of the other group cannot claim it."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from standin.bot_api import (
    GROUP_ID,
    USER,
    button_update,
    group_button_update,
    professional,
    professionals_chat,
    text_update,
    topic_update,
)
from tests.integration.harness import RunningBot, StartBot, bots_with_a_group, buttons, wait_until

pytestmark = pytest.mark.integration

YOUTH_GROUP = -1002222222222
YOUTH_CHAT = professionals_chat(YOUTH_GROUP, "Team jongeren")
NATIONAL_CHAT = professionals_chat(GROUP_ID, "Team landelijk")
ANNA = professional(1001, "Anna")  # youth team
JOOST = professional(3003, "Joost")  # national team
USER_CHAT = USER["id"]
ROUTING = """
groups:
  landelijk: {chat_id_env: TEST_GROUP_LANDELIJK, hours: always}
  jeugd: {chat_id_env: TEST_GROUP_JEUGD, hours: always, fallback: landelijk}
rules:
  - when: {audience: youth}
    group: jeugd
default: landelijk
"""


@pytest.fixture
async def start_bot(tmp_path: Path, rasa_url: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[StartBot]:
    monkeypatch.setenv("TEST_GROUP_LANDELIJK", str(GROUP_ID))
    monkeypatch.setenv("TEST_GROUP_JEUGD", str(YOUTH_GROUP))
    groups = {GROUP_ID: {JOOST["id"]}, YOUTH_GROUP: {ANNA["id"]}}
    async with bots_with_a_group(tmp_path, rasa_url, set(), groups) as start:
        yield start


def case_rows(bot: RunningBot) -> list[tuple[Any, ...]]:
    with sqlite3.connect(bot.database) as connection:
        query = "select id, status, topic_id, handoff_group from cases order by id"
        return connection.execute(query).fetchall()


async def test_a_youth_case_goes_to_the_youth_group_and_the_other_group_cannot_claim_it(
    start_bot: StartBot, tmp_path: Path
) -> None:
    routing = tmp_path / "routing.yml"
    routing.write_text(ROUTING, encoding="utf-8")
    bot = await start_bot(handoff_routing=routing)
    await bot.send(text_update("/start"))
    await bot.send(button_update("aud:youth"))
    [offer] = await bot.send(text_update("ik wil graag met een hulpverlener praten"), to=USER_CHAT)
    assert buttons(offer) == ["handoff:yes", "handoff:no"]
    await bot.send(button_update("handoff:yes"), replies=2, to=USER_CHAT)  # waiting; share your messages?
    await wait_until(lambda: bool(case_rows(bot)) and case_rows(bot)[0][2] is not None)
    [(case_id, status, topic_id, group)] = case_rows(bot)
    assert (status, group) == ("requested", "jeugd")
    [topic] = bot.stand_in.calls_to("createForumTopic")
    assert topic.params["chat_id"] == YOUTH_GROUP
    await wait_until(lambda: len(bot.sent(YOUTH_GROUP)) >= 2)  # the card and the alert
    assert bot.sent(GROUP_ID) == []

    # Joost, in the national group, sends the claim from his own group: nothing changes and nobody is told.
    before = len(bot.sent(USER_CHAT))
    bot.stand_in.push(group_button_update(f"case:claim:{case_id}", JOOST, topic_id, NATIONAL_CHAT))
    bot.stand_in.push(topic_update("/claim", topic_id, JOOST, chat=NATIONAL_CHAT))
    await bot.settle()
    assert case_rows(bot)[0][1] == "requested"
    assert len(bot.sent(USER_CHAT)) == before and bot.sent(GROUP_ID) == []
    # Nor can he from the youth group, which he is not in.
    bot.stand_in.push(group_button_update(f"case:claim:{case_id}", JOOST, topic_id, YOUTH_CHAT))
    await bot.settle()
    assert case_rows(bot)[0][1] == "requested"

    [joined] = await bot.send(group_button_update(f"case:claim:{case_id}", ANNA, topic_id, YOUTH_CHAT), to=USER_CHAT)
    assert "doet nu mee" in joined.params["text"]
    assert case_rows(bot)[0][1] == "claimed"
    [relayed] = await bot.send(text_update("fijn dat je er bent"), to=YOUTH_GROUP)
    assert relayed.params["message_thread_id"] == topic_id
