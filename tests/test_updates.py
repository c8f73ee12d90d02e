"""Updates run concurrently across chats and in order within a chat (a real Application, the Bot API stand-in)."""

from __future__ import annotations

import asyncio
import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import Application, ContextTypes, TypeHandler

from bot.channels.telegram.updates import PerChatProcessor
from bot.understanding.understander import Understander
from safety.risk import Assessment, SafetyNet
from standin.bot_api import StandIn, text_update

UPDATE_IDS = itertools.count(1)
WITHIN = 10.0  # a liveness bound: far beyond what any step needs; reaching it means the bot is stuck


def user(number: int) -> dict[str, Any]:
    return {"id": 5000 + number, "is_bot": False, "first_name": "U", "language_code": "nl"}


@dataclass
class Recorder:
    """A handler that notes when each update starts and ends, and holds a chat's updates until it is let go."""

    started: list[tuple[int, str]] = field(default_factory=list)
    finished: list[tuple[int, str]] = field(default_factory=list)
    gates: dict[int, asyncio.Event] = field(default_factory=lambda: defaultdict(asyncio.Event))
    running: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    most_at_once_per_chat: int = 0
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    def hold(self, chat: int) -> None:
        self.gates[chat].clear()

    def release(self, chat: int) -> None:
        self.gates[chat].set()

    async def handle(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_chat is not None and update.effective_message is not None
        chat, text = update.effective_chat.id, str(update.effective_message.text)
        self.running[chat] += 1
        self.most_at_once_per_chat = max(self.most_at_once_per_chat, self.running[chat])
        await self._note(self.started, chat, text)
        if chat in self.gates:
            await self.gates[chat].wait()
        await asyncio.sleep(0)  # let another update of this chat start, if the processor allowed it
        self.running[chat] -= 1
        await self._note(self.finished, chat, text)

    async def _note(self, where: list[tuple[int, str]], chat: int, text: str) -> None:
        async with self.changed:
            where.append((chat, text))
            self.changed.notify_all()

    async def until(self, condition: Any) -> None:
        async with self.changed:
            await asyncio.wait_for(self.changed.wait_for(condition), WITHIN)


@dataclass
class Bot:
    application: Application  # type: ignore[type-arg]
    processor: PerChatProcessor
    recorder: Recorder

    async def feed(self, number: int, text: str) -> None:
        raw = {**text_update(text, user(number)), "update_id": next(UPDATE_IDS)}
        update = Update.de_json(raw, self.application.bot)
        await self.application.update_queue.put(update)


async def running_bot(stand_in: StandIn, processor: PerChatProcessor) -> Bot:
    application = (
        Application.builder()
        .token("123456:TEST")
        .base_url(f"{stand_in.base_url}/bot")
        .updater(None)
        .concurrent_updates(processor)
        .build()
    )
    recorder = Recorder()
    application.add_handler(TypeHandler(Update, recorder.handle))
    await application.initialize()
    await application.start()
    return Bot(application, processor, recorder)


async def stop(bot: Bot) -> None:
    for gate in bot.recorder.gates.values():
        gate.set()
    await bot.application.stop()
    await bot.application.shutdown()


async def test_one_chats_messages_are_handled_in_the_order_they_came(stand_in: StandIn) -> None:
    bot = await running_bot(stand_in, PerChatProcessor(max_chats=8))
    try:
        bot.recorder.hold(5001)
        for index in range(6):
            await bot.feed(1, f"bericht {index}")
        await bot.recorder.until(lambda: len(bot.recorder.started) == 1)
        bot.recorder.release(5001)
        await bot.recorder.until(lambda: len(bot.recorder.finished) == 6)
        assert [text for _, text in bot.recorder.finished] == [f"bericht {index}" for index in range(6)]
        assert bot.recorder.most_at_once_per_chat == 1
    finally:
        await stop(bot)


async def test_two_chats_are_handled_at_the_same_time(stand_in: StandIn) -> None:
    bot = await running_bot(stand_in, PerChatProcessor(max_chats=8))
    try:
        bot.recorder.hold(5001)
        bot.recorder.hold(5002)
        await bot.feed(1, "eerste")
        await bot.feed(2, "tweede")
        # Both are inside the handler at once: neither waits for the other to finish.
        await bot.recorder.until(lambda: {chat for chat, _ in bot.recorder.started} == {5001, 5002})
        assert bot.recorder.finished == []
    finally:
        await stop(bot)


async def test_a_chat_with_a_backlog_does_not_hold_up_another_chat(stand_in: StandIn) -> None:
    # Two slots in all; one chat has sent ten messages that are all stuck. A second chat is still answered.
    bot = await running_bot(stand_in, PerChatProcessor(max_chats=2))
    try:
        bot.recorder.hold(5001)
        for index in range(10):
            await bot.feed(1, f"spam {index}")
        await bot.feed(2, "hallo")
        await bot.recorder.until(lambda: (5002, "hallo") in bot.recorder.finished)
        assert [text for chat, text in bot.recorder.started if chat == 5001] == ["spam 0"]
    finally:
        await stop(bot)


async def test_a_full_processor_stops_taking_updates_until_there_is_room(stand_in: StandIn) -> None:
    bot = await running_bot(stand_in, PerChatProcessor(max_chats=4, max_waiting=3))
    try:
        bot.recorder.hold(5001)
        for index in range(6):
            await bot.feed(1, f"bericht {index}")
        await bot.recorder.until(lambda: len(bot.recorder.started) == 1)
        await asyncio.sleep(0.05)  # give the fetcher every chance to take more than it may
        assert bot.processor.pending == 3
        assert bot.application.update_queue.qsize() >= 2  # the rest waits where Telegram's updates arrive
        bot.recorder.release(5001)
        await bot.recorder.until(lambda: len(bot.recorder.finished) == 6)
        assert [text for _, text in bot.recorder.finished] == [f"bericht {index}" for index in range(6)]
    finally:
        await stop(bot)


async def test_a_chat_with_nothing_left_is_forgotten(stand_in: StandIn) -> None:
    bot = await running_bot(stand_in, PerChatProcessor(max_chats=4))
    try:
        for number in range(1, 21):
            await bot.feed(number, "hallo")
        await bot.recorder.until(lambda: len(bot.recorder.finished) == 20)
        await bot.application.update_queue.join()
        assert await bot.processor.drain()
        assert bot.processor.active_chats == 0
        assert bot.processor.pending == 0
    finally:
        await stop(bot)


async def test_an_urgent_message_does_not_wait_for_a_free_slot(stand_in: StandIn) -> None:
    processor = PerChatProcessor(max_chats=1, urgent=lambda update: "NOOD" in str(getattr(update, "message", "")))
    bot = await running_bot(stand_in, processor)
    try:
        bot.recorder.hold(5001)
        await bot.feed(1, "lange vraag")
        await bot.recorder.until(lambda: len(bot.recorder.started) == 1)
        await bot.feed(2, "gewone vraag")
        await bot.feed(3, "NOOD ik wil niet meer")
        await bot.recorder.until(lambda: (5003, "NOOD ik wil niet meer") in bot.recorder.finished)
        assert (5002, "gewone vraag") not in bot.recorder.started  # the ordinary one still waits for the slot
        bot.recorder.release(5001)
        await bot.recorder.until(lambda: (5002, "gewone vraag") in bot.recorder.finished)
    finally:
        await stop(bot)


def test_the_queue_check_reads_the_rules_only_and_the_pipeline_the_whole_net(safety_net: SafetyNet) -> None:
    """Letting a message jump the queue needs no embedding (the learned layer alone never raises the full alarm);
    the pipeline's verdict has the learned layer, computed off the event loop."""
    reads: list[tuple[str, bool]] = []

    class Counting(SafetyNet):
        def assess(self, text: str, learned: bool = True) -> Assessment:
            reads.append((text, learned))
            return safety_net.assess(text, learned)

    counting = Counting.__new__(Counting)
    understander = Understander(counting, None, 0.45, 0.5)
    assert understander.is_acute("ik wil niet meer leven")
    assert not understander.is_acute("hoe laat is het bezoek")
    verdict = asyncio.run(understander.assess_off_loop("ik wil niet meer leven"))
    assert verdict == safety_net.assess("ik wil niet meer leven")
    assert reads == [
        ("ik wil niet meer leven", False),
        ("hoe laat is het bezoek", False),
        ("ik wil niet meer leven", True),
    ]
