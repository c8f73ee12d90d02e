"""Run the real bot (python-telegram-bot over HTTP) against the Bot API stand-in, with the real NLU service."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from telegram.ext import Application

from bot import app
from bot.app import Services
from bot.channels.telegram.updates import PerChatProcessor
from standin.bot_api import GROUP_ID, Call, StandIn
from tests.conftest import make_settings


class RunningBot:
    """One bot process: start it, stop it, start it again on the same database (a restart)."""

    def __init__(self, stand_in: StandIn, tmp_path: Path, rasa_url: str, **settings: Any) -> None:
        self.stand_in = stand_in
        self.database = tmp_path / "test.sqlite3"
        self._settings = make_settings(
            tmp_path,
            telegram_token="123456:TEST-TOKEN",
            telegram_api_base_url=stand_in.base_url,
            rasa_url=rasa_url,
            **settings,
        )
        self._application: Application | None = None  # type: ignore[type-arg]
        self.services: Services | None = None

    async def start(self) -> None:
        await app.migrate(self._settings)  # nothing to do at a restart
        application, self.services = await app.build_telegram(self._settings)
        await application.initialize()
        assert application.post_init is not None
        await application.post_init(application)
        assert application.updater is not None
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        await application.start()
        self._application = application

    async def stop(self) -> None:
        application, self._application = self._application, None
        if application is not None:
            assert application.updater is not None
            await application.updater.stop()
            await application.stop()
            if application.post_shutdown is not None:
                await application.post_shutdown(application)
            await application.shutdown()
        if self.services is not None:
            await self.services.aclose()
            self.services = None

    async def send(self, update: dict[str, object], replies: int = 1, to: int | None = None) -> list[Call]:
        """Push an update and return the messages the bot then sent (to chat `to`, if given)."""
        before = self.sent(to)
        self.stand_in.push(update)
        await self.wait_for_messages(len(before) + replies, to)
        return self.sent(to)[len(before) :]

    def handling(self, chat: int) -> bool:
        """Whether an update of this private chat is waiting or running in the bot (its replies may still come)."""
        assert self._application is not None
        processor = self._application.update_processor
        assert isinstance(processor, PerChatProcessor)
        return processor.has_work(("chat", chat))

    def sent(self, to: int | None = None) -> list[Call]:
        return [c for c in self.stand_in.calls_to("sendMessage") if to is None or c.params.get("chat_id") == to]

    async def wait_for_messages(self, count: int, to: int | None = None, within: float = 15.0) -> list[Call]:
        deadline = asyncio.get_running_loop().time() + within
        while len(self.sent(to)) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"expected {count} messages to {to}, got {[c.params for c in self.sent(to)]}")
            await asyncio.sleep(0.02)
        return self.sent(to)

    async def settle(self, seconds: float = 0.5) -> None:
        """Give the bot time to do anything it would (used before asserting that nothing happened)."""
        await asyncio.sleep(seconds)


def buttons(call: Call) -> list[str]:
    markup = call.params.get("reply_markup") or {"inline_keyboard": []}
    return [button["callback_data"] for row in markup["inline_keyboard"] for button in row]


async def wait_until(condition: Callable[[], bool], within: float = 15.0) -> None:
    """Poll until `condition` holds; fail the test when it does not within `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


StartBot = Callable[..., Awaitable[RunningBot]]
"""Starts a bot (again, for a restart) on one stand-in and one database; settings override the group's defaults."""


@contextlib.asynccontextmanager
async def bots_with_a_group(
    tmp_path: Path, rasa_url: str, members: set[int], groups: dict[int, set[int]] | None = None
) -> AsyncIterator[StartBot]:
    """Bots connected to the professionals' group (`members` are in it) on one stand-in; stopped at the end. With
    several groups (a routing file in the settings), `groups` says who is in which, by chat id."""
    stand_in = StandIn(members=members, group_members=groups or {})
    stand_in.start()
    running: list[RunningBot] = []

    async def start(**settings: Any) -> RunningBot:
        values: dict[str, Any] = {
            "handoff_chat_id": GROUP_ID,
            "handoff_hours": "always",
            "handoff_claim_timeout": 300.0,
            "handoff_sweep_seconds": 0.2,
            **settings,
        }
        bot = RunningBot(stand_in, tmp_path, rasa_url, **values)
        await bot.start()
        running.append(bot)
        return bot

    try:
        yield start
    finally:
        for bot in running:
            await bot.stop()
        stand_in.stop()


@contextlib.asynccontextmanager
async def one_bot(tmp_path: Path, rasa_url: str, **settings: Any) -> AsyncIterator[RunningBot]:
    """One bot without a professionals' group (the default deployment) on a stand-in of its own; stopped at the end."""
    stand_in = StandIn()
    stand_in.start()
    running = RunningBot(stand_in, tmp_path, rasa_url, **settings)
    await running.start()
    try:
        yield running
    finally:
        await running.stop()
        stand_in.stop()
