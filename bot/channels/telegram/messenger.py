"""The handoff desk's view of Telegram: the professionals' supergroup with forum topics, and users' chats."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ChatMemberStatus, ParseMode
from telegram.error import TelegramError

from bot.replies import Button
from handoff import display
from handoff.desk import DeliveryError

logger = logging.getLogger(__name__)


MEMBER_STATUSES = (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER)

MEMBERSHIP_CACHE_SECONDS = 60.0

TOPIC_NAME_LIMIT = 128
# A case button's data: "case:claim:<id>" or "case:close:<id>", the id a positive 64-bit integer.


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
        try:
            topic = await self._bot.create_forum_topic(self._group_id, name[:TOPIC_NAME_LIMIT])
        except TelegramError as error:
            raise DeliveryError(type(error).__name__) from error
        return topic.message_thread_id

    async def rename_topic(self, topic_id: int, name: str) -> None:
        try:
            await self._bot.edit_forum_topic(self._group_id, topic_id, name=name[:TOPIC_NAME_LIMIT])
        except TelegramError as error:
            raise DeliveryError(type(error).__name__) from error

    async def close_topic(self, topic_id: int) -> None:
        try:
            await self._bot.close_forum_topic(self._group_id, topic_id)
        except TelegramError as error:
            raise DeliveryError(type(error).__name__) from error

    async def to_group(self, html_text: str, topic_id: int | None = None, buttons: Sequence[Button] = ()) -> int:
        try:
            message = await self._bot.send_message(
                self._group_id,
                html_text,
                parse_mode=ParseMode.HTML,
                message_thread_id=topic_id,
                reply_markup=keyboard(buttons),
            )
        except TelegramError as error:
            raise DeliveryError(type(error).__name__) from error
        return message.message_id

    async def to_user(self, chat_id: int, text: str, buttons: Sequence[Button] = ()) -> int:
        """Send plain text to a user, split into several messages when it is longer than Telegram allows."""
        pieces = display.split(text)
        try:
            for piece in pieces[:-1]:
                await self._bot.send_message(chat_id, piece)
            message = await self._bot.send_message(chat_id, pieces[-1], reply_markup=keyboard(buttons))
        except TelegramError as error:
            raise DeliveryError(type(error).__name__) from error
        return message.message_id

    async def is_member(self, user_id: int) -> bool:
        cached = self._members.get(user_id)
        if cached is not None and time.monotonic() - cached[0] < MEMBERSHIP_CACHE_SECONDS:
            return cached[1]
        try:
            member = await self._bot.get_chat_member(self._group_id, user_id)
        except TelegramError:
            return False
        is_member = member.status in MEMBER_STATUSES or (
            member.status == ChatMemberStatus.RESTRICTED and bool(getattr(member, "is_member", False))
        )
        self._members[user_id] = (time.monotonic(), is_member)
        return is_member
