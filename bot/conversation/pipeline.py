"""The message pipeline, the same for every channel: crisis lines first, then one unit of work per message.

Channels (console, Telegram) turn what a user does into one of five calls — `text`, `edited`, `action` (a button),
`command` or `non_text` — and send the replies they get back. For every text the safety net reads it first; when it
finds acute danger the crisis lines go out at once, before the NLU service or the database is asked anything. Then
one unit of work: the user's state is loaded, the step they are in handles the message (`Chat`, in `chat.py`),
and the state is committed. When the NLU service or the database fails, the user still gets an answer: the crisis
lines if there was danger, otherwise a short, kind "I can't answer right now" with the numbers to call.

    channel -> safety net -> [crisis lines] -> NLU -> unit of work: state -> step handler -> answer -> channel
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, timedelta

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content import Content
from bot.conversation import actions
from bot.conversation.actions import Question
from bot.conversation.answers import Answers
from bot.conversation.chat import Chat
from bot.conversation.crisis import (
    SUICIDE_FAMILY,
    Crisis,
    again_key,
    again_reply,
    alarm_about,
    crisis_reply,
    send_first,
)
from bot.conversation.flood import DEFAULT_LIMIT, DEFAULT_WINDOW, FloodGuard, Verdict
from bot.conversation.handoff_flow import HandoffFlow
from bot.conversation.privacy import Retention
from bot.conversation.rights import PRIVACY_COMMANDS, DataRights, new_conversation, start_language
from bot.conversation.turn import Emit, Memory, Profiles, Ratings, Turn
from bot.insights.recorder import Recorder
from bot.replies import Reply, Sender, keep
from bot.storage import cases
from bot.storage.models import Conversation, Database, utcnow
from bot.storage.sealed import Sealer
from bot.understanding import language
from bot.understanding.understander import Understander, Understanding
from handoff.desk import Desk
from safety.risk import Assessment, RiskLevel

logger = logging.getLogger(__name__)

__all__ = ["COMMANDS", "Emit", "Pipeline", "start_language"]

COMMANDS = ("start", "menu", "hulp", "privacy", "mijngegevens", "mydata", "vergeet", "forget", "stop", "help", "taal")
_WORDS = re.compile(r"[^\W_]+")
# A message has to be this clearly in the other language before the bot switches language by itself.
LANGUAGE_SWITCH_MARGIN = 2
ACTIVITY_RESOLUTION = timedelta(hours=1)
# How long one unit of work may take before the user gets the kind "can't answer now" instead of silence.
TURN_TIMEOUT = 8.0
RECENT_PURPOSE = b"recent-messages-key"
"""What the key sealing the recent messages is derived for (a key of its own, not the chat references')."""

TextStep = Callable[[Turn], Awaitable[list[Reply] | None]]
"""Handles typed text in one step; None: not an answer to this step's question, so it is an ordinary message."""


class Pipeline:
    def __init__(
        self,
        understander: Understander,
        content: Content,
        database: Database,
        desk: Desk,
        retention: Retention | None = None,
        flood: FloodGuard | None = None,
        recorder: Recorder | None = None,
        secret: bytes | None = None,
        feedback: bool = False,
    ) -> None:
        """`secret`: the pseudonym secret; the recent messages are sealed under a key derived from it, so that every
        replica can read them (without it, under a key of this process only: enough for one process).
        `feedback`: 👍/👎 under the first answer of each topic (ANSWER_FEEDBACK)."""
        recorder = recorder or Recorder()
        self._understander = understander
        self._content = content
        self._database = database
        self.desk = desk
        self._flood = flood or FloodGuard(DEFAULT_LIMIT, DEFAULT_WINDOW)
        sealer = Sealer(secret, RECENT_PURPOSE) if secret is not None else Sealer.of_this_process(RECENT_PURPOSE)
        self.memory = self._memory = Memory(sealer)
        self._profiles = Profiles()
        retention = retention or Retention()
        self._ratings = Ratings()
        self._answers = Answers(content, retention, feedback, self._ratings, understander.closest_line)
        self._handoff = HandoffFlow(content, self._answers, desk, self._memory, understander.threshold, recorder)
        self._crisis = Crisis(content, self._answers, desk, self._handoff, recorder)
        self._rights = DataRights(content, database, desk, self._answers, self._memory, self._profiles, retention)
        self._chat = Chat(understander, content, self._answers, self._handoff, self._crisis, self._memory, recorder)

    # -- the five entry points -------------------------------------------------------------------------------

    async def text(
        self, sender: Sender, text: str, message_id: int | None = None, emit: Emit | None = None
    ) -> list[Reply]:
        """A typed message. With `emit`, the crisis lines are sent through it at once instead of being returned."""
        # The rules first (microseconds): a sure alarm sends the lines before the learned layer's embedding, which
        # may wait its turn on the safety net's worker thread behind other chats' messages.
        rules = self._in_context(sender, text, self._understander.assess_rules(text))
        first = await self._crisis_first(sender, text, rules, emit) if rules.alarm else _First()
        assessment = self._in_context(sender, text, await self._understander.assess_off_loop(text))
        if not first:
            first = await self._crisis_first(sender, text, assessment, emit)
        try:
            understanding = await self._understander.understand(text, assessment)
            async with asyncio.timeout(TURN_TIMEOUT):
                replies = await self._typed(sender, text, message_id, understanding, emit, bool(first))
        except Exception as error:  # the database, or anything else: never leave the user in silence
            return [*first.replies, *self._unavailable(sender, text, error, bool(first))]
        return [*first.replies, *replies]

    async def edited(self, sender: Sender, text: str, emit: Emit | None = None) -> list[Reply]:
        """An edit of an earlier message. It is not read as a new question, but the safety net reads it: danger
        gets the crisis lines as a new message would. During a handoff the user hears that edits are not passed
        on (the professional has the first version)."""
        replies: list[Reply] = []
        if self._understander.assess(text).level is RiskLevel.ACUTE:
            replies = await self.text(sender, text, None, emit)
        try:
            async with self._database.sessions() as session:
                conversation = await session.get(Conversation, sender.key)
                live = conversation is not None and await cases.latest(session, sender.key, cases.LIVE) is not None
        except Exception as error:
            return replies or self._unavailable(sender, text, error, False)
        lang = conversation.language if conversation is not None else start_language(sender.language_code)
        if live:
            replies.append(Reply(self._content.ui("edit_not_relayed", lang)))
        return replies

    async def action(self, sender: Sender, data: str) -> list[Reply]:
        """A button press; `data` is the button's action string (untrusted: it comes back from the client)."""
        action = actions.parse(data)
        try:
            if isinstance(action, actions.Reply) and action.question is Question.FORGET:
                return await self._rights.answer(sender, action.yes)
            async with self._database.unit_of_work() as session:
                conversation, _ = await self._conversation(session, sender)
                replies = await self._chat.on_action(Turn(session, conversation, sender), action)
                self._profiles.remember(sender.key, conversation)
                await keep(session, replies)
        except Exception as error:
            return self._unavailable(sender, "", error, False)
        self.desk.wake()
        return replies

    async def command(
        self, sender: Sender, command: str, argument: str = "", message_id: int | None = None, emit: Emit | None = None
    ) -> list[Reply]:
        """A slash command, without the slash. The safety net reads the words after it, and an unknown command's
        name too: "/hulp ik wil dood" and "/ik wil dood" get the crisis lines like any message would."""
        command = command.lower()
        said = f"{command} {argument}" if command not in COMMANDS else argument
        if _WORDS.search(said) and self._understander.assess(said).level is RiskLevel.ACUTE:
            return await self.text(sender, said, message_id, emit)
        try:
            if command in PRIVACY_COMMANDS:
                return await self._rights.command(sender, PRIVACY_COMMANDS[command])
            async with self._database.unit_of_work() as session:
                conversation, _ = await self._conversation(session, sender)
                turn = Turn(session, conversation, sender)
                replies = await self._chat.command(turn, command)
                self._profiles.remember(sender.key, conversation)
                await keep(session, replies)
        except Exception as error:
            return self._unavailable(sender, "", error, False)
        self.desk.wake()
        return replies

    async def non_text(self, sender: Sender, message_id: int | None = None) -> list[Reply]:
        """A photo, voice message, sticker or anything else without text."""
        try:
            async with self._database.unit_of_work() as session:
                conversation, _ = await self._conversation(session, sender)
                live = await cases.latest(session, sender.key, cases.LIVE)
                if live is not None:
                    await self.desk.from_user(session, live, None, message_id)
                    return [Reply(self._content.ui("handoff_text_only", conversation.language))]
                braked = self._braked(conversation, acute=False)
                if braked is not None:
                    return braked
                return [
                    Reply(self._content.ui("non_text", conversation.language), self._answers.menu_buttons(conversation))
                ]
        except Exception as error:
            return self._unavailable(sender, "", error, False)

    # -- crisis first, and never silence ---------------------------------------------------------------------

    async def _crisis_first(self, sender: Sender, text: str, assessment: Assessment, emit: Emit | None) -> _First:
        """On acute danger, the crisis lines now: the role and language from the cache (or the message), never
        from the database; for a user whose role is not known, the lines for everyone."""
        if not assessment.alarm:  # nothing acute, or an unclear signal that is confirmed first (in the turn)
            return _First()
        profile = self._profiles.get(sender.key)
        lang = language.detect(text) or (profile.language if profile else start_language(sender.language_code))
        audience = profile.audience if profile else None
        about = alarm_about(assessment.categories, assessment.subject)  # "sneetjes op haar arm": a carer's worry
        if profile is not None and profile.alarm:  # again, right after the lines: said more directly, not the same
            key = again_key(profile.last_answer)
            reply = again_reply(self._content, assessment.categories, audience, lang, key, about)
        else:
            reply = crisis_reply(self._content, assessment.categories, audience, lang, about)
        return _First(await send_first(reply, emit), sent=True)

    def _in_context(self, sender: Sender, text: str, assessment: Assessment) -> Assessment:
        """Right after the suicide or self-harm lines, an answer that holds on to the plan ("ik heb het al besloten",
        "nobody can stop me") is that danger again, though its words alone are not alarming: the lines go first.
        (Without a profile in this replica's cache, the turn itself reads it against the stored alarm.)"""
        profile = self._profiles.get(sender.key)
        if assessment.alarm or profile is None or not profile.alarm or profile.category not in SUICIDE_FAMILY:
            return assessment
        if not self._understander.holds_on(text, profile.category):
            return assessment
        return replace(
            assessment, level=RiskLevel.ACUTE, categories=(profile.category,), ambiguous=False, learned_only=False
        )

    def _unavailable(self, sender: Sender, text: str, error: BaseException, crisis_sent: bool) -> list[Reply]:
        """A part failed: say so kindly with the numbers that always work; nothing more after the crisis lines."""
        logger.error("a message could not be handled (%s); the user got the fallback reply", type(error).__name__)
        if crisis_sent:
            return []
        profile = self._profiles.get(sender.key)
        lang = language.detect(text) if text else None
        lang = lang or (profile.language if profile else start_language(sender.language_code))
        return [Reply(self._content.ui("unavailable", lang), urgent=True)]

    # -- one typed message -----------------------------------------------------------------------------------

    async def _typed(
        self,
        sender: Sender,
        text: str,
        message_id: int | None,
        understanding: Understanding,
        emit: Emit | None,
        crisis_sent: bool,
    ) -> list[Reply]:
        async with self._database.unit_of_work() as session:
            conversation, new = await self._conversation(session, sender)
            self._follow_language(conversation, text)
            turn = Turn(session, conversation, sender, text, understanding, message_id, emit, new, crisis_sent)
            live = await cases.latest(session, sender.key, cases.LIVE)
            if live is not None:  # never braked: every message of a handoff reaches the professional
                crisis = None
                if understanding.risk is RiskLevel.ACUTE and not understanding.ambiguous and not crisis_sent:
                    about = alarm_about(understanding.categories, understanding.subject)
                    crisis = crisis_reply(
                        self._content, understanding.categories, conversation.audience, turn.language, about
                    )
                replies = await self._handoff.during(turn, live, crisis)
            else:
                await self._memory.remember(session, sender.key, text)
                braked = self._braked(conversation, understanding.risk is RiskLevel.ACUTE)
                if braked is not None:
                    await keep(session, braked)
                    return braked
                replies = await self._chat.dispatch(turn)
            self._profiles.remember(sender.key, conversation)
            await keep(session, replies)  # committed with the change they answer (webhook replicas: no second answer)
        self.desk.wake()  # a case opened in this unit of work is published now that it is committed
        return replies

    # -- state -----------------------------------------------------------------------------------------------

    async def _conversation(self, session: AsyncSession, sender: Sender) -> tuple[Conversation, bool]:
        """The user's state, locked for this unit of work (PostgreSQL: the row; SQLite serialises writers anyway),
        so that two messages of one user handled at once (two replicas, a redelivery) cannot both open a case.

        SQLite ignores FOR UPDATE and starts a transaction only at the first write, so it takes its one write lock
        first. This process's units of work already queue (`Database.unit_of_work`), but writers outside that queue
        (the background jobs, another process on the same file) do not: without the lock the first write would come
        after the state was read, and a message could act on state another writer changed in between.
        """
        if session.get_bind().dialect.name == "sqlite":
            keep = update(Conversation).where(Conversation.key == sender.key).values(updated_at=Conversation.updated_at)
            await session.execute(keep.execution_options(synchronize_session=False))
        conversation = await session.get(Conversation, sender.key, with_for_update=True)
        if conversation is not None:
            _touch(conversation)
            return conversation, False
        conversation = new_conversation(sender)
        session.add(conversation)
        return conversation, True

    def _follow_language(self, conversation: Conversation, text: str) -> None:
        detected = language.detect(text, margin=LANGUAGE_SWITCH_MARGIN)
        if detected is not None:
            conversation.language = detected

    def _braked(self, conversation: Conversation, acute: bool) -> list[Reply] | None:
        """During a flood: the slow-down notice once, then nothing (None: answer as usual). Acute messages are
        counted but never braked. The count is on the conversation row, locked in this unit of work."""
        verdict = self._flood.check(conversation)
        if acute or verdict is Verdict.ANSWER:
            return None
        if verdict is Verdict.NOTICE:
            return [Reply(self._content.ui("slow_down", conversation.language))]
        return []


class _First:
    """The crisis lines sent before the unit of work: `replies` holds them when the channel cannot send at once."""

    def __init__(self, replies: list[Reply] | None = None, sent: bool = False) -> None:
        self.replies = replies or []
        self.sent = sent

    def __bool__(self) -> bool:
        return self.sent


def _touch(conversation: Conversation) -> None:
    """Mark the conversation as active (the retention purge counts inactivity from `updated_at`); at most once
    per ACTIVITY_RESOLUTION, so that reading a message costs no extra write."""
    now = utcnow()
    seen = conversation.updated_at
    if seen.tzinfo is None:  # SQLite hands back naive UTC
        seen = seen.replace(tzinfo=UTC)
    if now - seen > ACTIVITY_RESOLUTION:
        conversation.updated_at = now
