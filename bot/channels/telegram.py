"""The Telegram channel (python-telegram-bot 22, long polling).

Users are served in private chats only. Telegram identities stop at this module: the pipeline sees a
pseudonymous key, and nothing here logs a user id, name or message text.
"""

from __future__ import annotations

import logging

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.app import Services
from bot.pipeline import COMMANDS, Reply

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
COMMAND_MENU = {
    "nl": [
        ("start", "Opnieuw beginnen"),
        ("menu", "De onderwerpen"),
        ("hulp", "Een hulpverlener spreken"),
        ("privacy", "Wat de bot bewaart"),
        ("stop", "Stoppen"),
        ("help", "Hoe werkt deze bot?"),
    ],
    "en": [
        ("start", "Start again"),
        ("menu", "The topics"),
        ("hulp", "Talk to a professional"),
        ("privacy", "What the bot keeps"),
        ("stop", "Stop"),
        ("help", "How does this bot work?"),
    ],
}
PRIVATE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE


def _services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    services: Services = context.bot_data["services"]
    return services


def _keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.action)] for b in reply.buttons])


async def _send(update: Update, context: ContextTypes.DEFAULT_TYPE, replies: list[Reply]) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    for reply in replies:
        await context.bot.send_message(chat.id, reply.text, reply_markup=_keyboard(reply))


def _user(update: Update, context: ContextTypes.DEFAULT_TYPE) -> tuple[str, str | None]:
    user = update.effective_user
    if user is None:
        raise ValueError("update without a user")
    return _services(context).pseudonyms.key(CHANNEL, user.id), user.language_code


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A typed message in a private chat."""
    if update.message is None or update.message.text is None:
        return
    key, language_code = _user(update, context)
    await _send(update, context, await _services(context).pipeline.text(key, update.message.text, language_code))


async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any slash command in a private chat; unknown ones get a kind list of what works."""
    if update.message is None or update.message.text is None:
        return
    key, language_code = _user(update, context)
    name = update.message.text[1:].split(maxsplit=1)[0].split("@")[0].lower() if len(update.message.text) > 1 else ""
    await _send(update, context, await _services(context).pipeline.command(key, name, language_code))


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A press on one of the bot's buttons."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    if update.effective_chat is None or update.effective_chat.type != ChatType.PRIVATE:
        return
    key, language_code = _user(update, context)
    await _send(update, context, await _services(context).pipeline.action(key, query.data or "", language_code))


async def on_other(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A sticker, photo, voice message or anything else without text."""
    key, language_code = _user(update, context)
    await _send(update, context, await _services(context).pipeline.non_text(key, language_code))


async def on_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The bot serves people one to one: in a group it says so once and leaves."""
    chat = update.effective_chat
    if chat is None:
        return
    await context.bot.send_message(
        chat.id,
        "Ik werk alleen in een privégesprek. Stuur me een persoonlijk bericht. / I only work in a private chat.",
    )
    await context.bot.leave_chat(chat.id)
    logger.info("left a group chat")


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure without the update (it holds identities and text)."""
    logger.error("error while handling an update", exc_info=context.error)


async def _post_init(application: Application) -> None:  # type: ignore[type-arg]
    for language, commands in COMMAND_MENU.items():
        await application.bot.set_my_commands(
            [BotCommand(name, description) for name, description in commands],
            language_code=None if language == "nl" else language,
        )


def build_application(services: Services) -> Application:  # type: ignore[type-arg]
    settings = services.settings
    if settings.telegram_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    builder = Application.builder().token(settings.telegram_token).rate_limiter(AIORateLimiter(max_retries=3))
    if settings.telegram_api_base_url:
        base = settings.telegram_api_base_url.rstrip("/")
        builder = builder.base_url(f"{base}/bot").base_file_url(f"{base}/file/bot")
    application = builder.post_init(_post_init).build()
    application.bot_data["services"] = services
    application.add_handler(MessageHandler(filters.ChatType.GROUPS & filters.UpdateType.MESSAGE, on_group))
    application.add_handler(MessageHandler(PRIVATE & filters.COMMAND, on_command))
    application.add_handler(MessageHandler(PRIVATE & filters.TEXT, on_text))
    application.add_handler(MessageHandler(PRIVATE & ~filters.StatusUpdate.ALL, on_other))
    application.add_handler(CallbackQueryHandler(on_button))
    application.add_error_handler(on_error)
    return application


def run_polling(services: Services) -> None:
    application = build_application(services)
    logger.info("Telegram bot starts polling; commands: %s", ", ".join(COMMANDS))
    application.run_polling(allowed_updates=["message", "callback_query"])
