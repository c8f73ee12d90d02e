"""Test doubles shared by the unit tests: a messenger that records what the desk sends to Telegram."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from bot.replies import Button


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
