"""The Telegram channel (python-telegram-bot 22, long polling), and the professionals' group.

Users are served in private chats only. Telegram identities stop at this module and the handoff desk: the
pipeline sees a pseudonymous key, and nothing here logs a user id, name or message text.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence

from telegram import Bot, BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatMemberStatus, ChatType, ParseMode
from telegram.error import TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.app import Services
from bot.pipeline import COMMANDS
from bot.replies import Button, Reply, Sender
from handoff import display
from handoff.desk import DeliveryError, LiveDesk

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
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
MEMBER_STATUSES = (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR, ChatMemberStatus.MEMBER)
MEMBERSHIP_CACHE_SECONDS = 60.0
TOPIC_NAME_LIMIT = 128
# A case button's data: "case:claim:<id>" or "case:close:<id>", the id a positive 64-bit integer.
CASE_BUTTON = re.compile(r"case:(claim|close):([1-9][0-9]{0,17})", re.ASCII)
# The update kinds the bot asks Telegram for; everything else is never delivered (and ignored if it is).
ALLOWED_UPDATES = ["message", "edited_message", "channel_post", "callback_query", "inline_query", "my_chat_member"]


def _keyboard(buttons: Sequence[Button]) -> InlineKeyboardMarkup | None:
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
                reply_markup=_keyboard(buttons),
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
            message = await self._bot.send_message(chat_id, pieces[-1], reply_markup=_keyboard(buttons))
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


def _services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    services: Services = context.bot_data["services"]
    return services


def _desk(context: ContextTypes.DEFAULT_TYPE) -> LiveDesk | None:
    return _services(context).desk


async def _send(update: Update, context: ContextTypes.DEFAULT_TYPE, replies: list[Reply]) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    for reply in replies:
        pieces = display.split(reply.text)  # the bot's own texts are short; this only guards the limit
        for piece in pieces[:-1]:
            await context.bot.send_message(chat.id, piece)
        await context.bot.send_message(chat.id, pieces[-1], reply_markup=_keyboard(reply.buttons))


def _emitter(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Callable[[Reply], Awaitable[None]]:
    async def emit(reply: Reply) -> None:
        await _send(update, context, [reply])

    return emit


def _sender(update: Update, context: ContextTypes.DEFAULT_TYPE) -> Sender:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        raise ValueError("update without a user or chat")
    return Sender(_services(context).pseudonyms.key(CHANNEL, user.id), user.language_code, chat.id)


# -- users, in private chats -------------------------------------------------------------------------------------


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A typed message in a private chat. One that starts with a slash Telegram did not take for a command ("/"
    alone, "/🙂") is handled as an unknown command."""
    message = update.message
    if message is None or message.text is None:
        return
    if message.text.startswith("/"):
        await on_command(update, context)
        return
    pipeline = _services(context).pipeline
    replies = await pipeline.text(_sender(update, context), message.text, message.message_id, _emitter(update, context))
    await _send(update, context, replies)


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
    pipeline = _services(context).pipeline
    replies = await pipeline.command(
        _sender(update, context), name, argument, message.message_id, _emitter(update, context)
    )
    await _send(update, context, replies)


async def on_edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An edited text in a private chat: read by the safety net only (see `Pipeline.edited`)."""
    message = update.edited_message
    if message is None or message.text is None:
        return
    pipeline = _services(context).pipeline
    await _send(
        update, context, await pipeline.edited(_sender(update, context), message.text, _emitter(update, context))
    )


async def on_inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Inline mode ("@bot question" in another chat) is not offered: it would put a user's question in a chat
    others read. The query is answered with nothing, and its text is not looked at."""
    if update.inline_query is not None:
        await update.inline_query.answer([], cache_time=0, is_personal=True)


async def on_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A press on one of the bot's buttons, in a private chat or in the professionals' group."""
    query = update.callback_query
    if query is None:
        return
    chat = update.effective_chat
    settings = _services(context).settings
    if chat is None:  # a button on an inline message: the bot sends none, so there is nothing to do
        await query.answer()
        return
    if chat.id == settings.handoff_chat_id and chat.type != ChatType.PRIVATE:
        await _on_case_button(update, context)
        return
    await query.answer()
    if chat.type != ChatType.PRIVATE:
        return
    await _send(update, context, await _services(context).pipeline.action(_sender(update, context), query.data or ""))


async def on_other(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A sticker, photo, voice message or anything else without text."""
    message_id = update.message.message_id if update.message else None
    await _send(update, context, await _services(context).pipeline.non_text(_sender(update, context), message_id))


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
    if chat is not None and chat.id != _services(context).settings.handoff_chat_id:
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


# -- professionals, in their group ---------------------------------------------------------------------------------


async def _on_case_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    desk = _desk(context)
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
    message, user, desk = update.message, update.effective_user, _desk(context)
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
        elif command in ("claim", "close") and topic_id is not None:
            async with _services(context).database.sessions() as session:
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
    message, user, desk = update.edited_message, update.effective_user, _desk(context)
    if message is None or user is None or desk is None or not message.is_topic_message:
        return
    if message.message_thread_id is None or (message.text or "").startswith("/"):
        return
    feedback = await desk.edit_note(message.message_thread_id, user.id)
    if feedback:
        await message.reply_text(feedback)


# -- the application -----------------------------------------------------------------------------------------------


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the failure without the update (it holds identities and text)."""
    logger.error("error while handling an update", exc_info=context.error)


async def post_init(application: Application) -> None:  # type: ignore[type-arg]
    """Register the command menu in Dutch and English; start the daily purge and the handoff sweeper."""
    for language, commands in COMMAND_MENU.items():
        await application.bot.set_my_commands(
            [BotCommand(name, description) for name, description in commands],
            language_code=None if language == "nl" else language,
        )
    services: Services = application.bot_data["services"]
    application.bot_data["retention"] = asyncio.create_task(services.retention.run())
    if services.desk is not None:
        interval = services.settings.handoff_sweep_seconds
        application.bot_data["sweeper"] = asyncio.create_task(services.desk.run(interval))


SWEEPER_STOP_SECONDS = 10.0


async def post_stop(application: Application) -> None:  # type: ignore[type-arg]
    """Send what users wrote that is still on its way to the professionals' group."""
    services: Services = application.bot_data["services"]
    if services.desk is not None:
        await services.desk.drain()


async def post_shutdown(application: Application) -> None:  # type: ignore[type-arg]
    """Let the sweeper and the daily purge finish what they are doing, then stop them."""
    await post_stop(application)  # a no-op when post_stop ran (run_polling); the test harness calls only this
    services: Services = application.bot_data["services"]
    retention: asyncio.Task[None] | None = application.bot_data.pop("retention", None)
    if retention is not None:
        services.retention.stop()
        await _finish(retention, "the daily purge")
    sweeper: asyncio.Task[None] | None = application.bot_data.pop("sweeper", None)
    if sweeper is not None and services.desk is not None:
        services.desk.stop()
        await _finish(sweeper, "the handoff sweeper")


async def _finish(task: asyncio.Task[None], what: str) -> None:
    try:
        await asyncio.wait_for(task, SWEEPER_STOP_SECONDS)
    except TimeoutError:
        logger.error("%s did not stop in time", what)


def build_application(services: Services) -> Application:  # type: ignore[type-arg]
    settings = services.settings
    if settings.telegram_token is None:
        raise ValueError("TELEGRAM_BOT_TOKEN is not set")
    builder = Application.builder().token(settings.telegram_token).rate_limiter(AIORateLimiter(max_retries=3))
    if settings.telegram_api_base_url:
        base = settings.telegram_api_base_url.rstrip("/")
        builder = builder.base_url(f"{base}/bot").base_file_url(f"{base}/file/bot")
    application = builder.post_init(post_init).post_stop(post_stop).post_shutdown(post_shutdown).build()
    application.bot_data["services"] = services
    group = settings.handoff_chat_id
    if group is not None:
        services.attach_desk(TelegramMessenger(application.bot, group))
        professionals = filters.Chat(chat_id=group) & filters.UpdateType.MESSAGE & ~filters.StatusUpdate.ALL
        application.add_handler(MessageHandler(professionals, on_group_message))
        edits = filters.Chat(chat_id=group) & filters.UpdateType.EDITED_MESSAGE & filters.TEXT
        application.add_handler(MessageHandler(edits, on_group_edit))
        strangers = filters.ChatType.GROUPS & ~filters.Chat(chat_id=group) & filters.UpdateType.MESSAGE
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
    return application


def run_polling(services: Services) -> None:
    application = build_application(services)
    logger.info("Telegram bot starts polling; commands: %s", ", ".join(COMMANDS))
    application.run_polling(allowed_updates=ALLOWED_UPDATES)
