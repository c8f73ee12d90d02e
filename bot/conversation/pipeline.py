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
from datetime import UTC, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.content import AUDIENCES, LANGUAGES, SLOT_CHOICES, SLOTS, Content
from bot.conversation import privacy
from bot.conversation.flood import DEFAULT_LIMIT, DEFAULT_WINDOW, FloodGuard, Verdict
from bot.conversation.privacy import Retention
from bot.replies import Button, Reply, Sender
from bot.storage import cases
from bot.storage.cases import CaseReason, CaseStatus
from bot.storage.models import Case, Conversation, Database, utcnow
from bot.understanding import entities, language
from bot.understanding.topics import MENU_TOPICS, TOPIC_INTENT, topic_of
from bot.understanding.understander import Understander, Understanding
from handoff.desk import Desk, Outcome
from handoff.hours import AMSTERDAM
from safety.risk import RiskLevel

logger = logging.getLogger(__name__)

CHOOSE_AUDIENCE = "choose_audience"
CHAT = "chat"
HANDOFF_OFFER = "handoff_offer"
SAFETY_CHECK = "safety_check"
ASK = "ask"
"""The bot asked one follow-up question (a child's age, first visit, municipality) before an answer."""
# What a button for an age group stores: the middle of the group, as the user chose a group, not an age.
AGE_GROUP_AGES = {"under_4": 2, "4_8": 6, "8_12": 10, "teen": 14}
# Prison names matter for these topics only: the answer then says where that prison's own rules are.
PRISON_TOPICS = frozenset(("visit", "contact", "practical"))
FORGET_CONFIRM = "forget_confirm"

COMMANDS = ("start", "menu", "hulp", "privacy", "mijngegevens", "mydata", "vergeet", "forget", "stop", "help", "taal")
# Commands about the user's own data, answered without creating anything for a user the bot does not know yet.
PRIVACY_COMMANDS = {
    "privacy": "privacy",
    "mijngegevens": "mydata",
    "mydata": "mydata",
    "vergeet": "forget",
    "forget": "forget",
}
_WORDS = re.compile(r"[^\W_]+")
# A message has to be this clearly in the other language before the bot switches language by itself.
LANGUAGE_SWITCH_MARGIN = 2
# What a user wrote recently, kept in memory only, for a case card when the user agrees to share it.
RECENT_MESSAGES = 8
RECENT_SECONDS = 30 * 60
ACTIVITY_RESOLUTION = timedelta(hours=1)

Emit = Callable[[Reply], Awaitable[None]]
"""Sends one reply at once, before the pipeline is done (the crisis lines must not wait for the group)."""


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
        desk: Desk,
        retention: Retention | None = None,
        flood: FloodGuard | None = None,
    ) -> None:
        self._understander = understander
        self._flood = flood or FloodGuard(DEFAULT_LIMIT, DEFAULT_WINDOW)
        self._content = content
        self._database = database
        self.desk = desk
        self._yes = content.words("yes_words")
        self._no = content.words("no_words")
        self._skip_words = content.words("skip_words")
        self._recent: dict[str, deque[tuple[float, str]]] = {}
        self._skipped: set[tuple[str, str]] = set()
        """Follow-up questions a user chose to skip, so they are not asked again (memory only)."""
        self._retention = retention or Retention()

    # -- entry points ----------------------------------------------------------------------------------------

    async def text(
        self, sender: Sender, text: str, message_id: int | None = None, emit: Emit | None = None
    ) -> list[Reply]:
        """A typed message. With `emit`, an urgent reply is sent through it at once instead of being returned."""
        understanding = await self._understander.understand(text)
        return await self._understood(sender, text, message_id, understanding, emit)

    async def edited(self, sender: Sender, text: str, emit: Emit | None = None) -> list[Reply]:
        """An edit of an earlier message. It is not read as a new question, but the safety net reads it: danger
        gets the crisis lines as a new message would. During a handoff the user hears that edits are not passed
        on (the professional has the first version)."""
        understanding = await self._understander.understand(text)
        async with self._database.sessions() as session:
            conversation = await session.get(Conversation, sender.key)
            live = conversation is not None and await cases.latest(session, sender.key, cases.LIVE) is not None
            lang = conversation.language if conversation is not None else start_language(sender.language_code)
        replies: list[Reply] = []
        if understanding.risk is RiskLevel.ACUTE:
            replies = await self._understood(sender, text, None, understanding, emit)
        if live:
            replies.append(Reply(self._content.ui("edit_not_relayed", lang)))
        return replies

    async def _understood(
        self, sender: Sender, text: str, message_id: int | None, understanding: Understanding, emit: Emit | None
    ) -> list[Reply]:
        async with self._database.sessions.begin() as session:
            conversation, new = await self._conversation(session, sender)
            self._follow_language(conversation, text)
            live = await cases.latest(session, sender.key, cases.LIVE)
            if live is not None:  # never braked: every message of a handoff reaches the professional
                replies = await self._during_handoff(session, conversation, live, text, message_id, understanding, emit)
            else:
                self._remember(sender.key, text)
                braked = self._braked(sender.key, conversation, understanding.risk is RiskLevel.ACUTE)
                if braked is not None:
                    return braked
                replies = await self._on_text(session, conversation, sender, new, text, understanding, emit)
        self.desk.wake()  # a case opened in this unit of work is published now that it is committed
        return replies

    async def action(self, sender: Sender, action: str) -> list[Reply]:
        """A button press; `action` is the button's action string (untrusted: it comes back from the client)."""
        if action.startswith("forget:"):
            return await self._forget_answer(sender, action.partition(":")[2])
        async with self._database.sessions.begin() as session:
            conversation, _ = await self._conversation(session, sender)
            replies = await self._on_action(session, conversation, sender, action)
        self.desk.wake()
        return replies

    async def command(
        self, sender: Sender, command: str, argument: str = "", message_id: int | None = None, emit: Emit | None = None
    ) -> list[Reply]:
        """A slash command, without the slash. The safety net reads the words after it, and an unknown command's
        name too: "/hulp ik wil dood" and "/ik wil dood" get the crisis lines like any message would."""
        command = command.lower()
        said = f"{command} {argument}" if command not in COMMANDS else argument
        if _WORDS.search(said):
            understanding = await self._understander.understand(said)
            if understanding.risk is RiskLevel.ACUTE:
                return await self._understood(sender, said, message_id, understanding, emit)
        if command in PRIVACY_COMMANDS:
            return await self._privacy_command(sender, PRIVACY_COMMANDS[command])
        async with self._database.sessions.begin() as session:
            conversation, _ = await self._conversation(session, sender)
            return await self._on_command(session, conversation, sender, command)

    async def non_text(self, sender: Sender, message_id: int | None = None) -> list[Reply]:
        """A photo, voice message, sticker or anything else without text."""
        async with self._database.sessions.begin() as session:
            conversation, _ = await self._conversation(session, sender)
            live = await cases.latest(session, sender.key, cases.LIVE)
            if live is not None:
                await self.desk.from_user(session, live, None, message_id)
                return [Reply(self._content.ui("handoff_text_only", conversation.language))]
            braked = self._braked(sender.key, conversation, acute=False)
            if braked is not None:
                return braked
            return [Reply(self._content.ui("non_text", conversation.language), self._menu_buttons(conversation))]

    # -- state -----------------------------------------------------------------------------------------------

    async def _conversation(self, session: AsyncSession, sender: Sender) -> tuple[Conversation, bool]:
        conversation = await session.get(Conversation, sender.key)
        if conversation is not None:
            _touch(conversation)
            return conversation, False
        conversation = _new_conversation(sender)
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
        self._skipped -= {(key, slot) for slot in SLOTS}

    def _braked(self, key: str, conversation: Conversation, acute: bool) -> list[Reply] | None:
        """During a flood: the slow-down notice once, then nothing (None: answer as usual). Acute messages are
        counted but never braked."""
        verdict = self._flood.check(key)
        if acute or verdict is Verdict.ANSWER:
            return None
        if verdict is Verdict.NOTICE:
            return [Reply(self._content.ui("slow_down", conversation.language))]
        return []

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
        if conversation.step == ASK:
            replies = self._slot_reply(conversation, text, understanding)
            if replies is not None:
                return replies
        if conversation.step in (HANDOFF_OFFER, SAFETY_CHECK, ASK):
            conversation.step = CHAT
        self._notice(conversation, text, understanding)

        if not understanding.nlu_available:
            return [Reply(self._content.ui("nlu_down", conversation.language), self._menu_buttons(conversation))]
        if new and conversation.audience is None:
            if understanding.confidence >= self._understander.threshold and understanding.intent:
                conversation.pending_intent = understanding.intent
            return [self._welcome(conversation)]
        if understanding.confidence < self._understander.threshold:
            return [self._unsure(conversation, understanding)]

        conversation.step = CHAT
        replies = self._answer_intent(conversation, understanding.intent or "out_of_scope", text)
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
        reason = CaseReason.acute(category)
        if self.desk.live and sender.chat_id is not None:
            case = await cases.open_case(
                session, conversation.key, reason, CaseStatus.REQUESTED, conversation.audience, lang
            )
            return [*first, *await self._open_with_desk(session, conversation, sender, case)]
        await cases.open_case(session, conversation.key, reason, CaseStatus.OFFERED, conversation.audience, lang)
        offer = self._offer(conversation, "crisis_offer", str(reason))
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
        if case.status == CaseStatus.CLAIMED or not understanding.sure:
            return []
        if understanding.confidence < self._understander.threshold or understanding.intent in ("greet", "goodbye"):
            return []
        return self._answer_intent(conversation, understanding.intent or "out_of_scope", text, ask=False)

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

    def _answer_intent(
        self, conversation: Conversation, intent: str, message: str = "", *, ask: bool = True
    ) -> list[Reply]:
        """The answer to `intent` for this user, after one follow-up question if the answer depends on it
        (not while a professional is being asked: the question would cross the handoff)."""
        lang, audience = conversation.language, conversation.audience or "parent"
        if intent == "talk_to_human":
            text = self._content.answer(intent, audience, lang).text
            return [self._offer(conversation, None, "request", lead=text)]
        if not self._content.has_answer(intent):
            intent = "out_of_scope"
        question = self._content.ask(intent)
        if question is not None and audience in question.audiences:
            value = self._slot_choice(conversation, question.slot)
            if value is None and ask and (conversation.key, question.slot) not in self._skipped:
                return [self._ask(conversation, intent, question.slot)]
            if value is not None:
                intent = question.choose.get(value, intent)
        answer = self._content.answer(intent, audience, lang)
        parts = [self._retention.fill(answer.text) if intent == "privacy" else answer.text]
        named = entities.prison(message, self._content.prisons) if message else None
        if named is not None and topic_of(intent) in PRISON_TOPICS:
            parts.append(self._content.ui("prison_pointer", lang).format(prison=named.name))
        if answer.local_help:
            parts.append(self._local_help(conversation, audience))
        cards = self._content.cards(answer.organisations, audience, lang)
        if cards:
            parts.append(self._content.ui("cards_header", lang) + "\n" + "\n".join(cards))
        if conversation.safety_check:
            parts.append(self._content.ui("safety_footer", lang))
        if intent in ("greet", "out_of_scope"):
            buttons = self._menu_buttons(conversation)
        else:
            buttons = tuple(self._follow_up_button(target, lang) for target in answer.follow_up)
            buttons += (Button(self._content.button("menu", lang), "menu"),)
        return [Reply("\n\n".join(parts), buttons)]

    # -- follow-up questions ---------------------------------------------------------------------------------

    def _notice(self, conversation: Conversation, text: str, understanding: Understanding) -> None:
        """Remember what a message says in passing: a child's age, a first visit, where the user lives."""
        age = entities.child_age(text)
        if age is not None:
            conversation.child_age = age
        if understanding.topic == "visit":
            first = entities.first_visit(text)
            if first is not None:
                conversation.first_visit = first
        place = entities.municipality(text)
        if place is not None:
            conversation.municipality = place

    def _slot_choice(self, conversation: Conversation, slot: str) -> str | None:
        """What the conversation knows for `slot`, as a choice an answer's `ask.choose` uses."""
        if slot == "child_age":
            return None if conversation.child_age is None else entities.age_group(conversation.child_age)
        if slot == "first_visit":
            return None if conversation.first_visit is None else ("yes" if conversation.first_visit else "no")
        return conversation.municipality

    def _ask(self, conversation: Conversation, intent: str, slot: str) -> Reply:
        lang, audience = conversation.language, conversation.audience or "parent"
        conversation.step = ASK
        conversation.pending_intent = intent
        choices = tuple(
            Button(self._content.button(f"{slot}_{choice}", lang), f"slot:{slot}:{choice}")
            for choice in SLOT_CHOICES[slot]
        )
        skip = Button(self._content.button("skip", lang), f"slot:{slot}:skip")
        text = self._content.ui(f"ask_{slot}", lang, audience)
        if conversation.safety_check:
            text += "\n\n" + self._content.ui("safety_footer", lang)
        return Reply(text, (*choices, skip))

    def _slot_reply(self, conversation: Conversation, text: str, understanding: Understanding) -> list[Reply] | None:
        """A typed answer to the follow-up question; None when the message is about something else."""
        ask = self._content.ask(conversation.pending_intent or "")
        if ask is None:
            return None
        value: str | None = None
        if ask.slot == "child_age":
            age = entities.age_reply(text)
            if age is not None:
                conversation.child_age = age
                value = entities.age_group(age)
        elif ask.slot == "first_visit":
            first = entities.first_visit(text)
            if first is None:
                first = self._yes_no(text)
            if first is not None:
                value = "yes" if first else "no"
        elif (
            not understanding.sure
            or understanding.confidence < self._understander.threshold
            or (understanding.topic in ("out_of_scope", "greeting"))
        ):
            value = entities.municipality_reply(text)
        if value is None and self._skip(text):
            value = "skip"
        if value is None:
            return None
        return self._slot_answer(conversation, ask.slot, value)

    def _slot_answer(self, conversation: Conversation, slot: str, value: str) -> list[Reply]:
        """Store the answer to the follow-up question (or that it was skipped) and give the waiting answer."""
        if value == "skip":
            self._skipped.add((conversation.key, slot))
        elif slot == "child_age" and value in AGE_GROUP_AGES:
            if conversation.child_age is None or entities.age_group(conversation.child_age) != value:
                conversation.child_age = AGE_GROUP_AGES[value]
        elif slot == "first_visit":
            conversation.first_visit = value == "yes"
        elif slot == "municipality":
            conversation.municipality = value
        pending, conversation.pending_intent = conversation.pending_intent, None
        conversation.step = CHAT
        return self._answer_intent(conversation, pending or "out_of_scope")

    def _skip(self, text: str) -> bool:
        words = {word.casefold() for word in _WORDS.findall(text)}
        return bool(words & self._skip_words) and len(words) <= 5

    def _local_help(self, conversation: Conversation, audience: str) -> str:
        """Where to go in the user's municipality: local entries, else the sociaal wijkteam / CJG pointer."""
        lang, place = conversation.language, conversation.municipality
        if place is None:
            return self._content.ui("local_help_unknown", lang)
        text = self._content.ui("local_help", lang).format(municipality=place)
        local = [
            self._content.card(organisation, lang)
            for organisation in self._content.local_organisations(place)
            if audience in organisation.audiences
        ]
        return "\n".join([text, *local])

    def _follow_up_button(self, target: str, lang: str) -> Button:
        action = f"topic:{target}" if target in TOPIC_INTENT else f"answer:{target}"
        return Button(self._content.label(target, lang), action)

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
        reason = CaseReason.parse(conversation.offer_reason) if conversation.offer_reason else CaseReason.request()
        conversation.step = CHAT
        conversation.offer_reason = None
        offered = await cases.latest(session, conversation.key, (CaseStatus.OFFERED,))
        if yes and await cases.latest(session, conversation.key, cases.LIVE) is not None:
            return [Reply(self._content.ui("handoff_waiting", lang))]  # a second press, or an old button
        if yes:
            if offered is not None:
                case = offered
                await cases.set_status(case, CaseStatus.REQUESTED)
            else:
                case = await cases.open_case(
                    session, conversation.key, reason, CaseStatus.REQUESTED, conversation.audience, lang
                )
            return await self._open_with_desk(session, conversation, sender, case)
        if offered is not None:
            await cases.set_status(offered, CaseStatus.DECLINED)
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
            self._offer(conversation, "crisis_offer", str(CaseReason.acute("suicidal"))),
        ]

    async def _transcript_answer(self, session: AsyncSession, conversation: Conversation, yes: bool) -> list[Reply]:
        lang = conversation.language
        case = await cases.latest(session, conversation.key, cases.ACTIVE)
        if case is None:
            return [self._menu(conversation)]
        if yes:
            lines = self._recent_lines(conversation.key)
            await self.desk.share_transcript(session, case, lines)
            case.transcript_shared = case.transcript_shared or bool(lines)
        self.forget_recent(conversation.key)
        return [Reply(self._content.ui("transcript_shared" if yes else "transcript_kept", lang))]

    async def _park_answer(self, session: AsyncSession, conversation: Conversation, yes: bool) -> list[Reply]:
        lang = conversation.language
        case = await cases.latest(session, conversation.key, (CaseStatus.OUTSIDE_HOURS,))
        if case is None:
            return [self._menu(conversation)]
        if yes:
            await self.desk.park(session, case)
            return [Reply(self._content.ui("handoff_parked", lang))]
        await cases.set_status(case, CaseStatus.CLOSED)
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
        if kind == "answer" and self._content.has_answer(value) and value != "talk_to_human":
            conversation.step = CHAT
            return self._answer_intent(conversation, value)
        if kind == "slot":
            slot, _, choice = value.partition(":")
            if slot in SLOTS and (choice in SLOT_CHOICES[slot] or choice == "skip") and conversation.step == ASK:
                return self._slot_answer(conversation, slot, choice)
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
        live = await cases.latest(session, conversation.key, cases.ACTIVE)
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
        if command == "help":
            return [Reply(self._content.ui("help", lang), self._menu_buttons(conversation))]
        if command == "taal":
            return await self._on_action(session, conversation, sender, f"lang:{'en' if lang == 'nl' else 'nl'}")
        return [Reply(self._content.ui("unknown_command", lang), self._menu_buttons(conversation))]

    # -- the user's data: /privacy, /mijngegevens, /vergeet -------------------------------------------------------

    async def _privacy_command(self, sender: Sender, command: str) -> list[Reply]:
        """Answer a privacy command; for a user the bot does not know, nothing is stored by asking."""
        async with self._database.sessions.begin() as session:
            found = await privacy.stored(session, sender.key)
            conversation = found.conversation or _new_conversation(sender)
            lang = conversation.language
            if command == "privacy":
                return self._answer_intent(conversation, "privacy")
            if command == "mydata":
                text = privacy.render(self._content, found, lang, self._retention)
                return [Reply(text, self._menu_buttons(conversation) if found.conversation else ())]
            if found.empty:
                return [Reply(self._content.ui("forget_none", lang))]
            waiting = cases.ACTIVE
            live = self.desk.live and any(case.status in waiting for case in privacy.open_cases(found))
            return [self._forget_question(conversation, live)]

    def _forget_question(self, conversation: Conversation, live: bool) -> Reply:
        """Ask before deleting; only a yes to this question, while it is the open one, deletes anything."""
        lang = conversation.language
        conversation.step = FORGET_CONFIRM
        text = self._content.ui("forget_confirm", lang)
        if live:
            text += "\n\n" + self._content.ui("forget_confirm_live", lang)
        return Reply(text, self._yes_no_buttons("forget_yes", "forget_no", "forget", lang))

    async def _forget_answer(self, sender: Sender, value: str) -> list[Reply]:
        """The answer to "delete everything?". Safe to press late or twice: a yes deletes only while the question
        is open, and once everything is gone there is nothing left to delete."""
        async with self._database.sessions.begin() as session:
            conversation = await session.get(Conversation, sender.key)
            lang = conversation.language if conversation else start_language(sender.language_code)
            if value == "no":
                if conversation is not None and conversation.step == FORGET_CONFIRM:
                    conversation.step = CHAT
                return [Reply(self._content.ui("forget_kept", lang))]
            if conversation is None:
                return [Reply(self._content.ui("forget_none", lang))]
            if value != "yes" or conversation.step != FORGET_CONFIRM:
                return [Reply(self._content.ui("forget_expired", lang))]
            erased = await privacy.erase(session, sender.key, self.desk)
        self.forget_recent(sender.key)
        if erased is None:
            return [Reply(self._content.ui("forget_none", lang))]
        logger.info(
            "a user's data was deleted on request: %d cases (%d open), %d relayed-message records",
            erased.cases,
            erased.open_cases,
            erased.relayed,
        )
        after = self._content.ui("forget_done_group" if erased.published else "forget_done_chat", lang)
        return [Reply(self._content.ui("forget_done", lang) + "\n\n" + after)]


def _new_conversation(sender: Sender) -> Conversation:
    """The state of a user the bot has not met: no audience yet, in the language Telegram suggests."""
    return Conversation(
        key=sender.key,
        language=start_language(sender.language_code),
        audience=None,
        step=CHOOSE_AUDIENCE,
        safety_check=False,
        safety_declines=0,
    )


async def _first(reply: Reply, emit: Emit | None) -> list[Reply]:
    """Send `reply` right now when the channel can; otherwise it goes first in the returned list."""
    if emit is None:
        return [reply]
    await emit(reply)
    return []


def _touch(conversation: Conversation) -> None:
    """Mark the conversation as active (the retention purge counts inactivity from `updated_at`); at most once
    per ACTIVITY_RESOLUTION, so that reading a message costs no extra write."""
    now = utcnow()
    seen = conversation.updated_at
    if seen.tzinfo is None:  # SQLite hands back naive UTC
        seen = seen.replace(tzinfo=UTC)
    if now - seen > ACTIVITY_RESOLUTION:
        conversation.updated_at = now
