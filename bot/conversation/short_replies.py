"""Reading short replies: yes or no, how the user feels, skip, a nod, a correction. Only short replies count: a
longer message, or any question, is a message of its own ("moet ik 112 bellen? ik wil niet dat …" is not a "no")."""

from __future__ import annotations

import re

from bot.content import Content
from bot.conversation import follow_up

# A reply of at most this many words can answer a yes/no or "how are you now?" question.
SHORT_REPLY_WORDS = 4
# At most this many words in a message that takes back what was said ("forget I said that. stupid thing to type").
RETRACTION_WORDS = 8
# At most this many words in an answer to the check question that gives up ("is toch niet erg, ik wil gewoon rust"),
# with the giving up at most RESIGNATION_TAIL words before its end: "ik wil gewoon rust, de kinderen maken zo veel
# herrie" explains, it does not give up.
RESIGNATION_WORDS = 10
RESIGNATION_TAIL = 2
# A no among the words of an answer to the check question: only these (no_words also holds "niet", "fine", "nothing",
# which a reply that gives up may say: "nothing matters anymore").
_PLAIN_NO = frozenset(("nee", "neen", "neuh", "nope", "nah", "no"))
# Words of acknowledgement_words that are a nod only with another ("dank je", "thank you", "got it", "dank u wel").
_PARTS_OF_A_NOD = frozenset(("je", "u", "wel", "you", "it", "got"))
_AND = frozenset(("en", "and"))
_REPEATED_LETTER = re.compile(r"(\w)\1+")
# Something about to happen within the hour, told with a number ("he's picking her up in 20 minutes", "over 20 min
# komt hij haar halen", "binnen een half uur"): the phrase lists name the common ones, this any number of minutes.
_WITHIN_MINUTES = re.compile(
    r"\b(?:in|over|within|binnen)\s+(?:like\s+|about\s+|ongeveer\s+|zo'?n\s+)?"
    r"(?:(?:\d{1,2}|een|a|a few|een paar|paar|vijf|five|tien|ten|vijftien|fifteen|twintig|twenty|dertig|thirty)"
    r"\s*(?:min|mins|minutes|minuten|minuutjes|minuut|minute)|(?:een\s+)?half\s+uur|(?:een\s+)?kwartier"
    r"|half\s+an\s+hour|an\s+hour|een\s+uur)\b"
)
# Saying who one is ("ik ben", "i am", "this is her son"), with at most a few small words before the role word.
_SELF = r"\b(?:ik ben|ben ik|i am|im|i m|this is|dit is|hier is|het is|its|it s)"
_BETWEEN = (
    r"(?: (?:actually|eigenlijk|really|echt|gewoon|just|wel|her|his|their|the|a|an|de|het|een|zijn|haar|hun|oldest|"
    r"eldest|youngest|oudste|jongste))*"
)
# A young person's age said of oneself ("im 13", "ik ben pas 12"): 8 to 17.
_OWN_AGE = re.compile(_SELF + r"(?: (?:actually|eigenlijk|only|just|pas|net|maar))* (\d{1,2})\b")
_YOUNGEST_OWN_AGE, _OLDEST_OWN_AGE = 8, 17


def _single_letters(word: str) -> str:
    """A word with each letter typed more than once in a row typed once ("doeii" and "doei" both "doei")."""
    return _REPEATED_LETTER.sub(r"\1", word)


def _after_self(names: frozenset[str]) -> re.Pattern[str]:
    return re.compile(_SELF + _BETWEEN + r" (?:" + "|".join(sorted(map(re.escape, names))) + r")\b")


class ShortReplies:
    def __init__(self, content: Content) -> None:
        self._yes = content.words("yes_words")
        self._no = content.words("no_words")
        self._skip_words = content.words("skip_words")
        self._acknowledgements = content.words("acknowledgement_words")
        self._wounds = content.words("wound_words")
        self._corrections = tuple(content.words("correction_phrases"))
        self._retractions = tuple(content.words("retraction_phrases"))
        self._resignations = tuple(content.words("resignation_phrases"))
        self.after_crisis_words = content.words("after_crisis_words")
        self._appreciation = content.words("appreciation_words")
        self._exclamation = content.words("exclamation_words")
        self._leaving = content.words("leaving_words")
        self._role_change = content.words("role_change_words")
        self._topic_switch = tuple(content.words("topic_switch_phrases"))
        self._go_on = content.words("go_on_words")
        self._go_on_then = content.words("go_on_then_words")
        self._go_on_filler = content.words("go_on_filler_words")
        self._now = tuple(content.words("happening_now_phrases"))
        own_family = "|".join(sorted(map(re.escape, content.words("role_own_family_words"))))
        self._own_family = re.compile(r"\b(?:mijn|my) (?:eigen|own) (?:" + own_family + r")\b")
        self._said_youth = _after_self(content.words("role_youth_words"))
        self._said_carer = _after_self(content.words("role_carer_words"))
        self._said_professional = _after_self(content.words("role_professional_words"))

    def short(self, text: str) -> list[str] | None:
        """The words of a short reply that may answer a question; None for a question or a longer message."""
        if "?" in text:
            return None
        words = follow_up.words(text)
        return words if 0 < len(words) <= SHORT_REPLY_WORDS else None

    def yes_no(self, text: str) -> bool | None:
        """Yes or no, from a short reply only; its first word decides ("nee, ik ben oké")."""
        words = self.short(text)
        if not words:
            return None
        for word in words[:1] + words:
            if word in self._no:
                return False
            if word in self._yes:
                return True
        return None

    def feeling(self, text: str) -> bool | None:
        """After "how are you now?": True for okay, False for not okay, None for anything else."""
        words = self.short(text)
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

    def skip(self, text: str) -> bool:
        words = set(follow_up.words(text))
        return bool(words & self._skip_words) and len(words) <= 5

    def asks_to_go_on(self, text: str) -> bool:
        """ "en dan?", "ok and then?", "what else?", "vertel verder": what comes after the answer just given. "ok dan",
        "thanks then" are nods."""
        words = follow_up.words(text)
        if not words or len(words) > SHORT_REPLY_WORDS + 1:
            return False
        if not set(words) <= self._go_on | self._go_on_then | self._go_on_filler | self._acknowledgements:
            return False
        leaning = "?" in text or bool(set(words) & _AND)
        return bool(set(words) & self._go_on) or (leaning and bool(set(words) & self._go_on_then))

    def is_acknowledgement(self, text: str) -> bool:
        """ "ok", "nice", "top", "thx": a nod, not a goodbye."""
        words = self.short(text)
        return bool(words) and all(word in self._acknowledgements for word in words or ())

    def tells_of_a_wound(self, text: str) -> bool:
        """ "het bloedt al niet meer", "needed stitches": a wound named (`wound_words`)."""
        return bool(set(follow_up.words(text)) & self._wounds)

    def opens_with_a_nod(self, text: str) -> bool:
        """A message that opens with a nod and goes on ("ok. en hoe regel ik …", "thanks, andere vraag …"); not a
        word that is only part of a nod ("je", "you", "wel": "je zei dat …")."""
        words = follow_up.words(text)
        return len(words) > SHORT_REPLY_WORDS and words[0] in self._acknowledgements - _PARTS_OF_A_NOD

    def is_appreciation(self, text: str) -> bool:
        """ "echt?? wat lief", "wow, how sweet!": a warm reaction to the answer, even with a question mark; it asks
        nothing new, so the answer it reacts to stays the one a next question leans on."""
        words = follow_up.words(text)
        if not words or len(words) > SHORT_REPLY_WORDS + 1 or not set(words) & self._appreciation:
            return False
        return set(words) <= self._appreciation | self._exclamation | self._acknowledgements

    def takes_back(self, text: str) -> bool:
        """ "Forget I said that", "laat maar": what was said is taken back, without saying it was not meant. Only a
        short message that asks nothing: "never mind that, how do I book a visit?" is a question."""
        said = follow_up.words(text)
        return len(said) <= RETRACTION_WORDS and "?" not in text and follow_up.says_any(said, self._retractions)

    def gives_up(self, text: str) -> bool:
        """ "Is toch niet erg, ik wil gewoon rust", "nothing matters anymore": an answer to "do you mean you want to
        hurt yourself?" that gives up rather than says yes. Only a short message that asks nothing, says no nowhere
        ("ach nee, boeit niet meer"), corrects nothing and ends with the giving up ("maakt niet meer uit, ik bedoelde
        mijn werk" explains)."""
        said = follow_up.words(text)
        if not said or len(said) > RESIGNATION_WORDS or "?" in text or _PLAIN_NO.intersection(said):
            return False
        if self.is_correction(text):
            return False
        spaced = f" {' '.join(said)} "
        ends = [
            len(spaced[: spaced.index(f" {phrase} ") + len(phrase) + 1].split())
            for phrase in self._resignations
            if f" {phrase} " in spaced
        ]
        return bool(ends) and len(said) - max(ends) <= RESIGNATION_TAIL

    def is_correction(self, text: str) -> bool:
        """ "Nee, niet letterlijk", "no it's not like that": the alarm was a misunderstanding."""
        folded = " ".join(follow_up.words(text))
        return any(phrase in folded for phrase in self._corrections)

    def says_leaving(self, text: str) -> bool:
        """Whether a message names leaving, thanks or coming back ("ok thanks, can i come back later?"), also with a
        letter typed more than once ("doeii", "byeee"). Only the message's words are folded: folding the list would
        make "off" an "of"."""
        said = set(follow_up.words(text))
        return bool(said & self._leaving or {_single_letters(word) for word in said} & self._leaving)

    def names_role_change(self, text: str) -> bool:
        """Whether a message names changing the role ("verkeerde rol", "actually i'm the teacher", "wrong button")."""
        return bool(set(follow_up.words(text)) & self._role_change)

    def role_said(self, text: str) -> str | None:
        """The role a message names for the one typing, with a change of role named ("wait this is actually her son
        typing lol. im 13", "sorry, verkeerde knop, het gaat om mijn eigen man"); None when it names none."""
        if not self.names_role_change(text):
            return None
        folded = " ".join(follow_up.words(text))
        if self._own_family.search(folded):
            return "parent"  # "ik werk wel in de zorg, maar het gaat om mijn eigen man": the family's own question
        age = _OWN_AGE.search(folded)
        if self._said_youth.search(folded) or (age and _YOUNGEST_OWN_AGE <= int(age.group(1)) <= _OLDEST_OWN_AGE):
            return "youth"
        if self._said_carer.search(folded):
            return "parent"
        if self._said_professional.search(folded):
            return "professional"
        return None

    def happening_now(self, text: str) -> bool:
        """Whether a message tells of something going on now ("right now", "op dit moment", "vannacht") or about to
        happen within minutes ("in 20 minutes")."""
        return follow_up.says_any(follow_up.words(text), self._now) or bool(_WITHIN_MINUTES.search(text.casefold()))

    def switches_topic(self, text: str) -> bool:
        """Whether a message says it asks something else ("andere vraag", "btw", "on another note")."""
        return follow_up.says_any(follow_up.words(text), self._topic_switch)
