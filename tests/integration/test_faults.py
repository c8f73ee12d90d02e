"""Faults on the way out: Telegram failing to take a message. The crisis lines are tried again and arrive; when a
handler fails anyway, the user gets the short reply with the numbers instead of silence."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from standin.bot_api import USER, text_update
from tests.integration.harness import RunningBot, one_bot

pytestmark = pytest.mark.integration


@pytest.fixture
async def bot(tmp_path: Path, rasa_url: str) -> AsyncIterator[RunningBot]:
    async with one_bot(tmp_path, rasa_url) as running:
        yield running


async def test_a_passing_telegram_fault_does_not_cost_the_crisis_lines(bot: RunningBot) -> None:
    bot.stand_in.fail("sendMessage", 502, "Bad Gateway")
    first, _ = await bot.send(text_update("ik wil niet meer leven"), replies=2, to=USER["id"])
    assert "113" in first.params["text"]
    assert len(bot.stand_in.failed) == 1  # the first try failed, the second went through


async def test_telegram_asking_to_wait_is_respected_and_the_lines_still_arrive(bot: RunningBot) -> None:
    bot.stand_in.fail("sendMessage", 429, "Too Many Requests: retry after 1", parameters={"retry_after": 1})
    first, _ = await bot.send(text_update("ik wil niet meer leven"), replies=2, to=USER["id"])
    assert "113" in first.params["text"]


async def test_when_a_reply_fails_for_good_the_user_still_hears_the_numbers(bot: RunningBot) -> None:
    bot.stand_in.fail("sendMessage", 400, "Bad Request: can't parse entities")
    [fallback] = await bot.send(text_update("/start"), to=USER["id"])
    assert "112" in fallback.params["text"] and "113" in fallback.params["text"]
