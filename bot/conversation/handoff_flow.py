"""The user's side of a handoff: the answer to "shall I ask a professional?", waiting, sharing the last messages,
leaving a request for the next working day, talking during a handoff, and /stop."""

from __future__ import annotations

from bot.content import Content
from bot.conversation import follow_up
from bot.conversation.actions import Question
from bot.conversation.answers import Answers
from bot.conversation.steps import Step
from bot.conversation.turn import Memory, Turn
from bot.insights.recorder import HandoffEvent, Recorder
from bot.replies import Button, Reply
from bot.storage import cases
from bot.storage.cases import CaseReason, CaseStatus
from bot.storage.models import Case
from handoff.desk import Desk, Outcome
from handoff.hours import AMSTERDAM
from safety.risk import RiskLevel

NO_DESK = "no_desk"
"""Stored as the last answer when the bot said who can be reached instead of a person."""
DETAIL_LINES = 2
"""At most this many lines of that note are quoted back for a question about it."""


class HandoffFlow:
    def __init__(
        self, content: Content, answers: Answers, desk: Desk, memory: Memory, threshold: float, recorder: Recorder
    ) -> None:
        self._recorder = recorder
        self._content = content
        self._answers = answers
        self._desk = desk
        self._memory = memory
        self._threshold = threshold

    @property
    def live(self) -> bool:
        """Whether a professionals' group is connected, so that a person can actually be asked."""
        return self._desk.live

    def reachable_now(self, turn: Turn, lead: str | None = None) -> Reply:
        """No professionals' group: say honestly who can be reached now, never promise a person (and the second
        time in a row, briefly)."""
        again = turn.conversation.last_answer == NO_DESK
        turn.conversation.last_answer = NO_DESK
        text = self._content.ui("no_desk_again" if again else _note(turn), turn.language, turn.audience)
        return Reply(f"{lead}\n\n{text}" if lead else text, self._answers.menu_buttons(turn.conversation))

    def reachable_all(self, turn: Turn) -> Reply:
        """ "Yes please" to the note on who can be reached now: those lines again, under a line saying the user calls
        or chats with them (the bot cannot do it for them)."""
        note = self._content.ui(_note(turn), turn.language, turn.audience)
        lines = [line for line in note.split("\n") if line.startswith("•")]
        text = "\n".join((self._content.ui("no_desk_yes", turn.language), *lines))
        return Reply(text, self._answers.menu_buttons(turn.conversation))

    def reachable_detail(self, turn: Turn) -> Reply | None:
        """A question about the note on who can be reached now ("is it free? my mum checks the phone bill"): the
        lines of that note it is about, under a short reminder; None when no line shares a word with it."""
        note = self._content.ui(_note(turn), turn.language, turn.audience)
        listed = "\n\n".join(line for line in note.split("\n") if line.startswith("•"))  # the lines, not the lead
        lines = follow_up.fitting_parts(listed, turn.text, DETAIL_LINES)
        if not lines:
            return None
        text = "\n".join((self._content.ui("no_desk_detail", turn.language), *lines))
        return Reply(text, self._answers.menu_buttons(turn.conversation))

    async def open_with_desk(self, turn: Turn, case: Case) -> list[Reply]:
        """Ask the desk for a professional and tell the user honestly what happens next."""
        conversation, lang, audience = turn.conversation, turn.language, turn.audience
        outcome = await self._desk.open(turn.session, case, turn.sender.chat_id)
        turn.step = Step.CHAT
        conversation.offer_reason = None
        if outcome in (Outcome.ALERTED_OUTSIDE_HOURS, Outcome.OUTSIDE_HOURS):
            # Asked for (or opened by danger) while no team was on duty: how often this happens is what an
            # organisation weighs when it sets its hours.
            await self._recorder.handoff(turn.session, HandoffEvent.OUT_OF_HOURS, conversation.audience, lang)
        if outcome is Outcome.ALERTED:
            key = "handoff_waiting_acute" if case.risk == "acute" else "handoff_waiting"
            replies = [Reply(self._content.ui(key, lang))]
        elif outcome is Outcome.ALERTED_OUTSIDE_HOURS:
            replies = [self._outside_hours(lang, audience, case)]
        elif outcome is Outcome.OUTSIDE_HOURS:
            park = self._answers.yes_no_buttons("park_yes", "park_no", Question.PARK, lang)
            return [self._outside_hours(lang, audience, case), Reply(self._content.ui("park_offer", lang), park)]
        else:
            await cases.set_status(case, CaseStatus.CLOSED)
            return [self.reachable_now(turn)]
        if await self._memory.recent_lines(turn.session, conversation.key):
            share = self._answers.yes_no_buttons("transcript_yes", "transcript_no", Question.TRANSCRIPT, lang)
            replies.append(Reply(self._content.ui("transcript_offer", lang), share))
        return replies

    def _outside_hours(self, lang: str, audience: str, case: Case) -> Reply:
        opening = self._desk.next_opening(case)
        when = ""
        if opening is not None:
            moment = opening.astimezone(AMSTERDAM).strftime("%d-%m %H:%M")
            when = self._content.ui("handoff_next_opening", lang).format(moment=moment)
        text = self._content.ui("handoff_outside_hours", lang).format(when=when)
        return Reply(text + "\n\n" + self._content.ui("day_and_night_lines", lang, audience))

    async def answer(self, turn: Turn, yes: bool) -> list[Reply]:
        """Yes or no to "shall I ask a professional?" (a button, or a short typed reply)."""
        conversation, lang = turn.conversation, turn.language
        reason = CaseReason.parse(conversation.offer_reason) if conversation.offer_reason else CaseReason.request()
        await self._recorder.handoff(turn.session, HandoffEvent.OFFERED, conversation.audience, lang)
        if yes:
            await self._recorder.handoff(turn.session, HandoffEvent.ACCEPTED, conversation.audience, lang)
        turn.step = Step.CHAT
        conversation.offer_reason = None
        offered = await cases.latest(turn.session, conversation.key, (CaseStatus.OFFERED,))
        if yes and await cases.latest(turn.session, conversation.key, cases.LIVE) is not None:
            return [Reply(self._content.ui("handoff_waiting", lang))]  # a second press, or an old button
        if yes:
            if not self.live:
                if offered is not None:
                    await cases.set_status(offered, CaseStatus.DECLINED)
                return [self.reachable_now(turn)]
            if offered is not None:
                case = offered
                await cases.set_status(case, CaseStatus.REQUESTED)
            else:
                case = await cases.open_case(
                    turn.session, conversation.key, reason, CaseStatus.REQUESTED, conversation.audience, lang
                )
            return await self.open_with_desk(turn, case)
        if offered is not None:
            await cases.set_status(offered, CaseStatus.DECLINED)
        if conversation.safety_check:
            # A single "no" does not end the safety check: the lines stay offered and the bot checks in.
            turn.step = Step.SAFETY_CHECK
            buttons = (
                Button(self._content.button("safe_ok", lang), "safe:ok"),
                Button(self._content.button("safe_not_ok", lang), "safe:notok"),
            )
            return [Reply(self._content.ui("safety_check", lang), buttons)]
        return [Reply(self._content.ui("handoff_declined", lang), self._answers.menu_buttons(conversation))]

    async def transcript(self, turn: Turn, yes: bool) -> list[Reply]:
        conversation = turn.conversation
        case = await cases.latest(turn.session, conversation.key, cases.ACTIVE)
        if case is None:
            return [self._answers.menu(conversation)]
        if yes:
            lines = await self._memory.recent_lines(turn.session, conversation.key)
            await self._desk.share_transcript(turn.session, case, lines)
            case.transcript_shared = case.transcript_shared or bool(lines)
        await self._memory.forget(turn.session, conversation.key)
        return [Reply(self._content.ui("transcript_shared" if yes else "transcript_kept", turn.language))]

    async def park(self, turn: Turn, yes: bool) -> list[Reply]:
        conversation = turn.conversation
        case = await cases.latest(turn.session, conversation.key, (CaseStatus.OUTSIDE_HOURS,))
        if case is None:
            return [self._answers.menu(conversation)]
        if yes:
            await self._desk.park(turn.session, case)
            return [Reply(self._content.ui("handoff_parked", turn.language))]
        await cases.set_status(case, CaseStatus.CLOSED)
        case.chat_ref = None
        return [Reply(self._content.ui("handoff_declined", turn.language), self._answers.menu_buttons(conversation))]

    async def during(self, turn: Turn, case: Case, crisis: Reply | None) -> list[Reply]:
        """A professional has been asked or is in the chat: pass the message on; the bot stays quiet unless the
        safety net fires, or nobody has claimed the case yet and the message is a question it can answer."""
        understanding = turn.understanding
        assert understanding is not None
        await self._desk.from_user(turn.session, case, turn.text, turn.message_id)
        if understanding.risk is RiskLevel.ACUTE and not understanding.ambiguous:  # unclear: the professional reads it
            category = understanding.categories[0] if understanding.categories else "suicidal"
            await self._desk.flag(turn.session, case, category)
            return [crisis] if crisis is not None else []
        if case.status == CaseStatus.CLAIMED or not understanding.sure:
            return []
        if understanding.confidence < self._threshold or understanding.intent in ("greet", "goodbye", "thanks"):
            return []
        return self._answers.for_intent(turn, understanding.intent or "out_of_scope", ask=False)

    async def stop(self, turn: Turn) -> list[Reply]:
        """/stop: leave a handoff that was asked for or is going on; otherwise just say goodbye."""
        conversation = turn.conversation
        turn.step = Step.CHAT
        conversation.offer_reason = None
        live = await cases.latest(turn.session, conversation.key, cases.ACTIVE)
        if live is not None:
            await self._desk.user_left(turn.session, live)
            await self._memory.forget(turn.session, conversation.key)
            return [Reply(self._content.ui("handoff_stopped", turn.language), self._answers.menu_buttons(conversation))]
        return [Reply(self._content.ui("stopped", turn.language), self._answers.menu_buttons(conversation))]


def _note(turn: Turn) -> str:
    """Who can be reached now: with 113 while an alarm holds (no danger said, no suicide line in the first note)."""
    return "no_desk_after_lines" if turn.conversation.alarm else "no_desk"
