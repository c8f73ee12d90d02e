"""Where the bot does not serve: other groups, channels, inline queries. It says so once, or nothing, and leaves."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import (
    ContextTypes,
)

from bot.channels.telegram.context import group_chat_ids

logger = logging.getLogger(__name__)


async def on_inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Inline mode ("@bot question" in another chat) is not offered: it would put a user's question in a chat
    others read. The query is answered with nothing, and its text is not looked at."""
    if update.inline_query is not None:
        await update.inline_query.answer([], cache_time=0, is_personal=True)


async def on_stranger_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The bot serves people one to one: in any group but the professionals' it says so once and leaves."""
    chat = update.effective_chat
    if chat is None:
        return
    try:
        await context.bot.send_message(
            chat.id,
            "Ik werk alleen in een privégesprek. Stuur me een persoonlijk bericht. / I only work in a private chat.",
        )
    except TelegramError:
        logger.info("could not say goodbye in a group chat (no right to write)")
    await _leave(context, chat.id, "group chat")


async def on_channel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A post in a channel the bot was made admin of: the bot serves no channel, so it leaves without a word
    (a line in a channel would reach every subscriber). Posts are never read."""
    chat = update.effective_chat
    if chat is not None and chat.id not in group_chat_ids(context):
        await _leave(context, chat.id, "channel")


async def on_added_to_channel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The bot was added to a channel: leave at once, before any post arrives."""
    change = update.my_chat_member
    if change is None or change.chat.type != ChatType.CHANNEL:
        return
    if change.new_chat_member.status in (ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER):
        await on_channel(update, context)


async def _leave(context: ContextTypes.DEFAULT_TYPE, chat_id: int, kind: str) -> None:
    try:
        await context.bot.leave_chat(chat_id)
    except TelegramError:
        logger.info("could not leave a %s (already gone?)", kind)
        return
    logger.info("left a %s", kind)
