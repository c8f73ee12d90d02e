"""Test doubles shared by the unit tests: a keyword script for the NLU service's answers (fed through the real
HTTP client by `tests.conftest.scripted_nlu`), and a messenger that records what the desk sends to Telegram."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from bot.replies import Button

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
    """Telegram as the desk sees it, recording what the professionals' group and the users are sent."""

    def __init__(self, members: bool = True) -> None:
        self.group: list[tuple[str, int | None]] = []
        self.users: list[tuple[int, str]] = []
        self.closed_topics: list[int] = []
        self.members = members
        self._topics = itertools.count(900)

    async def create_topic(self, name: str) -> int:
        return next(self._topics)

    async def rename_topic(self, topic_id: int, name: str) -> None:
        return None

    async def close_topic(self, topic_id: int) -> None:
        self.closed_topics.append(topic_id)

    async def to_group(self, html_text: str, topic_id: int | None = None, buttons: Sequence[Button] = ()) -> int:
        self.group.append((html_text, topic_id))
        return len(self.group)

    async def to_user(self, chat_id: int, text: str, buttons: Sequence[Button] = ()) -> int:
        self.users.append((chat_id, text))
        return len(self.users)

    async def is_member(self, user_id: int) -> bool:
        return self.members
