"""What every handler needs: the services the composition root built, the sender's pseudonymous key, sending."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import cast

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, NetworkError, TimedOut
from telegram.ext import ContextTypes, ExtBot

from bot.app import Handoff, Services
from bot.channels.telegram import delivery
from bot.channels.telegram.messenger import keyboard
from bot.channels.telegram.rate_limit import URGENT
from bot.replies import Reply, Sender
from handoff import display
from handoff.professionals import Professionals

logger = logging.getLogger(__name__)

# Crisis lines are tried this often on a passing network fault, waiting a little longer each time.
URGENT_ATTEMPTS = 3
URGENT_RETRY_SECONDS = 0.5


CHANNEL = "telegram"


def services_of(context: ContextTypes.DEFAULT_TYPE) -> Services:
    services: Services = context.bot_data["services"]
    return services


def professionals_of(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> Professionals | None:
    """The side of the live desk of the professionals' group with this chat id (each group acts on its own cases
    only); None for any other chat, or without a professionals' group."""
    handoff: Handoff | None = services_of(context).handoff
    return handoff.professionals_in(chat_id) if handoff is not None else None


def group_chat_ids(context: ContextTypes.DEFAULT_TYPE) -> frozenset[int]:
    """The chat ids of the professionals' groups (none without a live desk)."""
    handoff: Handoff | None = services_of(context).handoff
    return handoff.routing.chat_ids if handoff is not None else frozenset()


async def send_replies(
    update: Update, context: ContextTypes.DEFAULT_TYPE, replies: list[Reply], last: bool = True
) -> None:
    """Send the replies in order, piece by piece. For a journaled update (webhook mode) each piece sent is counted,
    and the pieces an earlier owner of the update sent already are passed over (`delivery`). `last`: these are the
    handler's last replies (all but the crisis lines sent through `emit`), so once they are out the update is
    answered."""
    chat = update.effective_chat
    if chat is None:
        return
    await send_to_chat(cast("ExtBot[str]", context.bot), chat.id, replies, last)


async def send_to_chat(bot: ExtBot[str], chat_id: int, replies: list[Reply], last: bool = True) -> None:
    """`send_replies` for a chat known by its id: also the replies a taken-over update's first owner kept."""
    sending = delivery.current()
    for reply in replies:
        pieces = display.split(reply.text)  # the bot's own texts are short; this only guards the limit
        for number, piece in enumerate(pieces, start=1):
            if sending is not None and sending.sent_before():
                continue
            markup = keyboard(reply.buttons) if number == len(pieces) else None
            if reply.urgent:
                await _send_urgent(bot, chat_id, piece, markup)
            else:
                await bot.send_message(chat_id, piece, reply_markup=markup)
            if sending is not None:
                await sending.count()  # after the send; waits for the count only briefly
    if sending is not None and last:
        sending.replied()


async def _send_urgent(bot: ExtBot[str], chat_id: int, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """The crisis lines (or the fallback with the numbers) must arrive: sent in the rate limiter's fast lane, and a
    passing network fault or a timeout is tried again a few times; a refusal (blocked, bad request) is not."""
    for attempt in range(1, URGENT_ATTEMPTS + 1):
        try:
            await bot.send_message(chat_id, text, reply_markup=markup, rate_limit_args=URGENT)
            return
        except (NetworkError, TimedOut) as error:
            if isinstance(error, BadRequest | Forbidden) or attempt == URGENT_ATTEMPTS:
                raise
            logger.warning("an urgent reply failed (%s); trying again", type(error).__name__)
            await asyncio.sleep(URGENT_RETRY_SECONDS * attempt)


def emitter(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Callable[[Reply], Awaitable[None]]:
    async def emit(reply: Reply) -> None:
        await send_replies(update, context, [reply], last=False)

    return emit


def sender_of(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Sender:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        raise ValueError("update without a user or chat")
    return Sender(services_of(context).pseudonyms.key(CHANNEL, user.id), user.language_code, chat.id)
