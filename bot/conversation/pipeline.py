"""The message pipeline, the same for every channel: crisis lines first, then one unit of work per message.

Channels (console, Telegram) turn what a user does into one of five calls — `text`, `edited`, `action` (a button),
`command` or `non_text` — and send the replies they get back. For every text the safety net reads it first; when it
finds acute danger the crisis lines go out at once, before the NLU service or the database is asked anything. Then
one unit of work: the user's state is loaded, the step they are in handles the message (`TEXT_STEPS`), and the
state is committed. When the NLU service or the database fails, the user still gets an answer: the crisis lines if
there was danger, otherwise a short, kind "I can't answer right now" with the numbers to call.

    channel -> safety net -> [crisis lines] -> NLU -> unit of work: state -> step handler -> answer -> channel
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.content import Content
from bot.conversation import actions, follow_up
from bot.conversation.actions import Action, Question
from bot.conversation.answers import Answers
from bot.conversation.crisis import Crisis, crisis_reply, send_first
from bot.conversation.flood import DEFAULT_LIMIT, DEFAULT_WINDOW, FloodGuard, Verdict
from bot.conversation.handoff_flow import HandoffFlow
from bot.conversation.privacy import Retention
from bot.conversation.referral import REFERRAL_INTENT, ReferralGuide
from bot.conversation.rights import PRIVACY_COMMANDS, DataRights, new_conversation, start_language
from bot.conversation.steps import Step
from bot.conversation.turn import Emit, Memory, Profiles, Turn
from bot.replies import Reply, Sender
from bot.storage import cases
from bot.storage.models import Conversation, Database, utcnow
from bot.understanding import language
from bot.understanding.topics import TOPIC_INTENT, topic_of
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
# A reply of at most this many words can answer a yes/no or "how are you now?" question; a longer message, or
# any question, is read as a message of its own ("moet ik 112 bellen? ik wil niet dat …" is not a "no").
SHORT_REPLY_WORDS = 4
# A message of at most this many words may lean on the one before ("en de oudste?", "and on a visit?").
FOLLOW_UP_WORDS = 8
# How long one unit of work may take before the user gets the kind "can't answer now" instead of silence.
TURN_TIMEOUT = 8.0

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
    ) -> None:
        self._understander = understander
        self._content = content
        self._database = database
        self.desk = desk
        self._flood = flood or FloodGuard(DEFAULT_LIMIT, DEFAULT_WINDOW)
        self.memory = Memory()
        self._memory = self.memory
        self._profiles = Profiles()
        retention = retention or Retention()
        self._answers = Answers(content, self._memory, retention)
        self._handoff = HandoffFlow(content, self._answers, desk, self._memory, understander.threshold)
        self._crisis = Crisis(content, self._answers, desk, self._handoff)
        self._referral = ReferralGuide(content, self._answers, understander.threshold)
        self._rights = DataRights(content, database, desk, self._answers, self._memory, self._profiles, retention)
        self._yes = content.words("yes_words")
        self._no = content.words("no_words")
        self._skip_words = content.words("skip_words")
        self._acknowledgements = content.words("acknowledgement_words")
        self._corrections = tuple(content.words("correction_phrases"))
        self._after_crisis_words = content.words("after_crisis_words")
        self.TEXT_STEPS: dict[Step, TextStep] = {
            Step.CHOOSE_AUDIENCE: self._before_role,
            Step.HANDOFF_OFFER: self._offer_reply,
            Step.SAFETY_CHECK: self._feeling_reply,
            Step.ASK: self._slot_reply,
            Step.REFERRAL: self._referral_reply,
            Step.FORGET_CONFIRM: self._chat,
            Step.CHAT: self._chat,
        }
        self._commands: dict[str, Callable[[Turn], Awaitable[list[Reply]]]] = {
            "start": self._cmd_start,
            "menu": self._cmd_menu,
            "hulp": self._cmd_help_person,
            "help": self._cmd_help,
            "taal": self._cmd_language,
            "stop": self._handoff.stop,
        }

    # -- the five entry points -------------------------------------------------------------------------------

    async def text(
        self, sender: Sender, text: str, message_id: int | None = None, emit: Emit | None = None
    ) -> list[Reply]:
        """A typed message. With `emit`, the crisis lines are sent through it at once instead of being returned."""
        assessment = self._understander.assess(text)
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
            async with self._database.sessions.begin() as session:
                conversation, _ = await self._conversation(session, sender)
                replies = await self._on_action(Turn(session, conversation, sender), action)
                self._profiles.remember(sender.key, conversation)
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
            async with self._database.sessions.begin() as session:
                conversation, _ = await self._conversation(session, sender)
                turn = Turn(session, conversation, sender)
                handler = self._commands.get(command, self._cmd_unknown)
                replies = await handler(turn)
                self._profiles.remember(sender.key, conversation)
        except Exception as error:
            return self._unavailable(sender, "", error, False)
        self.desk.wake()
        return replies

    async def non_text(self, sender: Sender, message_id: int | None = None) -> list[Reply]:
        """A photo, voice message, sticker or anything else without text."""
        try:
            async with self._database.sessions.begin() as session:
                conversation, _ = await self._conversation(session, sender)
                live = await cases.latest(session, sender.key, cases.LIVE)
                if live is not None:
                    await self.desk.from_user(session, live, None, message_id)
                    return [Reply(self._content.ui("handoff_text_only", conversation.language))]
                braked = self._braked(sender.key, conversation, acute=False)
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
        if assessment.level is not RiskLevel.ACUTE:
            return _First()
        profile = self._profiles.get(sender.key)
        lang = language.detect(text) or (profile.language if profile else start_language(sender.language_code))
        reply = crisis_reply(self._content, assessment.categories, profile.audience if profile else None, lang)
        if profile is not None and profile.alarm:  # again, right after the lines: say it more directly
            reply = Reply(self._content.ui("crisis_again", lang) + "\n\n" + reply.text, urgent=True)
        return _First(await send_first(reply, emit), sent=True)

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
        async with self._database.sessions.begin() as session:
            conversation, new = await self._conversation(session, sender)
            self._follow_language(conversation, text)
            turn = Turn(session, conversation, sender, text, understanding, message_id, emit, new, crisis_sent)
            live = await cases.latest(session, sender.key, cases.LIVE)
            if live is not None:  # never braked: every message of a handoff reaches the professional
                crisis = None
                if understanding.risk is RiskLevel.ACUTE and not crisis_sent:
                    crisis = crisis_reply(self._content, understanding.categories, conversation.audience, turn.language)
                replies = await self._handoff.during(turn, live, crisis)
            else:
                self._memory.remember(sender.key, text)
                braked = self._braked(sender.key, conversation, understanding.risk is RiskLevel.ACUTE)
                if braked is not None:
                    return braked
                replies = await self._dispatch(turn)
            self._profiles.remember(sender.key, conversation)
        self.desk.wake()  # a case opened in this unit of work is published now that it is committed
        return replies

    async def _dispatch(self, turn: Turn) -> list[Reply]:
        """Danger first; then the step the conversation is in reads the message; else it is an ordinary one."""
        understanding = turn.understanding
        assert understanding is not None
        if understanding.risk is RiskLevel.ACUTE:
            return await self._crisis.respond(turn, understanding.categories)
        if not _WORDS.search(turn.text):
            return [Reply(self._content.ui("emoji_only", turn.language), self._answers.menu_buttons(turn.conversation))]
        step = turn.step
        handled = await self.TEXT_STEPS[step](turn)
        if handled is not None:
            return handled
        turn.step = Step.CHAT
        return await self._chat(turn)

    async def _chat(self, turn: Turn) -> list[Reply]:
        """An ordinary message: understood and answered, with the offer of a person on serious distress."""
        understanding, conversation = turn.understanding, turn.conversation
        assert understanding is not None
        turn.step = Step.CHAT
        follow_up.notice(conversation, turn.text, understanding)
        if conversation.safety_check and self._is_correction(turn.text):
            return self._crisis.correction(turn)
        if self._is_acknowledgement(turn.text):
            return [self._answers.menu(conversation, "acknowledged")]
        if not understanding.nlu_available:
            return [self._answers.menu(conversation, "nlu_down")]
        if understanding.intent == "change_role":
            return [self._answers.role_buttons(conversation)]
        sure = understanding.confidence >= self._understander.threshold
        if conversation.safety_check and conversation.alarm and self._after_crisis_question(turn.text, understanding):
            return [self._crisis.after(turn)]
        intent = understanding.intent or "out_of_scope"
        in_context = self._in_context(turn, sure)
        if in_context is not None:
            intent = in_context
        elif not sure:
            return [self._answers.unsure(conversation, understanding.alternatives)]
        if intent == REFERRAL_INTENT:
            return self._referral.asked(turn)
        if intent == "talk_to_human" and not self._handoff.live:
            lead = self._content.answer(intent, turn.audience, turn.language).text
            return [self._handoff.reachable_now(turn, lead)]
        replies = self._answers.for_intent(turn, intent)
        if understanding.risk is RiskLevel.CONCERN and turn.step is not Step.HANDOFF_OFFER:
            replies.append(self._concern(turn, understanding.categories))
        return replies

    def _in_context(self, turn: Turn, sure: bool) -> str | None:
        """A short follow-up read against the last answer: "en de oudste?", "en mag mijn dochter mee?", "how".

        The model sees one message; a short one that leans on the one before is answered within the last topic,
        for the child now meant. None: the message stands on its own."""
        conversation, understanding = turn.conversation, turn.understanding
        assert understanding is not None
        last = conversation.last_answer
        if last is None or len(follow_up.words(turn.text)) > FOLLOW_UP_WORDS:
            return None
        topic = self._answers.topic(last)
        if sure and understanding.topic not in ("out_of_scope", "greeting", "goodbye", topic):
            return None  # clearly about something else: it stands on its own
        if follow_up.focus(conversation, turn.text) and topic == "explain_to_child":
            return "explain_to_child"
        if sure:
            return None
        # Within the last topic, the likeliest other question: a different angle, not the same answer again.
        in_topic = [name for name, score in understanding.ranking if topic_of(name) == topic and name != last]
        if in_topic:
            return in_topic[0]
        return TOPIC_INTENT.get(topic) if topic in TOPIC_INTENT and TOPIC_INTENT[topic] != last else None

    def _after_crisis_question(self, text: str, understanding: Understanding) -> bool:
        """After the crisis lines, a question about what to do now ("moet ik 112 bellen?", "wie moet ik bellen",
        "hes not here now") is answered for that danger, not read as a new topic or a no."""
        if set(follow_up.words(text)) & self._after_crisis_words:
            return True
        weak = understanding.confidence < self._understander.threshold
        return weak or understanding.topic in ("talk_to_human", "out_of_scope", "feelings", "goodbye", "greeting")

    def _concern(self, turn: Turn, categories: tuple[str, ...]) -> Reply:
        """Serious distress short of danger: a person offered when one can come, else who can help."""
        if not self._handoff.live:
            return Reply(self._content.ui("concern_no_desk", turn.language, turn.audience))
        reason = f"concern:{categories[0] if categories else 'not_coping'}"
        key = "concern_offer_professional" if turn.conversation.audience == "professional" else "concern_offer"
        return self._answers.offer(turn.conversation, key, reason)

    async def _before_role(self, turn: Turn) -> list[Reply] | None:
        """A message before the user chose a role: the first gets the welcome (its question is answered after
        the choice); later ones are answered, with the role buttons again."""
        understanding, conversation = turn.understanding, turn.conversation
        assert understanding is not None
        sure = understanding.sure and understanding.confidence >= self._understander.threshold
        if turn.new or not sure or understanding.topic in ("greeting", "out_of_scope"):
            if sure and understanding.intent and understanding.topic not in ("greeting", "goodbye"):
                conversation.pending_intent = understanding.intent
            return [self._answers.welcome(conversation)]
        replies = await self._chat(turn)
        turn.step = Step.CHOOSE_AUDIENCE
        return [*replies, self._answers.role_buttons(conversation, "choose_role_reminder")]

    async def _offer_reply(self, turn: Turn) -> list[Reply] | None:
        answer = self._yes_no(turn.text)
        return None if answer is None else await self._handoff.answer(turn, answer)

    async def _feeling_reply(self, turn: Turn) -> list[Reply] | None:
        if self._is_correction(turn.text):
            return self._crisis.correction(turn)
        feeling = self._feeling(turn.text)
        return None if feeling is None else self._crisis.feeling(turn, feeling)

    async def _slot_reply(self, turn: Turn) -> list[Reply] | None:
        """A typed answer to the follow-up question; None when the message is about something else."""
        conversation, understanding = turn.conversation, turn.understanding
        assert understanding is not None
        ask = self._content.ask(conversation.pending_intent or "")
        if ask is None:
            return None
        value = follow_up.typed_reply(
            ask.slot,
            turn.text,
            understanding,
            self._understander.threshold,
            self._yes_no(turn.text),
            self._skip(turn.text),
        )
        if value is None:
            return None
        return self._slot_answer(turn, ask.slot, value)

    async def _referral_reply(self, turn: Turn) -> list[Reply] | None:
        """A reply to the referral guide's question; a message about something else leaves the guide, kindly."""
        replies = self._referral.typed(turn, self._skip(turn.text))
        return replies if replies is not None else [self._referral.leave(turn), *await self._chat(turn)]

    def _slot_answer(self, turn: Turn, slot: str, value: str) -> list[Reply]:
        """Store the answer to the follow-up question (or that it was skipped) and give the waiting answer."""
        conversation = turn.conversation
        if value == "skip":
            self._memory.skipped.add((conversation.key, slot))
        else:
            follow_up.store(conversation, slot, value, turn.text)
        pending, conversation.pending_intent = conversation.pending_intent, None
        turn.step = Step.CHAT
        return self._answers.for_intent(turn, pending or "out_of_scope")

    # -- reading short replies -------------------------------------------------------------------------------

    def _short(self, text: str) -> list[str] | None:
        """The words of a short reply that may answer a question; None for a question or a longer message."""
        if "?" in text:
            return None
        words = follow_up.words(text)
        return words if 0 < len(words) <= SHORT_REPLY_WORDS else None

    def _yes_no(self, text: str) -> bool | None:
        """Yes or no, from a short reply only; its first word decides ("nee, ik ben oké")."""
        words = self._short(text)
        if not words:
            return None
        for word in words[:1] + words:
            if word in self._no:
                return False
            if word in self._yes:
                return True
        return None

    def _feeling(self, text: str) -> bool | None:
        """After "how are you now?": True for okay, False for not okay, None for anything else."""
        words = self._short(text)
        if not words:
            return None
        said = set(words)
        if said & {"slecht", "rot", "kut", "bad", "terrible", "awful"} or (
            said & {"niet", "not", "geen"} and said & {"goed", "oke", "ok", "okay", "good", "fine", "lekker"}
        ):
            return False
        if said & {"goed", "prima", "beter", "oke", "ok", "okay", "fine", "good", "better", "gaat", "wel"}:
            return True
        return None

    def _skip(self, text: str) -> bool:
        words = set(follow_up.words(text))
        return bool(words & self._skip_words) and len(words) <= 5

    def _is_acknowledgement(self, text: str) -> bool:
        """ "ok", "nice", "top", "thx": a nod, not a goodbye."""
        words = self._short(text)
        return bool(words) and all(word in self._acknowledgements for word in words or ())

    def _is_correction(self, text: str) -> bool:
        """ "Nee, niet letterlijk", "no it's not like that": the alarm was a misunderstanding."""
        folded = " ".join(follow_up.words(text))
        return any(phrase in folded for phrase in self._corrections)

    # -- buttons ---------------------------------------------------------------------------------------------

    async def _on_action(self, turn: Turn, action: Action | None) -> list[Reply]:
        conversation = turn.conversation
        match action:
            case actions.ChooseAudience(audience):
                conversation.audience = audience
                turn.step = Step.CHAT
                pending, conversation.pending_intent = conversation.pending_intent, None
                if pending:
                    return self._answers.for_intent(turn, pending)
                return [
                    Reply(
                        self._content.ui("audience_chosen", turn.language, audience),
                        self._answers.menu_buttons(conversation),
                    )
                ]
            case actions.SetLanguage(lang):
                conversation.language = lang
                if conversation.audience is None:
                    return [self._answers.welcome(conversation)]
                return [Reply(self._content.ui("language_set", lang)), self._answers.menu(conversation)]
            case actions.ShowTopic(topic) if topic in TOPIC_INTENT:
                turn.step = Step.CHAT
                return self._answers.for_intent(turn, TOPIC_INTENT[topic])
            case actions.ShowAnswer(intent) if self._content.has_answer(intent) and intent != "talk_to_human":
                turn.step = Step.CHAT
                return self._answers.for_intent(turn, intent)
            case actions.AnswerSlot(slot, choice) if turn.step is Step.ASK:
                return self._slot_answer(turn, slot, choice)
            case actions.Reply(Question.HANDOFF, yes):
                return await self._handoff.answer(turn, yes)
            case actions.Reply(Question.TRANSCRIPT, yes):
                return await self._handoff.transcript(turn, yes)
            case actions.Reply(Question.PARK, yes):
                return await self._handoff.park(turn, yes)
            case actions.StartReferral() if conversation.audience == "professional":
                return [self._referral.start(turn)]
            case actions.ReferralChoice(question, choice) if turn.step is Step.REFERRAL:
                return self._referral.choose(turn, question, choice)
            case actions.Feeling(okay):
                return self._crisis.feeling(turn, okay)
            case actions.ShowMenu():
                turn.step = Step.CHAT
                return [self._answers.menu(conversation)]
        logger.info("ignored an unknown or stale button action")
        return [self._answers.menu(conversation)]

    # -- commands --------------------------------------------------------------------------------------------

    async def _cmd_start(self, turn: Turn) -> list[Reply]:
        turn.conversation.pending_intent = None
        return [self._answers.welcome(turn.conversation)]

    async def _cmd_menu(self, turn: Turn) -> list[Reply]:
        turn.step = Step.CHAT
        return [self._answers.menu(turn.conversation)]

    async def _cmd_help_person(self, turn: Turn) -> list[Reply]:
        if await cases.latest(turn.session, turn.conversation.key, (*cases.LIVE, cases.PARKED)) is not None:
            return [Reply(self._content.ui("handoff_waiting", turn.language))]
        if not self._handoff.live:
            lead = self._content.answer("talk_to_human", turn.audience, turn.language).text
            return [self._handoff.reachable_now(turn, lead)]
        return self._answers.for_intent(turn, "talk_to_human")

    async def _cmd_help(self, turn: Turn) -> list[Reply]:
        return [self._answers.menu(turn.conversation, "help")]

    async def _cmd_language(self, turn: Turn) -> list[Reply]:
        other = "en" if turn.language == "nl" else "nl"
        return await self._on_action(turn, actions.SetLanguage(other))

    async def _cmd_unknown(self, turn: Turn) -> list[Reply]:
        return [self._answers.menu(turn.conversation, "unknown_command")]

    # -- state -----------------------------------------------------------------------------------------------

    async def _conversation(self, session: AsyncSession, sender: Sender) -> tuple[Conversation, bool]:
        conversation = await session.get(Conversation, sender.key)
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

    def _braked(self, key: str, conversation: Conversation, acute: bool) -> list[Reply] | None:
        """During a flood: the slow-down notice once, then nothing (None: answer as usual). Acute messages are
        counted but never braked."""
        verdict = self._flood.check(key)
        if acute or verdict is Verdict.ANSWER:
            return None
        if verdict is Verdict.NOTICE:
            return [Reply(self._content.ui("slow_down", conversation.language))]
        return []

    def forget_recent(self, key: str) -> None:
        self._memory.forget(key)


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
