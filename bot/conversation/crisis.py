"""Danger: the crisis lines first, then a professional; and the check-in after them.

The lines themselves are sent by the pipeline before the unit of work (see `Pipeline.text`); what happens here is
what the conversation does next: a case for a professional, the offer or the honest "nobody can come now", and the
check-in that reads only short, clear replies.
"""

from __future__ import annotations

from bot.content import FAMILY_FALLBACK, SUICIDE_CATEGORIES, Content
from bot.conversation import actions, follow_up
from bot.conversation.answers import Answers
from bot.conversation.handoff_flow import HandoffFlow
from bot.conversation.steps import Step
from bot.conversation.turn import Emit, Turn
from bot.insights.recorder import Recorder
from bot.replies import Button, Reply
from bot.storage import cases
from bot.storage.cases import CaseReason, CaseStatus
from bot.storage.models import Conversation
from handoff.desk import Desk
from safety.risk import RiskLevel

SUICIDE_FAMILY = SUICIDE_CATEGORIES  # the dangers whose lines are 113's
AFTER_CRISIS = "after_crisis"
"""Stored as the last answer when the bot said who to call after the crisis lines."""
ALARM_CORRECTED = "alarm_corrected"
"""Stored as the last answer after "nee, niet letterlijk": no answer to lean on, but the conversation goes on."""
AGAIN = ("crisis_again", "crisis_again_more")
"""The more direct lines said before the crisis lines when danger comes again right after them, in turn (ui.yml),
stored as the last answer: the same block is never sent twice in a row."""


def again_key(last_answer: str | None) -> str:
    """Which direct line goes before the lines this time: the other one than last time."""
    return AGAIN[1] if last_answer == AGAIN[0] else AGAIN[0]


def again_reply(
    content: Content, categories: tuple[str, ...], audience: str | None, lang: str, key: str, about: str | None = None
) -> Reply:
    """The crisis lines once more, after a short, more direct line (a repeat is never the same block)."""
    lines = crisis_reply(content, categories, audience, lang, about)
    return Reply(content.ui(key, lang) + "\n\n" + lines.text, urgent=True)


def crisis_reply(
    content: Content, categories: tuple[str, ...], audience: str | None, language: str, about: str | None = None
) -> Reply:
    """The crisis lines for the risk and the audience; for a user whose role is not known, the lines for everyone.
    `about`: whose danger it is when not the writer's own (see `alarm_about`)."""
    return Reply(content.crisis_lines(categories or ("suicidal",), audience, language, about), urgent=True)


def alarm_about(categories: tuple[str, ...], subject: str) -> str | None:
    """Whose self-harm or suicidal danger it is, when not the writer's own ("child", "other"); None otherwise."""
    return subject if subject != "self" and categories and set(categories) <= SUICIDE_FAMILY else None


async def send_first(reply: Reply, emit: Emit | None) -> list[Reply]:
    """Send `reply` right now when the channel can; otherwise it goes first in the returned list."""
    if emit is None:
        return [reply]
    await emit(reply)
    return []


class Crisis:
    def __init__(
        self, content: Content, answers: Answers, desk: Desk, handoff: HandoffFlow, recorder: Recorder
    ) -> None:
        self._recorder = recorder
        self._content = content
        self._answers = answers
        self._desk = desk
        self._handoff = handoff

    async def respond(self, turn: Turn, categories: tuple[str, ...]) -> list[Reply]:
        """The crisis lines (unless already sent), then a professional: asked at once when one can come,
        otherwise offered, or — without a professionals' group — who can be reached now."""
        conversation = turn.conversation
        category = categories[0] if categories else "suicidal"
        again = bool(conversation.safety_check)  # danger again right after the lines: shorter, never the same
        key = again_key(conversation.last_answer)
        conversation.safety_check = True
        conversation.safety_declines = 0
        conversation.alarm = category
        if turn.understanding is not None and turn.understanding.risk is RiskLevel.ACUTE:
            # the message that raised it says whose danger it is ("ja" to the check question keeps what was said)
            conversation.alarm_about = alarm_about(categories, turn.understanding.subject)
        about = conversation.alarm_about
        await self._recorder.crisis(turn.session, category, conversation.audience, turn.language)
        conversation.pending_intent = None
        replies: list[Reply] = []
        if not turn.crisis_sent:
            if again:
                lines = again_reply(self._content, categories, conversation.audience, turn.language, key, about)
            else:
                lines = crisis_reply(self._content, categories, conversation.audience, turn.language, about)
            replies = await send_first(lines, turn.emit)
        conversation.last_answer = key if again else None
        if again and not self._desk.live:
            turn.step = Step.SAFETY_CHECK
            closing = self._content.ui("crisis_no_desk_again", turn.language)
            return [*replies, Reply(closing, self.feeling_buttons(turn.language))]
        reason = CaseReason.acute(category)
        if self._desk.live and turn.sender.chat_id is not None:
            case = await cases.open_case(
                turn.session, conversation.key, reason, CaseStatus.REQUESTED, conversation.audience, turn.language
            )
            return [*replies, *await self._handoff.open_with_desk(turn, case)]
        if not self._desk.live:
            turn.step = Step.SAFETY_CHECK
            return [*replies, self._reachable_now(turn)]
        await cases.open_case(
            turn.session, conversation.key, reason, CaseStatus.OFFERED, conversation.audience, turn.language
        )
        return [*replies, self._answers.offer(conversation, "crisis_offer", str(reason))]

    def confirm(self, turn: Turn, categories: tuple[str, ...]) -> list[Reply]:
        """An unclear signal ("ik wil dood lol", a lone "in mn arm"): the lines shown quietly, and one gentle
        question; the user's answer decides, not a guess."""
        conversation = turn.conversation
        category = categories[0] if categories else "suicidal"
        conversation.alarm = category
        if turn.understanding is not None:  # never the last alarm's: whose danger this one is
            conversation.alarm_about = alarm_about(categories, turn.understanding.subject)
        turn.step = Step.CONFIRM_RISK
        # Unclear whether a self-harm signal is meant, or whether it hides violence at home: the 113 lines and the
        # Veilig Thuis lines. A signal of violence or an unsafe child asks about that danger and gives its lines
        # (112, Veilig Thuis, for a young person the Kindertelefoon), never 113.
        family = "violence" if category in ("violence", "child_unsafe") else "self"
        every = (category, "violence") if family == "self" else (category,)
        lines = self._content.crisis_lines(every, conversation.audience, turn.language).split("\n\n", 1)[-1]
        question = self._content.ui(f"confirm_risk_{family}", turn.language)
        buttons = (
            Button(self._content.button("meant_yes", turn.language), actions.Reply(actions.Question.MEANT, True).data),
            Button(self._content.button("meant_no", turn.language), actions.Reply(actions.Question.MEANT, False).data),
        )
        return [Reply(f"{question}\n\n{lines}", buttons)]

    async def confirmed(self, turn: Turn, meant: bool) -> list[Reply]:
        """The answer to the check question: yes is the full crisis path (the lines are already there), no ends it."""
        category = turn.conversation.alarm or "suicidal"
        if meant:
            turn.crisis_sent = True
            return await self.respond(turn, (category,))
        return self.correction(turn)

    def _reachable_now(self, turn: Turn) -> Reply:
        """No professionals' group: no promise of a person; who can be reached now, and a gentle check-in."""
        lang = turn.language
        text = self._content.ui("crisis_no_desk", lang, turn.conversation.audience)
        return Reply(text, self.feeling_buttons(lang))

    def feeling_buttons(self, lang: str) -> tuple[Button, ...]:
        return (
            Button(self._content.button("safe_ok", lang), actions.Feeling(True).data),
            Button(self._content.button("safe_not_ok", lang), actions.Feeling(False).data),
        )

    def feeling(self, turn: Turn, okay: bool) -> list[Reply]:
        """The answer to "how are you now?"."""
        conversation, lang = turn.conversation, turn.language
        if okay:
            conversation.safety_declines += 1
            turn.step = Step.CHAT
            return [Reply(self._content.ui("safety_check_again", lang), self._answers.menu_buttons(conversation))]
        category = conversation.alarm or "suicidal"
        lines = crisis_reply(self._content, (category,), conversation.audience, lang)
        if not self._desk.live:
            return [
                lines,
                Reply(self._content.ui("crisis_no_desk_again", lang), self._answers.menu_buttons(conversation)),
            ]
        return [lines, self._answers.offer(conversation, "crisis_offer", str(CaseReason.acute(category)))]

    def after(self, turn: Turn) -> Reply:
        """A question right after the crisis lines, answered for this danger and this user: who to call now
        ("moet ik 112 bellen?"), what comes after the call or the danger ("112 gebeld, wat nu"), what Veilig Thuis
        does, or how to get help when nobody may know. The violence lines after violence, 113 after suicide.
        After the quiet lines too ("bellen gaat niet, ik zit met de ploeg in het busje"): who speaks of the danger
        has not said no, so from here the bot checks in on it, as after the full lines (the footer, a nod's lines)."""
        conversation, lang = turn.conversation, turn.language
        conversation.safety_check = True
        kind = self.after_kind(turn.text)
        family = self._line_named(turn.text, _family(conversation.alarm, conversation.alarm_about))
        key = f"{AFTER_CRISIS}_{kind}"
        text = self._content.crisis_after(kind, family, conversation.audience, lang)
        if text is None:
            legacy = "after_crisis_violence" if family in ("violence", "child") else "after_crisis_suicide"
            text = self._content.ui(legacy, lang, conversation.audience)
        if conversation.last_answer == key:  # said just now: a short check-in, not the same text again
            text = self._content.ui("check_in", lang)
        conversation.last_answer = key
        if conversation.audience == "professional" or family == "someone":
            return Reply(text)  # the danger was someone else's: no "how are you?" buttons
        return Reply(text, self.feeling_buttons(lang))

    def check_in(self, turn: Turn) -> Reply:
        """Right after the lines, a message only the topic model reads as danger ("not tonight, I promise"): a short
        check-in with the key numbers for this danger, not the whole block again."""
        turn.step = Step.SAFETY_CHECK
        turn.conversation.last_answer = None
        text = self._content.ui(f"crisis_check_in_{_check_in_family(turn.conversation)}", turn.language)
        return Reply(text, self.feeling_buttons(turn.language))

    def taken_back(self, turn: Turn) -> Reply:
        """ "Forget I said that" after the lines or the check question: the alarm stays; a kind word that it was good
        to say, then the short check-in for this danger, which names its lines again and asks how one is doing now;
        after the check question too, the bot checks in from here (taken back is not a no)."""
        turn.step = Step.SAFETY_CHECK
        turn.conversation.safety_check = True
        turn.conversation.last_answer = None
        lead = self._content.ui("alarm_taken_back", turn.language)
        check_in = self._content.ui(f"crisis_check_in_{_check_in_family(turn.conversation)}", turn.language)
        return Reply(f"{lead} {check_in}", self.feeling_buttons(turn.language))

    def _line_named(self, text: str, family: str) -> str:
        """The family of danger a question after the lines is about: the alarm's, unless the question names the line
        of another family ("als ik 113 bel, bellen ze dan mn moeder?" after lines read as a child's danger)."""
        said = follow_up.words(text)
        for named, words in self._content.crisis_named_lines():
            if follow_up.says_any(said, words) and FAMILY_FALLBACK.get(family, family) != named:
                return named
        return family

    def after_kind(self, text: str) -> str:
        """Which question after the crisis lines this is (crisis.yml `after`): the first kind whose phrase occurs,
        else "ask" (who to call now)."""
        said = follow_up.words(text)
        for kind, phrases in self._content.crisis_after_kinds():
            if follow_up.says_any(said, phrases):
                return kind
        return "ask"

    def correction(self, turn: Turn) -> list[Reply]:
        """ "Nee, niet letterlijk": the alarm ends; the lines stay above in the chat, the footer goes."""
        conversation = turn.conversation
        conversation.safety_check = False
        conversation.alarm = conversation.alarm_about = None
        conversation.last_answer = ALARM_CORRECTED  # the conversation goes on from here: what follows is a follow-up
        turn.step = Step.CHAT
        return [Reply(self._content.ui("alarm_corrected", turn.language), self._answers.menu_buttons(conversation))]


def _check_in_family(conversation: Conversation) -> str:
    """Whose short check-in fits the alarm (ui.yml crisis_check_in_*): a child's danger has the violence lines."""
    family = _family(conversation.alarm, conversation.alarm_about)
    return "violence" if family == "child" else family


def _family(alarm: str | None, about: str | None = None) -> str:
    """The family of danger an alarm belongs to, for the answers after the lines: "someone" for self-harm or suicidal
    danger told of someone else (what to do for him or her; it falls back to "suicide")."""
    if alarm == "child_unsafe":
        return "child"
    if alarm == "violence":
        return "violence"
    return "someone" if about is not None else "suicide"


def is_risk(level: RiskLevel) -> bool:
    return level is RiskLevel.ACUTE
