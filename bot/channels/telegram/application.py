"""The Telegram channel: the python-telegram-bot application, its handlers and the update kinds it asks for."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from telegram import BotCommand, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.app import Services
from bot.channels.telegram.context import services_of
from bot.channels.telegram.group import on_group_edit, on_group_message
from bot.channels.telegram.guards import on_added_to_channel, on_channel, on_inline_query, on_stranger_group
from bot.channels.telegram.private import on_button, on_command, on_edited, on_other, on_text
from bot.channels.telegram.rate_limit import PriorityRateLimiter
from bot.channels.telegram.updates import PerChatProcessor
from bot.config import Settings
from bot.conversation.pipeline import COMMANDS
from bot.conversation.rights import start_language

logger = logging.getLogger(__name__)


COMMAND_MENU = {
    "nl": [
        ("start", "Opnieuw beginnen"),
        ("menu", "De onderwerpen"),
        ("hulp", "Een hulpverlener spreken"),
        ("privacy", "Wat de bot bewaart"),
        ("mijngegevens", "Wat de bot van jou weet"),
        ("vergeet", "Alles over jou wissen"),
        ("taal", "Switch to English"),
        ("stop", "Stoppen"),
        ("help", "Hoe werkt deze bot?"),
    ],
    "en": [
        ("start", "Start again"),
        ("menu", "The topics"),
        ("hulp", "Talk to a professional"),
        ("privacy", "What the bot keeps"),
        ("mydata", "What the bot knows about you"),
        ("forget", "Delete everything about you"),
        ("taal", "Naar het Nederlands"),
        ("stop", "Stop"),
        ("help", "How does this bot work?"),
    ],
}

PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE

ALLOWED_UPDATES = ["message", "edited_message", "channel_post", "callback_query", "inline_query", "my_chat_member"]


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure without the update (it holds identities and text), and never leave a user in silence: a
    private chat gets the short "can't answer now" with the numbers that always work."""
    logger.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    chat = update.effective_chat
    if chat.type != ChatType.PRIVATE:
        return
    user = update.effective_user
    language = start_language(user.language_code if user is not None else None)
    try:
        await context.bot.send_message(chat.id, services_of(context).content.ui("unavailable", language))
    except TelegramError:
        logger.error("could not send the fallback reply either")


async def post_init(application: Application) -> None:  # type: ignore[type-arg]
    """Register the command menu in Dutch and English; start the daily purge, the handoff sweeper and the sender
    of the outbox (which also delivers what a previous run left in it)."""
    for language, commands in COMMAND_MENU.items():
        await application.bot.set_my_commands(
            [BotCommand(name, description) for name, description in commands],
            language_code=None if language == "nl" else language,
        )
    services: Services = application.bot_data["services"]
    application.bot_data["retention"] = asyncio.create_task(services.retention.run())
    limiter = application.bot.rate_limiter
    if services.replicas is not None and isinstance(limiter, PriorityRateLimiter):
        # Every replica takes its share of the bot token's send budget, counted again every few seconds.
        application.bot_data["heartbeat"] = asyncio.create_task(services.replicas.run(limiter.share))
    if services.handoff is not None:
        interval = services.settings.handoff_sweep_seconds
        application.bot_data["sweeper"] = asyncio.create_task(services.handoff.sweeper.run(interval))
        application.bot_data["sender"] = asyncio.create_task(services.handoff.sender.run(interval))


SWEEPER_STOP_SECONDS = 10.0
UPDATE_QUEUE_SIZE = 200


async def post_stop(application: Application) -> None:  # type: ignore[type-arg]
    """Finish the updates already accepted; send what is due in the outbox (what fails stays there for the next
    start)."""
    processor = application.update_processor
    if isinstance(processor, PerChatProcessor) and not await processor.drain():
        logger.error("updates were still being handled when the bot stopped")
    services: Services = application.bot_data["services"]
    if services.handoff is not None:
        await services.handoff.sender.drain()


async def post_shutdown(application: Application) -> None:  # type: ignore[type-arg]
    """Let the sweeper, the sender and the daily purge finish what they are doing, then stop them."""
    await post_stop(application)  # a no-op when post_stop ran (run_polling); the test harness calls only this
    services: Services = application.bot_data["services"]
    retention: asyncio.Task[None] | None = application.bot_data.pop("retention", None)
    if retention is not None:
        services.retention.stop()
        await _finish(retention, "the daily purge")
    heartbeat: asyncio.Task[None] | None = application.bot_data.pop("heartbeat", None)
    if heartbeat is not None and services.replicas is not None:
        services.replicas.stop()
        await _finish(heartbeat, "the replica heartbeat")
        try:
            await services.replicas.leave()
        except Exception:
            logger.warning("could not remove this replica from the heartbeat table; it drops out in seconds")
    handoff = services.handoff
    sweeper: asyncio.Task[None] | None = application.bot_data.pop("sweeper", None)
    if sweeper is not None and handoff is not None:
        handoff.sweeper.stop()
        await _finish(sweeper, "the handoff sweeper")
    sender: asyncio.Task[None] | None = application.bot_data.pop("sender", None)
    if sender is not None and handoff is not None:
        handoff.sender.stop()
        await _finish(sender, "the outbox sender")


async def _finish(task: asyncio.Task[None], what: str) -> None:
    try:
        await asyncio.wait_for(task, SWEEPER_STOP_SECONDS)
    except TimeoutError:
        logger.error("%s did not stop in time", what)


def new_application(settings: Settings, polling: bool = True) -> Application:  # type: ignore[type-arg]
    """The python-telegram-bot application: token, rate limiter, update processor, Bot API address, life-cycle
    hooks; no handlers. Without polling there is no updater: a webhook hands the updates over."""
    if settings.telegram_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    builder = (
        Application.builder()
        .token(settings.telegram_token)
        .rate_limiter(PriorityRateLimiter(max_retries=3))
        .concurrent_updates(PerChatProcessor())
        # Bounded, so that a full processor stops the updater from fetching more (Telegram keeps them meanwhile).
        .update_queue(asyncio.Queue(maxsize=UPDATE_QUEUE_SIZE))
    )
    if not polling:
        builder = builder.updater(None)
    if settings.telegram_api_base_url:
        base = settings.telegram_api_base_url.rstrip("/")
        builder = builder.base_url(f"{base}/bot").base_file_url(f"{base}/file/bot")
    return builder.post_init(post_init).post_stop(post_stop).post_shutdown(post_shutdown).build()


def install_handlers(application: Application, services: Services) -> None:  # type: ignore[type-arg]
    """Route every update kind the bot asks for to its handler; the group's only with a live desk."""
    application.bot_data["services"] = services
    if isinstance(application.update_processor, PerChatProcessor):
        application.update_processor.urgent = acute_message(services)
    groups = sorted(services.handoff.routing.chat_ids) if services.handoff is not None else []
    if groups:
        professionals = filters.Chat(chat_id=groups) & filters.UpdateType.MESSAGE & ~filters.StatusUpdate.ALL
        application.add_handler(MessageHandler(professionals, on_group_message))
        edits = filters.Chat(chat_id=groups) & filters.UpdateType.EDITED_MESSAGE & filters.TEXT
        application.add_handler(MessageHandler(edits, on_group_edit))
        strangers = filters.ChatType.GROUPS & ~filters.Chat(chat_id=groups) & filters.UpdateType.MESSAGE
    else:
        strangers = filters.ChatType.GROUPS & filters.UpdateType.MESSAGE
    application.add_handler(MessageHandler(strangers, on_stranger_group))
    application.add_handler(MessageHandler(PRIVATE & filters.COMMAND, on_command))
    application.add_handler(MessageHandler(PRIVATE & filters.TEXT, on_text))
    application.add_handler(MessageHandler(PRIVATE & ~filters.StatusUpdate.ALL, on_other))
    edited = filters.ChatType.PRIVATE & filters.UpdateType.EDITED_MESSAGE & filters.TEXT
    application.add_handler(MessageHandler(edited, on_edited))
    application.add_handler(MessageHandler(filters.UpdateType.CHANNEL_POSTS, on_channel))
    application.add_handler(ChatMemberHandler(on_added_to_channel, ChatMemberHandler.MY_CHAT_MEMBER))
    application.add_handler(InlineQueryHandler(on_inline_query))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_error_handler(on_error)


def acute_message(services: Services) -> Callable[[object], bool]:
    """Whether an update is a message the safety net reads as acute: it may skip the wait for a free slot."""

    def check(update: object) -> bool:
        if not isinstance(update, Update) or update.message is None or not update.message.text:
            return False
        if update.message.chat.type != "private":
            return False
        return services.understander.is_acute(update.message.text)

    return check


def run_polling(application: Application) -> None:  # type: ignore[type-arg]
    logger.info("Telegram bot starts polling; commands: %s", ", ".join(COMMANDS))
    application.run_polling(allowed_updates=ALLOWED_UPDATES, close_loop=False)
