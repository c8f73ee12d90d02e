"""Follow-up questions: what the bot may ask once before an answer (a child's age, a first visit, the
municipality), what it already knows, and reading a typed reply to the question."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from bot.content import SLOT_CHOICES
from bot.storage.models import Conversation
from bot.understanding import entities
from bot.understanding.understander import Understanding

# What a button for an age group stores: the middle of the group, as the user chose a group, not an age.
AGE_GROUP_AGES = {"under_4": 2, "4_8": 6, "8_12": 10, "teen": 14}
# A short typed place name is read as the municipality only when the model sees nothing else in the message.
SMALL_TALK = ("out_of_scope", "greeting", "goodbye")
# After "which municipality?", a bare "Tilburg" may look like small talk to the model ("doei", "hoi"); it is read as
# small talk only when the model is at least this sure.
SMALL_TALK_SURE = 0.75
# A goodbye proper may be a half reading; thanks and a nod ("ok ill try that") close a topic whatever the model's
# confidence, and a greeting in the middle of a conversation is a ping ("hey are you still there").
HALF_READ_SMALL_TALK = frozenset(("goodbye",))
# Words that open a follow-up leaning on the message before: "en op bezoek?", "and the oldest?", "maar hoe dan", and
# "that my dad is in prison" finishing it ("my teacher said it in front of the whole class").
CONTINUATIONS = frozenset((
    "en", "and", "maar", "but", "ook", "also", "dus", "so", "of", "or", "then", "dan", "dat", "that",
))  # fmt: skip
_WORDS = re.compile(r"[^\W_]+")
# "what about …", "how about …": a question about one more thing, after the one before.
_ASKING_ABOUT = frozenset((("what", "about"), ("how", "about")))
# A child named by their place among the children ("de jongste", "my eldest", "the little one"; not "my little sister"),
# and the words before.
_CHILD_BY_PLACE = frozenset((
    "jongste", "oudste", "middelste", "kleinste", "grote", "youngest", "oldest", "eldest", "middle", "littlest",
))  # fmt: skip
_WHOSE_CHILD = frozenset(("de", "het", "the", "my", "mijn", "mn", "our", "onze", "ons"))


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
    first = entities.first_visit(text)
    if first is False or (first and understanding.topic == "visit"):
        conversation.first_visit = first  # visits that already happen count whatever the topic ("after visits")
    place = entities.municipality(text)
    if place is not None:
        conversation.municipality = place


def typed_reply(
    slot: str,
    text: str,
    understanding: Understanding,
    threshold: float,
    yes_no: bool | None,
    skip: bool,
    nod: bool = False,
) -> str | None:
    """The choice a typed message gives for `slot` ("ze is 6", "ja eerste keer", "Tilburg"), "skip", or None
    when the message is about something else. `nod`: the message is a nod ("ok", "thx"), never a place."""
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
        not nod
        and yes_no is None
        and (
            entities.named_alone(text) is not None  # a town the bot knows, whatever the model makes of one word
            or place_like(understanding, threshold)
        )
    ):
        value = entities.municipality_reply(text)
    if value is None and skip:
        value = "skip"
    return value


def place_like(understanding: Understanding, threshold: float) -> bool:
    """Whether a short reply to "which municipality?" may be a place name: the model is not sure of a real topic,
    and not very sure it is small talk (a town name often looks like "doei" or "ok" to it)."""
    if not understanding.sure or understanding.confidence < threshold:
        return True
    if understanding.topic == "out_of_scope":
        return True
    return understanding.topic in SMALL_TALK and understanding.confidence < SMALL_TALK_SURE


def half_small_talk(understanding: Understanding, text: str) -> bool:
    """A goodbye the model is not very sure of, in a message that names something ("ze gaat het toch googlen" is
    no goodbye): such a reading says little about the message, which may lean on the one before."""
    return (
        understanding.intent in HALF_READ_SMALL_TALK
        and understanding.confidence < SMALL_TALK_SURE
        and bool(content_words(text))
    )


def elliptical(text: str) -> bool:
    """ "En op bezoek?", "and the oldest", "maar hoe dan", "what about the middle one", "de jongste is 4 die snapt het
    toch niet": a message that leans on the one before (a continuation first, or the child it is about named by
    their place among the children, which only means something after the children were spoken of)."""
    said = words(text)
    if not said:
        return False
    if said[0] in CONTINUATIONS or tuple(said[:2]) in _ASKING_ABOUT:
        return True
    opening = said[1:3] if said[0] in _WHOSE_CHILD else said[:2]
    return bool(opening) and (opening[0] in _CHILD_BY_PLACE or opening == ["little", "one"])


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


OLDEST = frozenset(("oudste", "oudsten", "grootste", "grote", "oldest", "eldest", "older", "big"))
YOUNGEST = frozenset(("jongste", "kleine", "kleinste", "youngest", "little", "younger", "baby", "small"))
MIDDLE = frozenset(("middelste", "middle"))


def focus(conversation: Conversation, text: str) -> bool:
    """ "En de oudste?", "and the middle one?": the child the user now means, among the ages they gave. True when it
    changed."""
    said, known = set(words(text)), ages(conversation)
    if len(known) < 2:
        return False
    if said & OLDEST:
        conversation.child_age = known[-1]
        return True
    if said & YOUNGEST:
        conversation.child_age = known[0]
        return True
    if said & MIDDLE and len(known) >= 3:
        conversation.child_age = known[len(known) // 2]
        return True
    return False


def words(text: str) -> list[str]:
    return [word.casefold() for word in _WORDS.findall(text)]


def says_any(said: Sequence[str], phrases: Iterable[str]) -> bool:
    """Whether words of a message (`words`) hold one of these phrases, each as whole words ("andere vraag")."""
    spaced = f" {' '.join(said)} "
    return any(f" {phrase} " in spaced for phrase in phrases)


# Words too common to tell which part of an answer a question is about.
_COMMON = frozenset((
    "moet", "moeten", "mijn", "maar", "voor", "zijn", "heeft", "hebben", "wordt", "worden", "kunnen", "mogen",
    "waar", "wanneer", "welke", "welk", "waarom", "deze", "daar", "daarvoor", "daarmee", "daarvan", "over",
    "alleen", "gewoon", "echt", "even", "eigenlijk", "iets", "niet", "nog", "ofzo", "toch", "weet", "willen", "gaat",
    "gaan", "ging",
    "what", "when", "where", "which", "with", "does", "have", "that", "this", "they", "them", "their", "there",
    "about", "would", "could", "should", "your", "from", "then", "just", "even", "also", "much", "many", "really",
    "want", "know", "like", "will", "into", "been", "some", "going", "goes",
))  # fmt: skip
# Three-letter words that say nothing of what a question is about; the others do ("app", "sms", "bus", "pin").
_SHORT_COMMON = frozenset((
    "aan", "als", "ben", "bij", "dan", "dat", "die", "dit", "dus", "een", "had", "heb", "het", "hem", "hoe", "hun",
    "jij", "jou", "kan", "mag", "mee", "men", "met", "mij", "nee", "nog", "ons", "ook", "toe", "uit", "van", "wat",
    "wel", "wie", "wij", "wil", "zal", "zij", "zit", "zou",
    "all", "and", "any", "are", "but", "can", "did", "for", "get", "got", "has", "her", "him", "his", "how", "its",
    "let", "may", "not", "now", "one", "our", "own", "say", "see", "she", "the", "too", "use", "was", "who", "why",
    "yes", "you", "off", "out", "yet", "lol", "idk",
))  # fmt: skip
# A word this long is compared by its start only: "groepjes" and "groepen", "phone" and "phones".
STEM = 5


def content_words(text: str) -> set[str]:
    """The words of a message that say what it is about, cut to their start ("app" counts, "the" does not)."""
    return {
        word[:STEM]
        for word in words(text)
        if (len(word) >= 4 and word not in _COMMON) or (len(word) == 3 and word not in _SHORT_COMMON)
    }


def stems(text: str) -> set[str]:
    """Every word of a text cut to its start, to compare with `content_words`."""
    return {word[:STEM] for word in words(text)}


def shared_words(answer: str, question: str) -> int:
    """How many of a question's content words an answer speaks of ("telefoon" in an answer about visits)."""
    return len(content_words(question) & stems(answer))


def paragraphs_of(answer: str) -> list[str]:
    """An answer's paragraphs (blocks between blank lines), stripped, in order."""
    return [part.strip() for part in answer.split("\n\n") if part.strip()]


def fitting_parts(answer: str, question: str, most: int) -> list[str]:
    """The paragraphs of an answer that share the most words with a question about it, in the answer's order."""
    asked = content_words(question)
    if not asked:
        return []
    paragraphs = paragraphs_of(answer)
    scores = [len(asked & stems(part)) for part in paragraphs]
    best = sorted((index for index, score in enumerate(scores) if score), key=lambda i: -scores[i])[:most]
    return [paragraphs[index] for index in sorted(best)]


_FOR = frozenset(("for", "voor"))


def audience_named(
    text: str, named: dict[str, frozenset[str]], own: str, thanks: frozenset[str], limit: int
) -> str | None:
    """The group a short follow-up asks about ("and for teenagers?", "en voor mij?", "thanks, and for the child
    itself?"): the audience of the first word after "for"/"voor" that `named` lists ("self" is the speaker's own
    group, `own`). None when the message does not lean on the one before (no "and"/"en" first, after any thanks) or
    is longer than `limit` words."""
    said = words(text)
    while said and said[0] in thanks and said[0] not in CONTINUATIONS:
        said = said[1:]  # "thanks, and for the child itself?"
    if not said or said[0] not in CONTINUATIONS or len(said) > limit:
        return None
    after = next((at for at, word in enumerate(said) if word in _FOR), None)
    if after is None:
        return None
    for word in said[after + 1 :]:
        for audience, group in named.items():
            if word in group:
                return own if audience == "self" else audience
    return None
