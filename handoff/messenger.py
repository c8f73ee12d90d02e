"""What the handoff desk needs from Telegram, and the one way a failed delivery is reported and caught."""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Sequence
from typing import Protocol, TypeVar

from bot.replies import Button

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Failure(enum.Enum):
    """Why Telegram did not take a message, as far as the desk acts on it."""

    OTHER = "other"
    """Network, rate limit, rights: worth trying again later."""
    TOPIC_GONE = "topic_gone"
    """The topic was deleted by staff ("message thread not found"): the case needs a new topic."""
    USER_GONE = "user_gone"
    """The user blocked the bot or deleted their account (403 Forbidden): nothing will reach them again."""


class DeliveryError(Exception):
    """Telegram did not take a message (network, rights, a deleted topic, a user who blocked the bot)."""

    def __init__(self, detail: str = "", failure: Failure = Failure.OTHER) -> None:
        super().__init__(detail)
        self.failure = failure


class Messenger(Protocol):
    """What the desk needs from Telegram; `bot.channels.telegram` implements it with python-telegram-bot."""

    async def create_topic(self, name: str) -> int: ...
    async def rename_topic(self, topic_id: int, name: str) -> None: ...
    async def close_topic(self, topic_id: int) -> None: ...
    async def to_group(self, html_text: str, topic_id: int | None = None, buttons: Sequence[Button] = ()) -> int: ...
    async def to_user(self, chat_id: int, text: str, buttons: Sequence[Button] = ()) -> int: ...
    async def is_member(self, user_id: int) -> bool: ...


async def attempt(call: Awaitable[T], what: str) -> T | None:
    """Await a Telegram call; a failed delivery is logged (`what`, never text or ids) and gives None."""
    try:
        return await call
    except DeliveryError as error:
        logger.error("could not %s (%s)", what, error.failure.value)
        return None
