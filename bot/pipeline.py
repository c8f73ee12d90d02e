"""The message pipeline, the same for every channel: safety net, NLU, answer, follow-up buttons.

Channels (console, Telegram) turn what a user does into one of four calls — `text`, `action` (a button),
`command` or `non_text` — and render the replies they get back. All conversation state lives in the database
under a pseudonymous key, so a channel keeps nothing of its own that matters.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot import language
from bot.content import AUDIENCES, LANGUAGES, Content
from bot.storage import Conversation, Database
from bot.topics import MENU_TOPICS, TOPIC_INTENT
from bot.understanding import Understander, Understanding
from handoff import cases
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


@dataclass(frozen=True)
class Button:
    label: str
    action: str


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()


def start_language(language_code: str | None) -> str:
    """The language a new conversation starts in, from Telegram's language code (Dutch first)."""
    if language_code is None or language_code.lower().startswith("nl"):
        return "nl"
    return "en"


class Pipeline:
    def __init__(
        self,
        understander: Understander,
        content: Content,
        database: Database,
        desk: cases.Desk,
    ) -> None:
        self._understander = understander
        self._content = content
        self._database = database
        self._desk = desk
        self._yes = content.words("yes_words")
        self._no = content.words("no_words")

    # -- entry points ----------------------------------------------------------------------------------------

    async def text(self, key: str, text: str, language_code: str | None = None) -> list[Reply]:
        """A typed message."""
        understanding = await self._understander.understand(text)
        async with self._database.sessions.begin() as session:
            conversation, new = await self._conversation(session, key, language_code)
            self._follow_language(conversation, text)
            return await self._on_text(session, conversation, new, text, understanding)

    async def action(self, key: str, action: str, language_code: str | None = None) -> list[Reply]:
        """A button press; `action` is the button's action string (untrusted: it comes back from the client)."""
        async with self._database.sessions.begin() as session:
            conversation, _ = await self._conversation(session, key, language_code)
            return await self._on_action(session, conversation, action)

    async def command(self, key: str, command: str, language_code: str | None = None) -> list[Reply]:
        """A slash command, without the slash."""
        async with self._database.sessions.begin() as session:
            conversation, _ = await self._conversation(session, key, language_code)
            return await self._on_command(session, conversation, command.lower())

    async def non_text(self, key: str, language_code: str | None = None) -> list[Reply]:
        """A photo, voice message, sticker or anything else without text."""
        async with self._database.sessions.begin() as session:
            conversation, _ = await self._conversation(session, key, language_code)
            return [Reply(self._content.ui("non_text", conversation.language), self._menu_buttons(conversation))]

    # -- state -----------------------------------------------------------------------------------------------

    async def _conversation(
        self, session: AsyncSession, key: str, language_code: str | None
    ) -> tuple[Conversation, bool]:
        conversation = await session.get(Conversation, key)
        if conversation is not None:
            return conversation, False
        conversation = Conversation(
            key=key,
            language=start_language(language_code),
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

    # -- text ------------------------------------------------------------------------------------------------

    async def _on_text(
        self,
        session: AsyncSession,
        conversation: Conversation,
        new: bool,
        text: str,
        understanding: Understanding,
    ) -> list[Reply]:
        if understanding.risk is RiskLevel.ACUTE:
            return await self._crisis(session, conversation, understanding)
        if not _WORDS.search(text):
            return [Reply(self._content.ui("emoji_only", conversation.language), self._menu_buttons(conversation))]

        if conversation.step == HANDOFF_OFFER:
            answer = self._yes_no(text)
            if answer is not None:
                return await self._on_action(session, conversation, f"handoff:{'yes' if answer else 'no'}")
        if conversation.step == SAFETY_CHECK:
            feeling = self._feeling(text)
            if feeling is not None:
                return await self._on_action(session, conversation, f"safe:{'ok' if feeling else 'notok'}")
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
        replies = await self._answer_intent(session, conversation, understanding.intent or "out_of_scope")
        if understanding.risk is RiskLevel.CONCERN and conversation.step != HANDOFF_OFFER:
            replies.append(self._offer(conversation, "concern_offer", f"concern:{understanding.categories[0]}"))
        return replies

    async def _crisis(
        self, session: AsyncSession, conversation: Conversation, understanding: Understanding
    ) -> list[Reply]:
        """Crisis lines first, in the very first reply; then the offer of a professional."""
        audience = conversation.audience or "youth"  # unknown audience: include the youth line too
        lang = conversation.language
        if understanding.language is not None:
            lang = conversation.language = understanding.language
        category = understanding.categories[0] if understanding.categories else "suicidal"
        await cases.open_case(session, conversation.key, f"acute:{category}", "acute", cases.OFFERED)
        conversation.safety_check = True
        conversation.safety_declines = 0
        conversation.pending_intent = None
        conversation.step = HANDOFF_OFFER
        conversation.offer_reason = f"acute:{category}"
        return [
            Reply(self._content.crisis_lines(understanding.categories, audience, lang)),
            Reply(
                self._content.ui("crisis_offer", lang),
                (
                    Button(self._content.button("yes_handoff", lang), "handoff:yes"),
                    Button(self._content.button("no_handoff", lang), "handoff:no"),
                ),
            ),
        ]

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

    async def _answer_intent(self, session: AsyncSession, conversation: Conversation, intent: str) -> list[Reply]:
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
            f"{lead}\n\n{text}" if lead else text,
            (
                Button(self._content.button("yes_handoff", lang), "handoff:yes"),
                Button(self._content.button("no_handoff", lang), "handoff:no"),
            ),
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
        topics = MENU_TOPICS
        if conversation.audience == "professional":
            topics = ("for_professionals", *topics)
        return tuple(self._topic_button(topic, conversation.language) for topic in topics)

    def _menu(self, conversation: Conversation) -> Reply:
        return Reply(self._content.ui("menu", conversation.language), self._menu_buttons(conversation))

    # -- buttons ---------------------------------------------------------------------------------------------

    async def _on_action(self, session: AsyncSession, conversation: Conversation, action: str) -> list[Reply]:
        kind, _, value = action.partition(":")
        lang = conversation.language
        if kind == "aud" and value in AUDIENCES:
            conversation.audience = value
            conversation.step = CHAT
            pending, conversation.pending_intent = conversation.pending_intent, None
            if pending:
                return await self._answer_intent(session, conversation, pending)
            return [Reply(self._content.ui("audience_chosen", lang, value), self._menu_buttons(conversation))]
        if kind == "lang" and value in LANGUAGES:
            conversation.language = value
            if conversation.audience is None:
                return [self._welcome(conversation)]
            return [Reply(self._content.ui("language_set", value)), self._menu(conversation)]
        if kind == "topic" and value in TOPIC_INTENT:
            conversation.step = CHAT
            return await self._answer_intent(session, conversation, TOPIC_INTENT[value])
        if kind == "handoff" and value in ("yes", "no"):
            return await self._handoff_answer(session, conversation, value == "yes")
        if kind == "safe" and value in ("ok", "notok"):
            return self._safety_answer(conversation, value == "ok")
        if action == "menu":
            conversation.step = CHAT
            return [self._menu(conversation)]
        logger.info("ignored an unknown button action")
        return [self._menu(conversation)]

    async def _handoff_answer(self, session: AsyncSession, conversation: Conversation, yes: bool) -> list[Reply]:
        lang, audience = conversation.language, conversation.audience or "youth"
        reason = conversation.offer_reason or "request"
        conversation.step = CHAT
        conversation.offer_reason = None
        offered = await cases.latest_offered(session, conversation.key)
        if yes:
            if offered is not None:
                case = offered
                await cases.set_status(case, cases.REQUESTED)
            else:
                risk = reason.partition(":")[0] if ":" in reason else "none"
                case = await cases.open_case(session, conversation.key, reason, risk, cases.REQUESTED)
            alerted = await self._desk.request(case)
            if alerted:  # the live desk (handoff issue) will tell the user a professional was asked
                return []
            text = (
                self._content.ui("handoff_requested", lang) + "\n\n" + self._content.ui("handoff_lines", lang, audience)
            )
            return [Reply(text, (Button(self._content.button("menu", lang), "menu"),))]
        if offered is not None:
            await cases.set_status(offered, cases.DECLINED)
        if conversation.safety_check:
            # A single "no" does not end the safety check: the lines stay offered and the bot checks in.
            conversation.step = SAFETY_CHECK
            return [
                Reply(
                    self._content.ui("safety_check", lang),
                    (
                        Button(self._content.button("safe_ok", lang), "safe:ok"),
                        Button(self._content.button("safe_not_ok", lang), "safe:notok"),
                    ),
                )
            ]
        return [Reply(self._content.ui("handoff_declined", lang), self._menu_buttons(conversation))]

    def _safety_answer(self, conversation: Conversation, okay: bool) -> list[Reply]:
        lang = conversation.language
        if okay:
            conversation.safety_declines += 1
            conversation.step = CHAT
            return [Reply(self._content.ui("safety_check_again", lang), self._menu_buttons(conversation))]
        category = "suicidal"
        audience = conversation.audience or "youth"
        conversation.step = HANDOFF_OFFER
        conversation.offer_reason = f"acute:{category}"
        return [
            Reply(self._content.crisis_lines((category,), audience, lang)),
            self._offer(conversation, "crisis_offer", f"acute:{category}"),
        ]

    # -- commands --------------------------------------------------------------------------------------------

    async def _on_command(self, session: AsyncSession, conversation: Conversation, command: str) -> list[Reply]:
        lang = conversation.language
        if command == "start":
            conversation.pending_intent = None
            return [self._welcome(conversation)]
        if command == "menu":
            conversation.step = CHAT
            return [self._menu(conversation)]
        if command == "hulp":
            return await self._answer_intent(session, conversation, "talk_to_human")
        if command == "privacy":
            return await self._answer_intent(session, conversation, "privacy")
        if command == "help":
            return [Reply(self._content.ui("help", lang), self._menu_buttons(conversation))]
        if command == "taal":
            return await self._on_action(session, conversation, f"lang:{'en' if lang == 'nl' else 'nl'}")
        if command == "stop":
            conversation.step = CHAT
            conversation.offer_reason = None
            return [Reply(self._content.ui("stopped", lang))]
        return [Reply(self._content.ui("unknown_command", lang), self._menu_buttons(conversation))]
