"""The few facts the bot picks out of a message: a child's age, a prison's name, a first visit, a municipality.

Deterministic rules rather than a model: they must work when the NLU service is down, and a wrong age is worse
than none, so each rule needs a clear cue ("mijn zoon van 5", "she's seven", "6 jaar oud"). A number near
"jaar" alone is not an age: "hij heeft 4 jaar gekregen" is a sentence.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from bot.content import Prison

MAX_CHILD_AGE = 18
MAX_AGES_REPLY_WORDS = 8

_NUMBER_WORDS = {
    **dict.fromkeys(("nul", "zero"), 0),
    **dict.fromkeys(("twee", "two"), 2),
    **dict.fromkeys(("drie", "three"), 3),
    **dict.fromkeys(("vier", "four"), 4),
    **dict.fromkeys(("vijf", "five"), 5),
    **dict.fromkeys(("zes", "six"), 6),
    **dict.fromkeys(("zeven", "seven"), 7),
    **dict.fromkeys(("acht", "eight"), 8),
    **dict.fromkeys(("negen", "nine"), 9),
    **dict.fromkeys(("tien", "ten"), 10),
    **dict.fromkeys(("elf", "eleven"), 11),
    **dict.fromkeys(("twaalf", "twelve"), 12),
    **dict.fromkeys(("dertien", "thirteen"), 13),
    **dict.fromkeys(("veertien", "fourteen"), 14),
    **dict.fromkeys(("vijftien", "fifteen"), 15),
    **dict.fromkeys(("zestien", "sixteen"), 16),
    **dict.fromkeys(("zeventien", "seventeen"), 17),
    **dict.fromkeys(("achttien", "eighteen"), 18),
}
_NUMBER_WORD = re.compile(r"\b(" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")\b")
_CHILD = (
    r"(?:zoon|zoontje|dochter|dochtertje|kind|kindje|kinderen|jongen|jongetje|meisje|meid|kleine|broertje|zusje|"
    r"broer|zus|son|daughter|kid|kiddo|child|boy|girl|little one|brother|sister)"
)
_NOT_AN_AGE = (
    r"(?!\s*(?:min|minuten|uur|dag|dagen|week|weken|maand|maanden|keer|euro|"
    r"minutes?|hours?|days?|weeks?|months?|times?|x)\b)"
)
_AGE_PATTERNS = (
    # "5 jaar oud", "5-jarige", "7 years old", "my 6 year old", "7yo"
    re.compile(r"\b(\d{1,2})\s*-?\s*(?:jaar oud|jr oud|jarige?|years? old|year-old|yrs? old|yo|y/o)\b"),
    # "mijn zoon van 5", "dochter (7)", "my son is 9", "daughter aged 6", "zoon, 8"
    re.compile(
        r"\b" + _CHILD + r"\b[^.?!\d]{0,24}?(?:\bvan|\bis|\bwordt|\bwerd|\baged?|\bof|\(|,)\s*(\d{1,2})\b" + _NOT_AN_AGE
    ),
    # "she's seven", "he is 7", "hij is 5", "ze is 12 jaar"
    re.compile(r"\b(?:she|he)(?:'s|\u2019s| is)\s+(\d{1,2})\b" + _NOT_AN_AGE),
    re.compile(
        r"\b(?:hij|zij|ze)\s+is\s+(\d{1,2})\b(?:\s*(?:jaar|jr))?" + _NOT_AN_AGE + r"(?!\s*(?:jaar|jr)\s+(?:cel|straf))"
    ),
)
_AGE_WORDS = {
    "baby": 0,
    "babytje": 0,
    "peuter": 2,
    "peutertje": 2,
    "dreumes": 1,
    "toddler": 2,
    "kleuter": 5,
    "puber": 14,
    "tiener": 14,
    "teenager": 14,
    "teen": 14,
}
_BARE_AGE = re.compile(r"^\D{0,12}?(\d{1,2})\s*(?:jaar|jr|j|years?|yrs?)?\D{0,12}$")

_FIRST_VISIT_YES = re.compile(
    r"\b(?:eerste (?:keer|bezoek)|1e (?:keer|bezoek)|nog nooit (?:op bezoek|geweest|bij)|"
    r"first (?:time|visit)|never (?:been|visited))\b"
)
_FIRST_VISIT_NO = re.compile(
    r"\b(?:niet (?:de|mijn|ons) eerste|al (?:vaker|eens|een keer|vaak)|not (?:the|my|our) first|"
    r"been (?:there )?before|visited (?:him |her )?before|"
    # Visits that already happen, said in passing: "he gets angry after visits", "stoppen met de bezoeken".
    r"the visits|after (?:the |all )?visits|(?:after )?(?:every|each) visit|de bezoeken|(?:na )?(?:elk|ieder) bezoek)\b"
)
_LIVES_IN = re.compile(
    r"\b(?:ik woon|wij wonen|we wonen|woon|wonen|i live|we live|living|live) in (?:de gemeente |gemeente |the )?"
    r"([^\W\d_][\w'\u2019-]*(?:[ -][^\W\d_][\w'\u2019-]*){0,3})",
)
_MUNICIPALITY_OF = re.compile(
    r"\b(?:gemeente|municipality of) ([^\W\d_][\w'\u2019-]*(?:[ -][^\W\d_][\w'\u2019-]*){0,2})"
)
_TRAILING = {"en", "and", "met", "with", "maar", "but", "want", "because", "sinds", "since", "nu", "now", "dus", "so"}
_NAME_STARTS = {
    "den",
    "de",
    "het",
    "'s",
    "oud",
    "oude",
    "nieuw",
    "nieuwe",
    "sint",
    "st",
    "west",
    "oost",
    "noord",
    "zuid",
}
_NAME_LINKS = {"aan", "op", "bij"}
_PARTICLES = {"den", "de", "aan", "het", "op", "in", "en", "bij", "van"}
_PLACE = re.compile(r"^[^\W\d_][\w'\u2019 -]{0,40}$")


def fold(text: str) -> str:
    """Lower case without accents, so "Ríjswijk" and "rijswijk" match."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _with_digits(text: str) -> str:
    return _NUMBER_WORD.sub(lambda match: str(_NUMBER_WORDS[match.group(1)]), fold(text))


def child_age(text: str) -> int | None:
    """A child's age in years when the message clearly gives one ("mijn zoon van 5", "she's seven")."""
    folded = _with_digits(text)
    for pattern in _AGE_PATTERNS:
        match = pattern.search(folded)
        if match and int(match.group(1)) <= MAX_CHILD_AGE:
            return int(match.group(1))
    for word in re.findall(r"[^\W\d_]+", folded):
        if word in _AGE_WORDS:
            return _AGE_WORDS[word]
    return None


# Several children's ages in one go: "ze zijn 4 en 9", "theyre 3 and 11", "(6 and 11)", "kids are 6, 8 and 12".
_AGES = re.compile(
    r"(?:\b(?:zijn|are|theyre|they're|van|of|aged?|ages|leeftijd)\b|\()\s*(\d{1,2})((?:\s*(?:,|en|and|&|\+)\s*\d{1,2})+)"
    r"(?!\s*(?:jaar|jr|years?)\s+(?:cel|straf|gekregen|prison|jail|sentence))"
)


# "mijn oudste is 12", "the youngest is 3": one child of several, named by their place.
_RANKED_AGE = re.compile(
    r"\b(?:oudste|jongste|kleinste|grootste|eldest|oldest|youngest|middelste|middle one)"
    r"\s+(?:is|van|of|'s)\s+(\d{1,2})\b"
)


def child_ages(text: str) -> list[int]:
    """Every child's age a message gives, youngest first (one age, or several in a row: "ze zijn 4 en 9")."""
    folded = _with_digits(text)
    ages: list[int] = []
    match = _AGES.search(folded)
    if match:
        ages = [int(match.group(1)), *map(int, re.findall(r"\d{1,2}", match.group(2)))]
    single = child_age(text)
    if single is not None:
        ages.append(single)
    ranked = _RANKED_AGE.search(folded)
    if ranked:
        ages.append(int(ranked.group(1)))
    return sorted({age for age in ages if age <= MAX_CHILD_AGE})


def age_reply(text: str) -> int | None:
    """An age given in answer to "how old is your child?": also a bare "5" or "vijf jaar"."""
    age = child_age(text)
    if age is not None:
        return age
    folded = _with_digits(text).strip()
    match = _BARE_AGE.match(folded)
    if match and int(match.group(1)) <= MAX_CHILD_AGE:
        return int(match.group(1))
    # "4 en 9", "ze zijn 3 en 7 jaar": more than one child; the youngest needs the simplest words.
    ages = [int(number) for number in re.findall(r"\b\d{1,2}\b", folded) if int(number) <= MAX_CHILD_AGE]
    if ages and len(folded.split()) <= MAX_AGES_REPLY_WORDS:
        return min(ages)
    return None


def age_group(age: int) -> str:
    """The choice an answer's `ask.choose` uses: under_4, 4_8, 8_12 or teen."""
    if age < 4:
        return "under_4"
    if age < 8:
        return "4_8"
    if age < 12:
        return "8_12"
    return "teen"


def first_visit(text: str) -> bool | None:
    """True for "eerste keer op bezoek", False for "we zijn al vaker geweest", None when the message doesn't say."""
    folded = fold(text)
    if _FIRST_VISIT_NO.search(folded):
        return False
    if _FIRST_VISIT_YES.search(folded):
        return True
    return None


def municipality(text: str) -> str | None:
    """A municipality named in a sentence: "ik woon in Den Bosch", "gemeente Breda", "we live in Tilburg"."""
    folded = fold(text)
    match = _LIVES_IN.search(folded) or _MUNICIPALITY_OF.search(folded)
    return _place(" ".join(_name_words(match.group(1).split()))) if match else None


def _name_words(words: list[str]) -> list[str]:
    """The words of a place name at the start of `words`: "den bosch", "alphen aan den rijn", "oude ijsselstreek"."""
    taken = words[:1]
    if words and words[0] in _NAME_STARTS:
        taken = words[:2]
    rest = words[len(taken) :]
    if len(rest) >= 2 and rest[0] in _NAME_LINKS:
        link = rest[:3] if rest[1] in ("den", "de") and len(rest) >= 3 else rest[:2]
        taken += link
    return taken


def municipality_reply(text: str) -> str | None:
    """A municipality given in answer to "where do you live?": a sentence as above, or just the name."""
    named = municipality(text)
    if named is not None:
        return named
    words = fold(text).strip(" .!?").split()
    if not 1 <= len(words) <= 4 or "?" in text:
        return None
    return _place(" ".join(words))


def _place(raw: str) -> str | None:
    words = raw.split()
    while words and words[-1] in _TRAILING:
        words.pop()
    place = " ".join(words)
    if not place or not _PLACE.match(place):
        return None
    return " ".join(
        word if index and word in _PARTICLES else "-".join(part.capitalize() for part in word.split("-"))
        for index, word in enumerate(words)
    )


def prison(text: str, prisons: Iterable[Prison]) -> Prison | None:
    """The first prison the message names, by its name or one of its aliases."""
    folded = fold(text)
    for candidate in prisons:
        for alias in (candidate.name, *candidate.aliases):
            if re.search(r"\b" + re.escape(fold(alias)) + r"\b", folded):
                return candidate
    return None
