"""Webhook mode: a real uvicorn server on loopback, the real application, the Bot API stand-in, the real NLU."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot import app
from bot.channels.telegram.webhook import SECRET_HEADER, WebhookBot
from standin.bot_api import USER, StandIn, text_update
from tests.conftest import make_settings
from tests.integration.harness import wait_until

pytestmark = pytest.mark.integration

Running = tuple[WebhookBot, httpx.AsyncClient]

SECRET = "het-echte-geheim_42"


async def webhook_bot(tmp_path: Path, stand_in: StandIn, rasa_url: str) -> WebhookBot:
    settings = make_settings(
        tmp_path,
        telegram_token="123456:TEST-TOKEN",
        telegram_api_base_url=stand_in.base_url,
        rasa_url=rasa_url,
        webhook_listen="127.0.0.1:0",
        webhook_secret=SECRET,
        webhook_url="https://bot.example.org/telegram",
    )
    await app.migrate(settings)
    bot = WebhookBot(settings)
    await bot.start()
    return bot


@pytest.fixture
async def running(tmp_path: Path, stand_in: StandIn, rasa_url: str) -> AsyncIterator[Running]:
    bot = await webhook_bot(tmp_path, stand_in, rasa_url)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{bot.port}") as client:
        yield bot, client
    await bot.stop()


def update(text: str, number: int = 1) -> dict[str, object]:
    return {**text_update(text), "update_id": number}


async def test_the_webhook_is_registered_with_the_secret(running: Running, stand_in: StandIn) -> None:
    [registration] = stand_in.calls_to("setWebhook")
    assert registration.params["url"] == "https://bot.example.org/telegram"
    assert registration.params["secret_token"] == SECRET
    assert registration.params["drop_pending_updates"] in (False, "False", "false")
    assert "callback_query" in registration.params["allowed_updates"]


@pytest.mark.parametrize("headers", [{}, {SECRET_HEADER: "geraden"}, {SECRET_HEADER: SECRET[:-1]}])
async def test_a_request_without_the_right_secret_is_refused_and_ignored(
    running: Running, stand_in: StandIn, headers: dict[str, str]
) -> None:
    _, client = running
    response = await client.post("/telegram", json=update("/start"), headers=headers)
    assert response.status_code == 403
    await client.post("/telegram", json=update("ik wil niet meer leven", 2), headers=headers)
    metrics = (await client.get("/metrics")).text
    assert "bot_updates_received_total 0.0" in metrics
    assert stand_in.calls_to("sendMessage") == []


async def test_an_update_with_the_right_secret_is_answered(running: Running, stand_in: StandIn) -> None:
    _, client = running
    response = await client.post("/telegram", json=update("/start"), headers={SECRET_HEADER: SECRET})
    assert response.status_code == 200
    await wait_until(lambda: len(stand_in.calls_to("sendMessage")) >= 1)
    [welcome] = stand_in.calls_to("sendMessage")
    assert welcome.params["chat_id"] == USER["id"]
    assert "anoniem" in welcome.params["text"]


async def test_health_readiness_and_metrics(running: Running, stand_in: StandIn) -> None:
    _, client = running
    assert (await client.get("/healthz")).status_code == 200
    ready = await client.get("/readyz")
    assert (ready.status_code, ready.json()) == (200, {"database": True, "nlu": True})
    for number, text in enumerate(["/start", "ik wil niet meer leven"], start=1):
        await client.post("/telegram", json=update(text, number), headers={SECRET_HEADER: SECRET})
    await wait_until(lambda: len(stand_in.calls_to("sendMessage")) >= 2)
    metrics = (await client.get("/metrics")).text
    assert "bot_updates_received_total 2.0" in metrics
    assert re.search(r"^bot_replies_sent_total [1-9]", metrics, re.MULTILINE)
    assert re.search(r"^bot_update_handled_seconds_count [1-2]\.0$", metrics, re.MULTILINE)
    assert "bot_nlu_breaker_state 0.0" in metrics
    # Counts and times only: no ids, names or words of what users wrote.
    for secret_thing in (str(USER["id"]), str(USER["first_name"]), str(USER["username"]), "leven", SECRET):
        assert secret_thing not in metrics


async def test_not_ready_while_the_nlu_service_does_not_answer(tmp_path: Path, stand_in: StandIn) -> None:
    bot = await webhook_bot(tmp_path, stand_in, "http://127.0.0.1:9")  # nothing listens there
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{bot.port}") as client:
            ready = await client.get("/readyz")
            assert (ready.status_code, ready.json()) == (503, {"database": True, "nlu": False})
            assert (await client.get("/healthz")).status_code == 200
    finally:
        await bot.stop()
