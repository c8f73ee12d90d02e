"""Test doubles shared by the unit tests: a keyword script for the NLU service's answers (fed through the real
HTTP client by `tests.conftest.scripted_nlu`), and one stand-in for Telegram as the handoff desk sees it (the
Messenger), with switches for what can go wrong."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Sequence

from bot.replies import Button
from handoff import display
from handoff.messenger import DeliveryError, Failure

# Keyword -> the model's ranking. Enough to drive a conversation through the pipeline; not a test of the model.
KEYWORDS: tuple[tuple[tuple[str, ...], list[tuple[str, float]]], ...] = (
    (("regels",), [("visit_rules", 0.9)]),
    (("reiskosten", "travel"), [("visit_costs", 0.9)]),
    (("mens", "person"), [("talk_to_human", 0.9)]),
    (("bezoek", "visit"), [("visit", 0.93)]),
    (("vertel", "tell"), [("explain_to_child", 0.9)]),
    (("schuld",), [("explain_my_fault", 0.9)]),
    (("geld",), [("practical_money", 0.4), ("practical", 0.2), ("visit_costs", 0.1)]),
    (("slaap",), [("feelings_overwhelmed", 0.8)]),
    (("hoi",), [("greet", 0.95)]),
    (("vaag",), [("contact", 0.31), ("visit", 0.3), ("crisis_suicidal", 0.2), ("stigma", 0.1)]),
    (("verwijs", "refer"), [("prof_refer", 0.9)]),
)
UNKNOWN = [("out_of_scope", 0.3)]
"""Anything else: the model is unsure."""


def by_keyword(text: str) -> list[tuple[str, float]]:
    """The ranking the scripted model gives `text`: the first keyword found decides."""
    lowered = text.lower()
    for words, ranking in KEYWORDS:
        if any(word in lowered for word in words):
            return ranking
    return UNKNOWN


class RecordingMessenger:
    """Records what the group and users are sent, and refuses what Telegram would refuse (a message over the limit).

    Switches: `members` (None: everyone is a member), `deleted_topics` (staff deleted them: "message thread not
    found"), `blocked_chats` (the user blocked the bot: 403), `failing` (Telegram unreachable), and `gate`: when set
    to an unset event, every send waits for it (`sending` is set once one is waiting). Each call yields to the event
    loop, so concurrent updates interleave as they do in the bot.
    """

    def __init__(self, members: set[int] | None = None, first_topic: int = 500) -> None:
        self.members = members
        self.group: list[tuple[str, int | None]] = []
        self.buttons: list[list[str]] = []
        self.users: list[tuple[int, str]] = []
        self.topics: list[str] = []
        self.closed_topics: list[int] = []
        self.renamed_topics: list[tuple[int, str]] = []
        self.deleted_topics: set[int] = set()
        self.blocked_chats: set[int] = set()
        self.failing = False
        self.gate: asyncio.Event | None = None
        self.sending = asyncio.Event()
        self._topic_ids = itertools.count(first_topic + 1)

    async def _network(self) -> None:
        await asyncio.sleep(0)
        if self.gate is not None:
            self.sending.set()
            await self.gate.wait()
        if self.failing:
            raise DeliveryError("NetworkError")

    def _topic_exists(self, topic_id: int | None) -> None:
        if topic_id in self.deleted_topics:
            raise DeliveryError("BadRequest: message thread not found", Failure.TOPIC_GONE)

    async def create_topic(self, name: str) -> int:
        await self._network()
        self.topics.append(name)
        return next(self._topic_ids)

    async def rename_topic(self, topic_id: int, name: str) -> None:
        await self._network()
        self._topic_exists(topic_id)
        self.renamed_topics.append((topic_id, name))

    async def close_topic(self, topic_id: int) -> None:
        await self._network()
        self._topic_exists(topic_id)
        self.closed_topics.append(topic_id)

    async def to_group(self, html_text: str, topic_id: int | None = None, buttons: Sequence[Button] = ()) -> int:
        await self._network()
        self._topic_exists(topic_id)
        if display.visible_length(html_text) > display.TELEGRAM_TEXT_LIMIT:
            raise DeliveryError("BadRequest: message is too long")
        self.group.append((html_text, topic_id))
        self.buttons.append([button.action for button in buttons])
        return len(self.group)

    async def to_user(self, chat_id: int, text: str, buttons: Sequence[Button] = ()) -> int:
        await self._network()
        if chat_id in self.blocked_chats:
            raise DeliveryError("Forbidden: bot was blocked by the user", Failure.USER_GONE)
        self.users.append((chat_id, text))
        return len(self.users)

    async def is_member(self, user_id: int) -> bool:
        await asyncio.sleep(0)
        return self.members is None or user_id in self.members

    def in_topic(self, topic_id: int) -> list[str]:
        return [text for text, topic in self.group if topic == topic_id]

    def to_chat(self, chat_id: int) -> list[str]:
        return [text for chat, text in self.users if chat == chat_id]
