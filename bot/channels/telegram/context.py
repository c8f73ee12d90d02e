"""What every handler needs: the services the composition root built, the sender's pseudonymous key, sending."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import cast

from telegram import Update
from telegram.ext import ContextTypes, ExtBot

from bot.app import Services
from bot.channels.telegram.messenger import keyboard
from bot.channels.telegram.rate_limit import URGENT
from bot.replies import Reply, Sender
from handoff import display
from handoff.desk import LiveDesk

logger = logging.getLogger(__name__)


CHANNEL = "telegram"


def services_of(context: ContextTypes.DEFAULT_TYPE) -> Services:
    services: Services = context.bot_data["services"]
    return services


def desk_of(context: ContextTypes.DEFAULT_TYPE) -> LiveDesk | None:
    return services_of(context).desk


async def send_replies(update: Update, context: ContextTypes.DEFAULT_TYPE, replies: list[Reply]) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    bot = cast("ExtBot[str]", context.bot)  # the application's rate limiter is a PriorityRateLimiter
    for reply in replies:
        lane = URGENT if reply.urgent else None  # crisis lines skip the queue of ordinary replies
        pieces = display.split(reply.text)  # the bot's own texts are short; this only guards the limit
        for piece in pieces[:-1]:
            await bot.send_message(chat.id, piece, rate_limit_args=lane)
        await bot.send_message(chat.id, pieces[-1], reply_markup=keyboard(reply.buttons), rate_limit_args=lane)


def emitter(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Callable[[Reply], Awaitable[None]]:
    async def emit(reply: Reply) -> None:
        await send_replies(update, context, [reply])

    return emit


def sender_of(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Sender:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        raise ValueError("update without a user or chat")
    return Sender(services_of(context).pseudonyms.key(CHANNEL, user.id), user.language_code, chat.id)
