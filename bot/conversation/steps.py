"""Where a conversation is: the declared steps, stored in `Conversation.step`.

Each step has one handler for typed text (see `chat.Chat`); button presses are typed actions
(`actions.py`) and do not depend on the step, except where an action answers the step's own question.
"""

from __future__ import annotations

import enum


class Step(enum.StrEnum):
    CHOOSE_AUDIENCE = "choose_audience"
    """New: the welcome and the role buttons are showing; a question typed now is answered after the choice."""
    CHAT = "chat"
    """The ordinary state: every message is understood and answered."""
    HANDOFF_OFFER = "handoff_offer"
    """The bot asked whether to ask a professional; a short yes or no answers it."""
    SAFETY_CHECK = "safety_check"
    """After the crisis lines the bot asked how the user is now; a short reply answers it."""
    ASK = "ask"
    """The bot asked one follow-up question (a child's age, first visit, municipality) before an answer."""
    CONFIRM_RISK = "confirm_risk"
    """An unclear danger signal: the lines were shown quietly and the bot asked what the user meant."""
    REFERRAL = "referral"
    """A professional is in the referral guide: its next question (see `Conversation.referral`) reads the reply."""
    FORGET_CONFIRM = "forget_confirm"
    """The bot asked whether to delete everything; only the yes button deletes."""

    @classmethod
    def parse(cls, stored: str | None) -> Step:
        """The stored step; an unknown one (an older version's) counts as ordinary chat."""
        try:
            return cls(stored or cls.CHAT)
        except ValueError:
            return cls.CHAT
