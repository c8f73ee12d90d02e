"""What every handler needs: the services the composition root built, the sender's pseudonymous key, sending."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import (
    ContextTypes,
)

from bot.app import Handoff, Services
from bot.channels.telegram.messenger import keyboard
from bot.replies import Reply, Sender
from handoff import display
from handoff.professionals import Professionals

logger = logging.getLogger(__name__)


CHANNEL = "telegram"


def services_of(context: ContextTypes.DEFAULT_TYPE) -> Services:
    services: Services = context.bot_data["services"]
    return services


def professionals_of(context: ContextTypes.DEFAULT_TYPE) -> Professionals | None:
    """The professionals' side of the live desk; None without a professionals' group."""
    handoff: Handoff | None = services_of(context).handoff
    return handoff.professionals if handoff is not None else None


async def send_replies(update: Update, context: ContextTypes.DEFAULT_TYPE, replies: list[Reply]) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    for reply in replies:
        pieces = display.split(reply.text)  # the bot's own texts are short; this only guards the limit
        for piece in pieces[:-1]:
            await context.bot.send_message(chat.id, piece)
        await context.bot.send_message(chat.id, pieces[-1], reply_markup=keyboard(reply.buttons))


def emitter(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Callable[[Reply], Awaitable[None]]:
    async def emit(reply: Reply) -> None:
        await send_replies(update, context, [reply])

    return emit


def sender_of(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Sender:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        raise ValueError("update without a user or chat")
    return Sender(services_of(context).pseudonyms.key(CHANNEL, user.id), user.language_code, chat.id)
