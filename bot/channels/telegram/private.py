"""Users, in private chats: text, commands, edits, buttons and everything without text."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    ContextTypes,
)

from bot.channels.telegram.context import emitter, group_chat_ids, send_replies, sender_of, services_of
from bot.channels.telegram.group import on_case_button
from bot.conversation.actions import FEEDBACK

logger = logging.getLogger(__name__)


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A typed message in a private chat. One that starts with a slash Telegram did not take for a command ("/"
    alone, "/🙂") is handled as an unknown command."""
    message = update.message
    if message is None or message.text is None:
        return
    if message.text.startswith("/"):
        await on_command(update, context)
        return
    pipeline = services_of(context).pipeline
    replies = await pipeline.text(
        sender_of(update, context), message.text, message.message_id, emitter(update, context)
    )
    await send_replies(update, context, replies)


def command_parts(text: str, username: str | None) -> tuple[str, str]:
    """The command's name and the words after it. A command addressed to another bot ("/start@OtherBot") has
    an empty name, so it is answered as an unknown command."""
    head, _, argument = text[1:].partition(" ") if text.startswith("/") else ("", "", text)
    name, _, addressee = head.partition("@")
    if addressee and (username is None or addressee.lower() != username.lower()):
        name = ""
    return name.lower(), argument


async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any slash command in a private chat; unknown ones get a kind list of what works. Words after a command
    still pass the safety net (in the pipeline)."""
    message = update.message
    if message is None or message.text is None:
        return
    name, argument = command_parts(message.text, context.bot.username)
    pipeline = services_of(context).pipeline
    replies = await pipeline.command(
        sender_of(update, context), name, argument, message.message_id, emitter(update, context)
    )
    await send_replies(update, context, replies)


async def on_edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An edited text in a private chat: read by the safety net only (see `Pipeline.edited`)."""
    message = update.edited_message
    if message is None or message.text is None:
        return
    pipeline = services_of(context).pipeline
    await send_replies(
        update, context, await pipeline.edited(sender_of(update, context), message.text, emitter(update, context))
    )


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A press on one of the bot's buttons, in a private chat or in the professionals' group."""
    query = update.callback_query
    if query is None:
        return
    chat = update.effective_chat
    if chat is None:  # a button on an inline message: the bot sends none, so there is nothing to do
        await query.answer()
        return
    if chat.id in group_chat_ids(context) and chat.type != ChatType.PRIVATE:
        await on_case_button(update, context)
        return
    if chat.type != ChatType.PRIVATE:
        await query.answer()
        return
    if (query.data or "").startswith(f"{FEEDBACK}:"):
        await on_feedback(update, context)
        return
    await query.answer()
    await send_replies(
        update, context, await services_of(context).pipeline.action(sender_of(update, context), query.data or "")
    )


async def on_feedback(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """👍/👎 under an answer: the thanks as a short notice, and the two buttons taken off that message (so a second
    tap is not possible; one that still arrives is not counted twice by the pipeline)."""
    query = update.callback_query
    assert query is not None
    replies = await services_of(context).pipeline.action(sender_of(update, context), query.data or "")
    thanks = next((reply.text for reply in replies if reply.in_place), None)
    await query.answer(thanks)
    message = query.message
    if isinstance(message, Message) and message.reply_markup is not None:
        rows = [
            row
            for row in message.reply_markup.inline_keyboard
            if not any(str(button.callback_data or "").startswith(f"{FEEDBACK}:") for button in row)
        ]
        try:
            await query.edit_message_reply_markup(InlineKeyboardMarkup(rows) if rows else None)
        except TelegramError:
            logger.info("could not take the feedback buttons off a message")
    await send_replies(update, context, [reply for reply in replies if not reply.in_place])


async def on_other(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A sticker, photo, voice message or anything else without text."""
    message_id = update.message.message_id if update.message else None
    await send_replies(
        update, context, await services_of(context).pipeline.non_text(sender_of(update, context), message_id)
    )
