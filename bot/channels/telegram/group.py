"""Professionals, in their group: case buttons, commands, and messages in a case's topic."""

from __future__ import annotations

import logging
import re

from telegram import Update
from telegram.ext import (
    ContextTypes,
)

from bot.channels.telegram.context import professionals_of, services_of

logger = logging.getLogger(__name__)


CASE_BUTTON = re.compile(r"case:(claim|close):([1-9][0-9]{0,17})", re.ASCII)
# The update kinds the bot asks Telegram for; everything else is never delivered (and ignored if it is).


async def on_case_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query, chat = update.callback_query, update.effective_chat
    desk = professionals_of(context, chat.id) if chat is not None else None
    if query is None or desk is None:
        return
    button = CASE_BUTTON.fullmatch(query.data or "")
    if button is None:
        await query.answer()
        logger.info("ignored an unknown button in the professionals' group")
        return
    action, case_id = button.groups()
    handler = desk.claim if action == "claim" else desk.close
    feedback = await handler(int(case_id), query.from_user.id)
    await query.answer(feedback or None, show_alert=bool(feedback) and action == "claim")


async def on_group_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A message in the professionals' group: commands, or a professional writing in a case's topic."""
    message, user = update.message, update.effective_user
    desk = professionals_of(context, message.chat_id) if message is not None else None
    if message is None or user is None or desk is None or user.is_bot:
        return
    topic_id = message.message_thread_id if message.is_topic_message else None
    text = message.text
    if text is not None and text.startswith("/"):
        command, _, argument = text[1:].partition(" ")
        command = command.split("@")[0].lower()
        feedback: str | None = None
        if command == "naam":
            feedback = await desk.set_name(user.id, argument)
        elif command in ("casussen", "cases"):
            feedback = await desk.waiting_list(user.id)
        elif command in ("inzichten", "insights"):
            feedback = await desk.insights(user.id, services_of(context).settings.insights_min_cell)
        elif command in ("claim", "close") and topic_id is not None:
            async with services_of(context).database.sessions() as session:
                case = await desk.case_for_topic(session, topic_id)
            if case is not None:
                handler = desk.claim if command == "claim" else desk.close
                feedback = await handler(case.id, user.id)
        if feedback:
            await message.reply_text(feedback)
        return
    if topic_id is not None:
        await desk.from_professional(topic_id, user.id, text, message.message_id)


async def on_group_edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A professional edited a message in a case's topic: the user never sees edits, so the claimer is told."""
    message, user = update.edited_message, update.effective_user
    desk = professionals_of(context, message.chat_id) if message is not None else None
    if message is None or user is None or desk is None or not message.is_topic_message:
        return
    if message.message_thread_id is None or (message.text or "").startswith("/"):
        return
    feedback = await desk.edit_note(message.message_thread_id, user.id)
    if feedback:
        await message.reply_text(feedback)
