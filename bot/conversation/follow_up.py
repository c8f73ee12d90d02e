"""Follow-up questions: what the bot may ask once before an answer (a child's age, a first visit, the
municipality), what it already knows, and reading a typed reply to the question."""

from __future__ import annotations

import re

from bot.content import SLOT_CHOICES
from bot.storage.models import Conversation
from bot.understanding import entities
from bot.understanding.understander import Understanding

# What a button for an age group stores: the middle of the group, as the user chose a group, not an age.
AGE_GROUP_AGES = {"under_4": 2, "4_8": 6, "8_12": 10, "teen": 14}
# A short typed place name is read as the municipality only when the model sees nothing else in the message.
SMALL_TALK = ("out_of_scope", "greeting", "goodbye")
_WORDS = re.compile(r"[^\W_]+")


def choices(slot: str) -> tuple[str, ...]:
    return SLOT_CHOICES[slot]


def known(conversation: Conversation, slot: str) -> str | None:
    """What the conversation knows for `slot`, as a choice an answer's `ask.choose` uses."""
    if slot == "child_age":
        return None if conversation.child_age is None else entities.age_group(conversation.child_age)
    if slot == "first_visit":
        return None if conversation.first_visit is None else ("yes" if conversation.first_visit else "no")
    return conversation.municipality


def skip(conversation: Conversation, slot: str) -> None:
    """The user chose not to answer `slot`'s question: it is not asked again (kept on their row, for every replica)."""
    conversation.skipped = ",".join(sorted({*skipped(conversation), slot}))


def skipped(conversation: Conversation) -> set[str]:
    return set(filter(None, (conversation.skipped or "").split(",")))


def notice(conversation: Conversation, text: str, understanding: Understanding) -> None:
    """Remember what a message says in passing: a child's age, a first visit, where the user lives."""
    said = entities.child_ages(text)
    if said:
        every = sorted(set(ages(conversation)) | set(said))
        conversation.child_ages = ",".join(map(str, every[-4:])) if len(every) > 1 else None
        conversation.child_age = said[0]  # the child meant now; with several, the youngest needs the simplest words
    if understanding.topic == "visit":
        first = entities.first_visit(text)
        if first is not None:
            conversation.first_visit = first
    place = entities.municipality(text)
    if place is not None:
        conversation.municipality = place


def typed_reply(
    slot: str, text: str, understanding: Understanding, threshold: float, yes_no: bool | None, skip: bool
) -> str | None:
    """The choice a typed message gives for `slot` ("ze is 6", "ja eerste keer", "Tilburg"), "skip", or None
    when the message is about something else."""
    value: str | None = None
    if slot == "child_age":
        age = entities.age_reply(text)
        if age is not None:
            value = entities.age_group(age)
    elif slot == "first_visit":
        first = entities.first_visit(text)
        if first is None:
            first = yes_no
        if first is not None:
            value = "yes" if first else "no"
    elif (
        entities.named_alone(text) is not None  # a town the bot knows, whatever the model makes of one word
        or not understanding.sure
        or understanding.confidence < threshold
        or understanding.topic in SMALL_TALK
    ):
        value = entities.municipality_reply(text)
    if value is None and skip:
        value = "skip"
    return value


def store(conversation: Conversation, slot: str, value: str, text: str = "") -> None:
    """Keep the answer to the follow-up question (a typed age as the age; a button as the group's middle)."""
    if slot == "child_age":
        typed = entities.age_reply(text) if text else None
        if typed is not None and entities.age_group(typed) == value:
            conversation.child_age = typed
        elif value in AGE_GROUP_AGES and (
            conversation.child_age is None or entities.age_group(conversation.child_age) != value
        ):
            conversation.child_age = AGE_GROUP_AGES[value]
    elif slot == "first_visit":
        conversation.first_visit = value == "yes"
    elif slot == "municipality":
        conversation.municipality = value


def ages(conversation: Conversation) -> list[int]:
    """The children's ages the user gave, youngest first."""
    if conversation.child_ages:
        return sorted(int(age) for age in conversation.child_ages.split(",") if age.isdigit())
    return [conversation.child_age] if conversation.child_age is not None else []


OLDEST = frozenset(("oudste", "oudsten", "grootste", "oldest", "eldest", "older", "big"))
YOUNGEST = frozenset(("jongste", "kleine", "kleinste", "youngest", "little", "younger", "baby", "small"))


def focus(conversation: Conversation, text: str) -> bool:
    """ "En de oudste?": the child the user now means, among the ages they gave. True when it changed."""
    said, known = set(words(text)), ages(conversation)
    if len(known) < 2:
        return False
    if said & OLDEST:
        conversation.child_age = known[-1]
        return True
    if said & YOUNGEST:
        conversation.child_age = known[0]
        return True
    return False


def words(text: str) -> list[str]:
    return [word.casefold() for word in _WORDS.findall(text)]
