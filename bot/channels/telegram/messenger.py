"""The handoff desk's view of Telegram: the professionals' supergroup with forum topics, and users' chats."""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Sequence

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import BadRequest, Forbidden, TelegramError

from bot.replies import Button
from handoff import display
from handoff.messenger import DeliveryError, Failure

logger = logging.getLogger(__name__)


MEMBER_STATUSES = (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER)

MEMBERSHIP_CACHE_SECONDS = 60.0

TOPIC_NAME_LIMIT = 128
# How the Bot API says a topic is gone (deleted by staff): "Bad Request: message thread not found", and others.
TOPIC_GONE = ("thread not found", "topic_deleted", "topic_id_invalid")


@contextlib.contextmanager
def delivery(forbidden: Failure = Failure.OTHER) -> Iterator[None]:
    """Turn python-telegram-bot's errors into the desk's DeliveryError, saying why where the desk acts on it.

    403 Forbidden from a user's chat means the user blocked the bot (`forbidden=Failure.USER_GONE`); in the group it
    means the bot lost its rights, which staff must fix.
    """
    try:
        yield
    except Forbidden as error:
        raise DeliveryError(type(error).__name__, forbidden) from error
    except BadRequest as error:
        gone = any(marker in str(error).lower() for marker in TOPIC_GONE)
        raise DeliveryError(type(error).__name__, Failure.TOPIC_GONE if gone else Failure.OTHER) from error
    except TelegramError as error:
        raise DeliveryError(type(error).__name__) from error


def keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
    if not buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.action)] for b in buttons])


class TelegramMessenger:
    """The handoff desk's view of Telegram: one professionals' supergroup with forum topics, and users' chats."""

    def __init__(self, bot: Bot, group_id: int) -> None:
        self._bot = bot
        self._group_id = group_id
        self._members: dict[int, tuple[float, bool]] = {}

    async def create_topic(self, name: str) -> int:
        with delivery():
            topic = await self._bot.create_forum_topic(self._group_id, name[:TOPIC_NAME_LIMIT])
        return topic.message_thread_id

    async def rename_topic(self, topic_id: int, name: str) -> None:
        with delivery():
            await self._bot.edit_forum_topic(self._group_id, topic_id, name=name[:TOPIC_NAME_LIMIT])

    async def close_topic(self, topic_id: int) -> None:
        with delivery():
            await self._bot.close_forum_topic(self._group_id, topic_id)

    async def to_group(self, html_text: str, topic_id: int | None = None, buttons: Sequence[Button] = ()) -> int:
        with delivery():
            message = await self._bot.send_message(
                self._group_id,
                html_text,
                parse_mode=ParseMode.HTML,
                message_thread_id=topic_id,
                reply_markup=keyboard(buttons),
            )
        return message.message_id

    async def to_user(self, chat_id: int, text: str, buttons: Sequence[Button] = ()) -> int:
        """Send plain text to a user, split into several messages when it is longer than Telegram allows."""
        pieces = display.split(text)
        with delivery(forbidden=Failure.USER_GONE):
            for piece in pieces[:-1]:
                await self._bot.send_message(chat_id, piece)
            message = await self._bot.send_message(chat_id, pieces[-1], reply_markup=keyboard(buttons))
        return message.message_id

    async def is_member(self, user_id: int) -> bool:
        cached = self._members.get(user_id)
        if cached is not None and time.monotonic() - cached[0] < MEMBERSHIP_CACHE_SECONDS:
            return cached[1]
        with delivery():  # the desk's membership guard counts a failed check as "not a member"
            member = await self._bot.get_chat_member(self._group_id, user_id)
        is_member = member.status in MEMBER_STATUSES or (
            member.status == ChatMemberStatus.RESTRICTED and bool(getattr(member, "is_member", False))
        )
        self._members[user_id] = (time.monotonic(), is_member)
        return is_member
