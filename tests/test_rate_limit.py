"""Crisis lines skip the queue of ordinary replies; Telegram's limits and its 'retry after' still hold."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import Update
from telegram.ext import Application, CallbackContext, ExtBot

from bot.channels.telegram.context import send_replies
from bot.channels.telegram.rate_limit import URGENT, PriorityBucket, PriorityRateLimiter
from bot.replies import Reply
from standin.bot_api import USER, StandIn, text_update
from tests.integration.harness import wait_until


class RecordingLimiter(PriorityRateLimiter):
    """The real limiter, noting which lane each call asked for."""

    def __init__(self, **limits: Any) -> None:
        super().__init__(**limits)
        self.lanes: list[str | None] = []

    async def process_request(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs["endpoint"] == "sendMessage":
            self.lanes.append(kwargs["rate_limit_args"])
        return await super().process_request(*args, **kwargs)


async def application(stand_in: StandIn, limiter: PriorityRateLimiter) -> Application:  # type: ignore[type-arg]
    app = Application.builder().token("123456:TEST").base_url(f"{stand_in.base_url}/bot").updater(None)
    built = app.rate_limiter(limiter).build()
    await built.initialize()
    return built


class HandClock:
    """The limiter's time, moved by the test: no place frees up while a slow machine runs the test."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> HandClock:
    return HandClock()


@pytest.fixture
async def slow_bot(stand_in: StandIn, clock: HandClock) -> AsyncIterator[tuple[ExtBot[str], PriorityRateLimiter]]:
    # Five messages a second, a burst of five; the limiter's clock stands still until the test moves it.
    limiter = PriorityRateLimiter(overall_max_rate=5, overall_time_period=1.0, clock=clock)
    app = await application(stand_in, limiter)
    yield app.bot, limiter
    await app.shutdown()


async def test_an_urgent_waiter_is_served_before_ordinary_ones_that_came_earlier() -> None:
    bucket = PriorityBucket(capacity=1, per_second=50)
    order: list[str] = []

    async def take(name: str, urgent: bool) -> None:
        await bucket.acquire(urgent)
        order.append(name)

    ordinary = [asyncio.create_task(take(f"gewoon {index}", False)) for index in range(6)]
    await asyncio.sleep(0)  # all six have asked: one had the free place, five wait
    assert bucket.waiting(urgent=False) == 5
    await take("nood", True)
    await asyncio.gather(*ordinary)
    assert order == ["gewoon 0", "nood", "gewoon 1", "gewoon 2", "gewoon 3", "gewoon 4", "gewoon 5"]


async def test_crisis_lines_go_out_before_the_queued_answers(
    stand_in: StandIn, slow_bot: tuple[ExtBot[str], PriorityRateLimiter], clock: HandClock
) -> None:
    bot, limiter = slow_bot
    ordinary = [asyncio.create_task(bot.send_message(1000 + index, f"antwoord {index}")) for index in range(15)]
    await wait_until(lambda: limiter.waiting == 10)  # five went out at once, ten wait for their turn
    await wait_until(lambda: len(stand_in.calls_to("sendMessage")) == 5)
    crisis = asyncio.create_task(bot.send_message(2000, "Bel 113 of 0800-0113", rate_limit_args=URGENT))
    await wait_until(lambda: limiter.waiting == 11)
    clock.now += 0.2  # one place frees up: it goes to the crisis line, not to the first answer in the queue
    await asyncio.wait_for(crisis, timeout=10)
    sent = [call.params["text"] for call in stand_in.calls_to("sendMessage")]
    assert sent[5:] == ["Bel 113 of 0800-0113"]
    assert limiter.waiting == 10
    clock.now += 1.0  # a second at a time the queue drains, five answers a second
    await wait_until(lambda: limiter.waiting == 5)
    clock.now += 1.0
    await asyncio.wait_for(asyncio.gather(*ordinary), timeout=10)
    sent = [call.params["text"] for call in stand_in.calls_to("sendMessage")]
    assert sent.index("Bel 113 of 0800-0113") < sent.index("antwoord 5")
    assert sorted(sent) == sorted([f"antwoord {index}" for index in range(15)] + ["Bel 113 of 0800-0113"])


async def test_a_message_telegram_asks_to_retry_is_sent_once_it_may(
    stand_in: StandIn, slow_bot: tuple[ExtBot[str], PriorityRateLimiter]
) -> None:
    bot, limiter = slow_bot
    stand_in.retry_after.append(1)
    await bot.send_message(1000, "Bel 113", rate_limit_args=URGENT)
    assert [call.params["text"] for call in stand_in.calls_to("sendMessage")] == ["Bel 113"]
    assert len(stand_in.refused) == 1
    assert limiter.retries == 1


async def test_send_replies_puts_urgent_replies_in_the_fast_lane(stand_in: StandIn) -> None:
    limiter = RecordingLimiter()
    app = await application(stand_in, limiter)
    try:
        update = Update.de_json({**text_update("hallo"), "update_id": 1}, app.bot)
        context = CallbackContext.from_update(update, app)
        replies = [Reply("Bel 113 als het niet veilig is.", urgent=True), Reply("Hoe gaat het met je?")]
        await send_replies(update, context, replies)
        assert limiter.lanes == [URGENT, None]
        assert [call.params["chat_id"] for call in stand_in.calls_to("sendMessage")] == [USER["id"], USER["id"]]
    finally:
        await app.shutdown()
