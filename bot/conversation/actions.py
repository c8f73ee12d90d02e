"""Button actions, typed. A button carries its action as a short string; it comes back from the client, so it is
untrusted: `parse` accepts only the exact forms below and returns None for anything else.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from bot.content import AUDIENCES, LANGUAGES, REFERRAL_CHOICES, SLOT_CHOICES, SLOTS

# Answer keys and topics are identifiers; anything else in a button is tampering.
_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}", re.ASCII)


class Question(enum.StrEnum):
    """The yes/no questions the bot asks with two buttons."""

    HANDOFF = "handoff"
    """Shall I ask a professional?"""
    TRANSCRIPT = "transcript"
    """May the professional read your last messages?"""
    PARK = "park"
    """Leave the request for the next working day?"""
    FORGET = "forget"
    """Delete everything about you?"""
    MEANT = "meant"
    """Did you mean that you want to hurt yourself (or that you are in danger)?"""


@dataclass(frozen=True)
class ChooseAudience:
    audience: str

    @property
    def data(self) -> str:
        return f"aud:{self.audience}"


@dataclass(frozen=True)
class SetLanguage:
    language: str

    @property
    def data(self) -> str:
        return f"lang:{self.language}"


@dataclass(frozen=True)
class ShowTopic:
    topic: str

    @property
    def data(self) -> str:
        return f"topic:{self.topic}"


@dataclass(frozen=True)
class ShowAnswer:
    intent: str

    @property
    def data(self) -> str:
        return f"answer:{self.intent}"


@dataclass(frozen=True)
class AnswerSlot:
    slot: str
    choice: str
    """One of the slot's choices, or "skip"."""

    @property
    def data(self) -> str:
        return f"slot:{self.slot}:{self.choice}"


@dataclass(frozen=True)
class Reply:
    question: Question
    yes: bool

    @property
    def data(self) -> str:
        return f"{self.question}:{'yes' if self.yes else 'no'}"


@dataclass(frozen=True)
class Feeling:
    okay: bool

    @property
    def data(self) -> str:
        return f"safe:{'ok' if self.okay else 'notok'}"


@dataclass(frozen=True)
class StartReferral:
    """A professional opens the referral guide (from the menu, or "another route" at its end)."""

    @property
    def data(self) -> str:
        return "ref:start"


@dataclass(frozen=True)
class ReferralChoice:
    question: str
    choice: str
    """One of the question's choices (`content.REFERRAL_CHOICES`), or "skip"."""

    @property
    def data(self) -> str:
        return f"ref:{self.question}:{self.choice}"


FEEDBACK = "fb"
"""The prefix of the answer-feedback buttons (the channel takes them off a message once one is tapped)."""


@dataclass(frozen=True)
class Feedback:
    """👍 or 👎 under an answer; short data: Telegram allows 64 bytes."""

    answer: str
    useful: bool

    @property
    def data(self) -> str:
        return f"{FEEDBACK}:{'up' if self.useful else 'dn'}:{self.answer}"


@dataclass(frozen=True)
class ShowMenu:
    @property
    def data(self) -> str:
        return "menu"


Action = (
    ChooseAudience
    | SetLanguage
    | ShowTopic
    | ShowAnswer
    | AnswerSlot
    | Reply
    | Feeling
    | StartReferral
    | ReferralChoice
    | Feedback
    | ShowMenu
)


def parse(data: str) -> Action | None:
    """The action a button carries, or None for anything that is not exactly one of the bot's own forms."""
    if data == "menu":
        return ShowMenu()
    kind, _, value = data.partition(":")
    if kind == "aud" and value in AUDIENCES:
        return ChooseAudience(value)
    if kind == "lang" and value in LANGUAGES:
        return SetLanguage(value)
    if kind == "topic" and _NAME.fullmatch(value):
        return ShowTopic(value)
    if kind == "answer" and _NAME.fullmatch(value):
        return ShowAnswer(value)
    if kind == "slot":
        slot, _, choice = value.partition(":")
        if slot in SLOTS and (choice in SLOT_CHOICES[slot] or choice == "skip"):
            return AnswerSlot(slot, choice)
        return None
    if kind == "ref":
        return _referral(value)
    if kind == FEEDBACK:
        vote, _, answer = value.partition(":")
        if vote in ("up", "dn") and _NAME.fullmatch(answer) and len(answer) <= _FEEDBACK_ANSWER:
            return Feedback(answer, vote == "up")
        return None
    if kind == "safe" and value in ("ok", "notok"):
        return Feeling(value == "ok")
    if kind in _QUESTIONS and value in ("yes", "no"):
        return Reply(Question(kind), value == "yes")
    return None


def _referral(value: str) -> StartReferral | ReferralChoice | None:
    if value == "start":
        return StartReferral()
    question, _, choice = value.partition(":")
    if question in REFERRAL_CHOICES and (choice in REFERRAL_CHOICES[question] or choice == "skip"):
        return ReferralChoice(question, choice)
    return None


_QUESTIONS = frozenset(question.value for question in Question)
_FEEDBACK_ANSWER = 64 - len("fb:up:")
