"""The message pipeline, the same for every channel: safety net, NLU, answer, follow-up buttons, handoff.

Channels (console, Telegram) turn what a user does into one of four calls — `text`, `action` (a button),
`command` or `non_text` — and render the replies they get back. All conversation state lives in the database
under a pseudonymous key, so a channel keeps nothing of its own that matters.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from bot import language
from bot.content import AUDIENCES, LANGUAGES, Content
from bot.replies import Button, Reply, Sender
from bot.storage import Case, Conversation, Database, utcnow
from bot.topics import MENU_TOPICS, TOPIC_INTENT
from bot.understanding import Understander, Understanding
from handoff import cases
from handoff.desk import Desk, Outcome
from handoff.hours import AMSTERDAM
from handoff.risk import RiskLevel

logger = logging.getLogger(__name__)

CHOOSE_AUDIENCE = "choose_audience"
CHAT = "chat"
HANDOFF_OFFER = "handoff_offer"
SAFETY_CHECK = "safety_check"

COMMANDS = ("start", "menu", "hulp", "privacy", "stop", "help", "taal")
_WORDS = re.compile(r"[^\W_]+")
# A message has to be this clearly in the other language before the bot switches language by itself.
LANGUAGE_SWITCH_MARGIN = 2
# What a user wrote recently, kept in memory only, for a case card when the user agrees to share it.
RECENT_MESSAGES = 8
RECENT_SECONDS = 30 * 60

Emit = Callable[[Reply], Awaitable[None]]
"""Sends one reply at once, before the pipeline is done (the crisis lines must not wait for the group)."""


def start_language(language_code: str | None) -> str:
    """The language a new conversation starts in, from Telegram's language code (Dutch first)."""
    if language_code is None or language_code.lower().startswith("nl"):
        return "nl"
    return "en"


class Pipeline:
    def __init__(self, understander: Understander, content: Content, database: Database, desk: Desk) -> None:
        self._understander = understander
        self._content = content
        self._database = database
        self.desk = desk
        self._yes = content.words("yes_words")
        self._no = content.words("no_words")
        self._recent: dict[str, deque[tuple[float, str]]] = {}

    # -- entry points ----------------------------------------------------------------------------------------

    async def text(
        self, sender: Sender, text: str, message_id: int | None = None, emit: Emit | None = None
    ) -> list[Reply]:
        """A typed message. With `emit`, an urgent reply is sent through it at once instead of being returned."""
        understanding = await self._understander.understand(text)
        async with self._database.sessions.begin() as session:
            conversation, new = await self._conversation(session, sender)
            self._follow_language(conversation, text)
            live = await cases.latest(session, sender.key, cases.LIVE)
            if live is not None:
                replies = await self._during_handoff(session, conversation, live, text, message_id, understanding, emit)
            else:
                self._remember(sender.key, text)
                replies = await self._on_text(session, conversation, sender, new, text, understanding, emit)
        self.desk.wake()  # a case opened in this unit of work is published now that it is committed
        return replies

    async def action(self, sender: Sender, action: str) -> list[Reply]:
        """A button press; `action` is the button's action string (untrusted: it comes back from the client)."""
        async with self._database.sessions.begin() as session:
            conversation, _ = await self._conversation(session, sender)
            replies = await self._on_action(session, conversation, sender, action)
        self.desk.wake()
        return replies

    async def command(self, sender: Sender, command: str) -> list[Reply]:
        """A slash command, without the slash."""
        async with self._database.sessions.begin() as session:
            conversation, _ = await self._conversation(session, sender)
            return await self._on_command(session, conversation, sender, command.lower())

    async def non_text(self, sender: Sender, message_id: int | None = None) -> list[Reply]:
        """A photo, voice message, sticker or anything else without text."""
        async with self._database.sessions.begin() as session:
            conversation, _ = await self._conversation(session, sender)
            live = await cases.latest(session, sender.key, cases.LIVE)
            if live is not None:
                await self.desk.from_user(session, live, None, message_id)
                return [Reply(self._content.ui("handoff_text_only", conversation.language))]
            return [Reply(self._content.ui("non_text", conversation.language), self._menu_buttons(conversation))]

    # -- state -----------------------------------------------------------------------------------------------

    async def _conversation(self, session: AsyncSession, sender: Sender) -> tuple[Conversation, bool]:
        conversation = await session.get(Conversation, sender.key)
        if conversation is not None:
            conversation.updated_at = utcnow()  # the last activity, from which retention counts
            return conversation, False
        conversation = Conversation(
            key=sender.key,
            language=start_language(sender.language_code),
            audience=None,
            step=CHOOSE_AUDIENCE,
            safety_check=False,
            safety_declines=0,
        )
        session.add(conversation)
        return conversation, True

    def _follow_language(self, conversation: Conversation, text: str) -> None:
        detected = language.detect(text, margin=LANGUAGE_SWITCH_MARGIN)
        if detected is not None:
            conversation.language = detected

    def _remember(self, key: str, text: str) -> None:
        now = time.monotonic()
        recent = self._recent.setdefault(key, deque(maxlen=RECENT_MESSAGES))
        recent.append((now, text))
        for stale in [k for k, v in self._recent.items() if v and now - v[-1][0] > RECENT_SECONDS]:
            del self._recent[stale]

    def _recent_lines(self, key: str) -> list[str]:
        now = time.monotonic()
        return [text for at, text in self._recent.get(key, ()) if now - at <= RECENT_SECONDS]

    def forget_recent(self, key: str) -> None:
        self._recent.pop(key, None)

    # -- text ------------------------------------------------------------------------------------------------

    async def _on_text(
        self,
        session: AsyncSession,
        conversation: Conversation,
        sender: Sender,
        new: bool,
        text: str,
        understanding: Understanding,
        emit: Emit | None,
    ) -> list[Reply]:
        if understanding.risk is RiskLevel.ACUTE:
            return await self._crisis(session, conversation, sender, understanding, emit)
        if not _WORDS.search(text):
            return [Reply(self._content.ui("emoji_only", conversation.language), self._menu_buttons(conversation))]

        if conversation.step == HANDOFF_OFFER:
            answer = self._yes_no(text)
            if answer is not None:
                return await self._on_action(session, conversation, sender, f"handoff:{'yes' if answer else 'no'}")
        if conversation.step == SAFETY_CHECK:
            feeling = self._feeling(text)
            if feeling is not None:
                return await self._on_action(session, conversation, sender, f"safe:{'ok' if feeling else 'notok'}")
        if conversation.step in (HANDOFF_OFFER, SAFETY_CHECK):
            conversation.step = CHAT

        if not understanding.nlu_available:
            return [Reply(self._content.ui("nlu_down", conversation.language), self._menu_buttons(conversation))]
        if new and conversation.audience is None:
            if understanding.confidence >= self._understander.threshold and understanding.intent:
                conversation.pending_intent = understanding.intent
            return [self._welcome(conversation)]
        if understanding.confidence < self._understander.threshold:
            return [self._unsure(conversation, understanding)]

        conversation.step = CHAT
        replies = self._answer_intent(conversation, understanding.intent or "out_of_scope")
        if understanding.risk is RiskLevel.CONCERN and conversation.step != HANDOFF_OFFER:
            replies.append(self._offer(conversation, "concern_offer", f"concern:{understanding.categories[0]}"))
        return replies

    async def _crisis(
        self,
        session: AsyncSession,
        conversation: Conversation,
        sender: Sender,
        understanding: Understanding,
        emit: Emit | None,
    ) -> list[Reply]:
        """Crisis lines first, in the very first reply; then a professional (asked at once when one can come)."""
        audience = conversation.audience or "youth"  # unknown audience: include the youth line too
        lang = conversation.language
        if understanding.language is not None:
            lang = conversation.language = understanding.language
        category = understanding.categories[0] if understanding.categories else "suicidal"
        conversation.safety_check = True
        conversation.safety_declines = 0
        conversation.pending_intent = None
        lines = Reply(self._content.crisis_lines(understanding.categories, audience, lang))
        first = await _first(lines, emit)
        reason = f"acute:{category}"
        if self.desk.live and sender.chat_id is not None:
            case = await cases.open_case(
                session, conversation.key, reason, "acute", cases.REQUESTED, conversation.audience, lang
            )
            return [*first, *await self._open_with_desk(session, conversation, sender, case)]
        await cases.open_case(session, conversation.key, reason, "acute", cases.OFFERED, conversation.audience, lang)
        offer = self._offer(conversation, "crisis_offer", reason)
        return [*first, offer]

    async def _during_handoff(
        self,
        session: AsyncSession,
        conversation: Conversation,
        case: Case,
        text: str,
        message_id: int | None,
        understanding: Understanding,
        emit: Emit | None,
    ) -> list[Reply]:
        """A professional has been asked or is in the chat: pass the message on; the bot stays quiet unless
        the safety net fires, or nobody has claimed the case yet."""
        if understanding.risk is RiskLevel.ACUTE:
            audience = conversation.audience or "youth"
            lines = Reply(self._content.crisis_lines(understanding.categories, audience, conversation.language))
            first = await _first(lines, emit)
            await self.desk.from_user(session, case, text, message_id)
            await self.desk.flag(session, case, understanding.categories[0] if understanding.categories else "suicidal")
            return first
        await self.desk.from_user(session, case, text, message_id)
        if case.status == cases.CLAIMED or not understanding.sure:
            return []
        if understanding.confidence < self._understander.threshold or understanding.intent in ("greet", "goodbye"):
            return []
        return self._answer_intent(conversation, understanding.intent or "out_of_scope")

    def _yes_no(self, text: str) -> bool | None:
        """Yes or no to "shall I ask a professional?"; the first word decides ("nee, ik ben oké")."""
        words = [word.casefold() for word in _WORDS.findall(text)]
        for word in words[:1] + words:
            if word in self._no:
                return False
            if word in self._yes:
                return True
        return None

    def _feeling(self, text: str) -> bool | None:
        """After "how are you now?": True for okay, False for not okay, None for a message about something else."""
        words = {word.casefold() for word in _WORDS.findall(text)}
        negative = words & {"niet", "slecht", "rot", "not", "bad", "terrible", "awful"}
        positive = words & {"goed", "prima", "beter", "oke", "ok", "okay", "fine", "good", "better", "gaat", "wel"}
        if negative and not words & {"fine", "prima"}:
            return False
        if positive:
            return True
        return None

    # -- answers ---------------------------------------------------------------------------------------------

    def _answer_intent(self, conversation: Conversation, intent: str) -> list[Reply]:
        lang, audience = conversation.language, conversation.audience or "parent"
        if intent == "talk_to_human":
            text = self._content.answer(intent, audience, lang).text
            return [self._offer(conversation, None, "request", lead=text)]
        if not self._content.has_answer(intent):
            intent = "out_of_scope"
        answer = self._content.answer(intent, audience, lang)
        text = answer.text
        if conversation.safety_check:
            text += "\n\n" + self._content.ui("safety_footer", lang)
        if intent in ("greet", "out_of_scope"):
            buttons = self._menu_buttons(conversation)
        else:
            buttons = tuple(self._topic_button(topic, lang) for topic in answer.follow_up)
            buttons += (Button(self._content.button("menu", lang), "menu"),)
        return [Reply(text, buttons)]

    def _offer(self, conversation: Conversation, key: str | None, reason: str, lead: str | None = None) -> Reply:
        lang = conversation.language
        conversation.step = HANDOFF_OFFER
        conversation.offer_reason = reason
        text = self._content.ui(key or "handoff_offer", lang)
        return Reply(
            f"{lead}\n\n{text}" if lead else text, self._yes_no_buttons("yes_handoff", "no_handoff", "handoff", lang)
        )

    def _yes_no_buttons(self, yes: str, no: str, action: str, lang: str) -> tuple[Button, ...]:
        return (
            Button(self._content.button(yes, lang), f"{action}:yes"),
            Button(self._content.button(no, lang), f"{action}:no"),
        )

    def _welcome(self, conversation: Conversation) -> Reply:
        lang = conversation.language
        other = "en" if lang == "nl" else "nl"
        conversation.step = CHOOSE_AUDIENCE
        audiences = (Button(self._content.button(audience, lang), f"aud:{audience}") for audience in AUDIENCES)
        switch = Button(self._content.button("switch_language", lang), f"lang:{other}")
        return Reply(self._content.ui("welcome", lang), (*audiences, switch))

    def _unsure(self, conversation: Conversation, understanding: Understanding) -> Reply:
        lang = conversation.language
        topics = [topic for topic in understanding.alternatives if topic in TOPIC_INTENT]
        buttons = tuple(self._topic_button(topic, lang) for topic in topics[:2])
        buttons += (Button(self._content.button("menu", lang), "menu"),)
        return Reply(self._content.ui("low_confidence", lang), buttons)

    def _topic_button(self, topic: str, lang: str) -> Button:
        return Button(self._content.topic_label(topic, lang), f"topic:{topic}")

    def _menu_buttons(self, conversation: Conversation) -> tuple[Button, ...]:
        topics: Sequence[str] = MENU_TOPICS
        if conversation.audience == "professional":
            topics = ("for_professionals", *topics)
        return tuple(self._topic_button(topic, conversation.language) for topic in topics)

    def _menu(self, conversation: Conversation) -> Reply:
        return Reply(self._content.ui("menu", conversation.language), self._menu_buttons(conversation))

    # -- handoff ---------------------------------------------------------------------------------------------

    async def _open_with_desk(
        self, session: AsyncSession, conversation: Conversation, sender: Sender, case: Case
    ) -> list[Reply]:
        """Ask the desk for a professional and tell the user honestly what happens next."""
        lang, audience = conversation.language, conversation.audience or "youth"
        outcome = await self.desk.open(session, case, sender.chat_id)
        conversation.step = CHAT
        conversation.offer_reason = None
        transcript = self._yes_no_buttons("transcript_yes", "transcript_no", "transcript", lang)
        has_recent = bool(self._recent_lines(conversation.key))
        if outcome is Outcome.ALERTED:
            key = "handoff_waiting_acute" if case.risk == "acute" else "handoff_waiting"
            replies = [Reply(self._content.ui(key, lang))]
        elif outcome is Outcome.ALERTED_OUTSIDE_HOURS:
            replies = [self._outside_hours(lang, audience)]
        elif outcome is Outcome.OUTSIDE_HOURS:
            park = self._yes_no_buttons("park_yes", "park_no", "park", lang)
            return [self._outside_hours(lang, audience), Reply(self._content.ui("park_offer", lang), park)]
        else:
            text = (
                self._content.ui("handoff_requested", lang) + "\n\n" + self._content.ui("handoff_lines", lang, audience)
            )
            return [Reply(text, (Button(self._content.button("menu", lang), "menu"),))]
        if has_recent:
            replies.append(Reply(self._content.ui("transcript_offer", lang), transcript))
        return replies

    def _outside_hours(self, lang: str, audience: str) -> Reply:
        opening = self.desk.next_opening()
        when = ""
        if opening is not None:
            moment = opening.astimezone(AMSTERDAM).strftime("%d-%m %H:%M")
            when = self._content.ui("handoff_next_opening", lang).format(moment=moment)
        text = self._content.ui("handoff_outside_hours", lang).format(when=when)
        return Reply(text + "\n\n" + self._content.ui("day_and_night_lines", lang, audience))

    async def _handoff_answer(
        self, session: AsyncSession, conversation: Conversation, sender: Sender, yes: bool
    ) -> list[Reply]:
        lang = conversation.language
        reason = conversation.offer_reason or "request"
        conversation.step = CHAT
        conversation.offer_reason = None
        offered = await cases.latest(session, conversation.key, (cases.OFFERED,))
        if yes:
            if offered is not None:
                case = offered
                await cases.set_status(case, cases.REQUESTED)
            else:
                risk = reason.partition(":")[0] if ":" in reason else "none"
                case = await cases.open_case(
                    session, conversation.key, reason, risk, cases.REQUESTED, conversation.audience, lang
                )
            return await self._open_with_desk(session, conversation, sender, case)
        if offered is not None:
            await cases.set_status(offered, cases.DECLINED)
        if conversation.safety_check:
            # A single "no" does not end the safety check: the lines stay offered and the bot checks in.
            conversation.step = SAFETY_CHECK
            buttons = (
                Button(self._content.button("safe_ok", lang), "safe:ok"),
                Button(self._content.button("safe_not_ok", lang), "safe:notok"),
            )
            return [Reply(self._content.ui("safety_check", lang), buttons)]
        return [Reply(self._content.ui("handoff_declined", lang), self._menu_buttons(conversation))]

    def _safety_answer(self, conversation: Conversation, okay: bool) -> list[Reply]:
        lang = conversation.language
        if okay:
            conversation.safety_declines += 1
            conversation.step = CHAT
            return [Reply(self._content.ui("safety_check_again", lang), self._menu_buttons(conversation))]
        audience = conversation.audience or "youth"
        return [
            Reply(self._content.crisis_lines(("suicidal",), audience, lang)),
            self._offer(conversation, "crisis_offer", "acute:suicidal"),
        ]

    async def _transcript_answer(self, session: AsyncSession, conversation: Conversation, yes: bool) -> list[Reply]:
        lang = conversation.language
        case = await cases.latest(session, conversation.key, (*cases.LIVE, cases.PARKED))
        if case is None:
            return [self._menu(conversation)]
        if yes:
            await self.desk.share_transcript(session, case, self._recent_lines(conversation.key))
        self.forget_recent(conversation.key)
        return [Reply(self._content.ui("transcript_shared" if yes else "transcript_kept", lang))]

    async def _park_answer(self, session: AsyncSession, conversation: Conversation, yes: bool) -> list[Reply]:
        lang = conversation.language
        case = await cases.latest(session, conversation.key, (cases.OUTSIDE_HOURS,))
        if case is None:
            return [self._menu(conversation)]
        if yes:
            await self.desk.park(session, case)
            return [Reply(self._content.ui("handoff_parked", lang))]
        await cases.set_status(case, cases.CLOSED)
        case.chat_ref = None
        return [Reply(self._content.ui("handoff_declined", lang), self._menu_buttons(conversation))]

    # -- buttons ---------------------------------------------------------------------------------------------

    async def _on_action(
        self, session: AsyncSession, conversation: Conversation, sender: Sender, action: str
    ) -> list[Reply]:
        kind, _, value = action.partition(":")
        lang = conversation.language
        if kind == "aud" and value in AUDIENCES:
            conversation.audience = value
            conversation.step = CHAT
            pending, conversation.pending_intent = conversation.pending_intent, None
            if pending:
                return self._answer_intent(conversation, pending)
            return [Reply(self._content.ui("audience_chosen", lang, value), self._menu_buttons(conversation))]
        if kind == "lang" and value in LANGUAGES:
            conversation.language = value
            if conversation.audience is None:
                return [self._welcome(conversation)]
            return [Reply(self._content.ui("language_set", value)), self._menu(conversation)]
        if kind == "topic" and value in TOPIC_INTENT:
            conversation.step = CHAT
            return self._answer_intent(conversation, TOPIC_INTENT[value])
        if value in ("yes", "no"):
            if kind == "handoff":
                return await self._handoff_answer(session, conversation, sender, value == "yes")
            if kind == "transcript":
                return await self._transcript_answer(session, conversation, value == "yes")
            if kind == "park":
                return await self._park_answer(session, conversation, value == "yes")
        if kind == "safe" and value in ("ok", "notok"):
            return self._safety_answer(conversation, value == "ok")
        if action == "menu":
            conversation.step = CHAT
            return [self._menu(conversation)]
        logger.info("ignored an unknown button action")
        return [self._menu(conversation)]

    # -- commands --------------------------------------------------------------------------------------------

    async def _on_command(
        self, session: AsyncSession, conversation: Conversation, sender: Sender, command: str
    ) -> list[Reply]:
        lang = conversation.language
        live = await cases.latest(session, conversation.key, (*cases.LIVE, cases.PARKED))
        if command == "stop":
            conversation.step = CHAT
            conversation.offer_reason = None
            if live is not None:
                await self.desk.user_left(session, live)
                self.forget_recent(conversation.key)
                return [Reply(self._content.ui("handoff_stopped", lang), self._menu_buttons(conversation))]
            return [Reply(self._content.ui("stopped", lang))]
        if command == "start":
            conversation.pending_intent = None
            return [self._welcome(conversation)]
        if command == "menu":
            conversation.step = CHAT
            return [self._menu(conversation)]
        if command == "hulp":
            if live is not None:
                return [Reply(self._content.ui("handoff_waiting", lang))]
            return self._answer_intent(conversation, "talk_to_human")
        if command == "privacy":
            return self._answer_intent(conversation, "privacy")
        if command == "help":
            return [Reply(self._content.ui("help", lang), self._menu_buttons(conversation))]
        if command == "taal":
            return await self._on_action(session, conversation, sender, f"lang:{'en' if lang == 'nl' else 'nl'}")
        return [Reply(self._content.ui("unknown_command", lang), self._menu_buttons(conversation))]


async def _first(reply: Reply, emit: Emit | None) -> list[Reply]:
    """Send `reply` right now when the channel can; otherwise it goes first in the returned list."""
    if emit is None:
        return [reply]
    await emit(reply)
    return []
