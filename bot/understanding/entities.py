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
# "de kleine is pas 5", "my son is only 6", "de oudste is bijna 12": a word that softens the age, after a child's
# noun only ("hij is al 5 jaar weg" and "zoon is al 3 jaar" speak of time, so never "al", "nog" or "already").
_SOFTENED = r"(?:\s+(?:pas|net|maar|bijna|only|just|almost|nearly))*"
_AGE_PATTERNS = (
    # "5 jaar oud", "5-jarige", "7 years old", "my 6 year old", "7yo"
    re.compile(r"\b(\d{1,2})\s*-?\s*(?:jaar oud|jr oud|jarige?|years? old|year-old|yrs? old|yo|y/o)\b"),
    # "mijn zoon van 5", "dochter (7)", "my son is 9", "daughter aged 6", "zoon, 8"
    re.compile(
        r"\b"
        + _CHILD
        + r"\b[^.?!\d]{0,24}?(?:\bvan|\bis|\bwordt|\bwerd|\baged?|\bof|\(|,)"
        + _SOFTENED
        + r"\s*(\d{1,2})\b"
        + _NOT_AN_AGE
    ),
    # "en die van 2 dan", "mag die van 17 alleen op bezoek": one of the children named before, by age
    re.compile(r"\b(?:die|diegene|degene)\s+van\s+(\d{1,2})\b" + _NOT_AN_AGE),
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
    # "en voor tieners?": children of that age, in a follow-up
    "babys": 0,
    "babies": 0,
    "peuters": 2,
    "toddlers": 2,
    "kleuters": 5,
    "pubers": 14,
    "tieners": 14,
    "teenagers": 14,
    "teens": 14,
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

# Municipalities recognised anywhere in a message, not only after "ik woon in" or "gemeente": the four big cities and
# the research region (Midden- en West-Brabant) with Eindhoven. The name as the municipality writes it -> what people
# type (lower case, without accents). Only names that are no ordinary word; a new local entry in organisations.yml
# needs its town here too (tests/test_entities.py checks that).
KNOWN_MUNICIPALITIES: dict[str, tuple[str, ...]] = {
    "Amsterdam": ("amsterdam", "adam"),
    "Rotterdam": ("rotterdam",),
    "Den Haag": ("den haag", "'s-gravenhage", "s-gravenhage", "the hague", "hague"),
    "Utrecht": ("utrecht",),
    "Eindhoven": ("eindhoven",),
    "Breda": ("breda",),
    "Tilburg": ("tilburg",),
    "'s-Hertogenbosch": (
        "'s-hertogenbosch", "s-hertogenbosch", "'s hertogenbosch", "s hertogenbosch", "hertogenbosch", "den bosch",
        "denbosch",
    ),
    "Roosendaal": ("roosendaal",),
    "Bergen op Zoom": ("bergen op zoom", "bergen-op-zoom"),
    "Oosterhout": ("oosterhout",),
    "Waalwijk": ("waalwijk",),
    "Etten-Leur": ("etten-leur", "etten leur", "ettenleur"),
    "Woensdrecht": ("woensdrecht",),
}  # fmt: skip
_ALIASES = {alias: canonical for canonical, aliases in KNOWN_MUNICIPALITIES.items() for alias in aliases}
_ALIAS_PATTERN = re.compile(
    r"(?<![\w'-])(" + "|".join(re.escape(alias) for alias in sorted(_ALIASES, key=len, reverse=True)) + r")(?![\w-])"
)
MAX_NAME_WORDS = 4
# Typos are forgiven only in names this long: short names are too close to ordinary words.
MIN_FUZZY_LENGTH = 6
_LONG_WORD = re.compile(r"[^\W\d_]{%d,}" % MIN_FUZZY_LENGTH)  # noqa: UP031 (a regex's braces)
# A town right after these words is where the prison is: "zit vast in Vught", "PI Zwolle", "op bezoek in Zwolle".
_PRISON_BEFORE = re.compile(
    r"\b(?:pi|p\.i\.|gevangenis|bajes|huis van bewaring|hvb|penitentiaire inrichting|justitieel complex|"
    r"detentiecentrum|vast|opgesloten|gedetineerd|zit|zitten|cel|bezoek|prison|jail|locked up|detained|held|"
    r"visit|visiting)"
    r"(?:\s+(?:in|te|at|van|of))?\s+$"
)


def fold(text: str) -> str:
    """Lower case without accents, so "Ríjswijk" and "rijswijk" match (and a typographic apostrophe as ')."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().replace("\u2019", "'"))
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
    r"\s+(?:is|van|of|'s)" + _SOFTENED + r"\s+(\d{1,2})\b"
)


def child_ages(text: str) -> list[int]:
    """Every child's age a message gives, youngest first (one age, or several in a row: "ze zijn 4 en 9")."""
    folded = _with_digits(text)
    ages: list[int] = []
    match = _AGES.search(folded)
    if match:
        ages = [int(match.group(1)), *map(int, re.findall(r"\d{1,2}", match.group(2)))]
    # Each child named with an age: "een zoon van 4 en een dochter van 14".
    ages.extend(int(found.group(1)) for pattern in _AGE_PATTERNS for found in pattern.finditer(folded))
    single = child_age(text)
    if single is not None:
        ages.append(single)
    ranked = _RANKED_AGE.search(folded)
    if ranked:
        ages.append(int(ranked.group(1)))
    ages.extend(named_children(text).values())  # "Noor is 2, Daan van 6 en Sven (15)"
    return sorted({age for age in ages if age <= MAX_CHILD_AGE})


# A child named with an age: "Jayden (13)", "Noor is 2", "Daan van 6", "de tweeling van 3", "the twins are 3". A name
# is a capitalised word (not one of _NOT_NAMES, no town, not right after a word for where: _PLACE_BEFORE), or twins.
_NAMED_AGE = re.compile(
    r"\b([A-Z][^\W\d_]{1,20})(?:\s*\(|,?\s+(?:is|wordt|van|of|who is|who's|aged)\s+)(\d{1,2})\b"
    r"(?!\s*(?:keer|uur|weken|week|maanden|maand|dagen|dag|minuten|times|hours|weeks|months|days|minutes|%|euro))"
)
_TWINS_AGE = re.compile(r"\b(twins|tweeling)\b(?:\s+(?:is|are|zijn|van|of|aged|\())+\s*(\d{1,2})\b")
_NOT_NAMES = frozenset((
    "ik", "i", "hij", "zij", "ze", "he", "she", "it", "they", "we", "wij", "jij", "je", "you", "my", "mijn", "mn",
    "our", "onze", "de", "het", "the", "een", "a", "en", "and", "maar", "but", "dus", "so", "papa", "mama", "dad",
    "mum", "mom", "daddy", "mummy", "mommy", "vader", "moeder", "father", "mother", "opa", "oma", "pa", "ma", "sorry",
    "hallo", "hoi", "hi", "hey", "pi", "dji", "hvb", "daarna", "dat", "dit", "er", "dan", "nu", "toen", "wat", "hoe",
    "wie", "waar", "this", "that", "there", "what", "how", "who", "where",
))  # fmt: skip
_PLACE_BEFORE = frozenset(("pi", "in", "te", "uit", "naar", "bij", "at", "from", "to", "near"))


def named_children(text: str) -> dict[str, int]:
    """The children a message names with an age, by their name folded ("Jayden (13)" -> {"jayden": 13})."""
    named: dict[str, int] = {}
    for found in _NAMED_AGE.finditer(text):
        name, age = fold(found.group(1)), int(found.group(2))
        before = fold(text[: found.start()]).split()[-1:]
        if (before and before[0] in _PLACE_BEFORE) or name in _NOT_NAMES or name in _ALIASES:
            continue  # "in PI Vught (3 jaar)": a place, not a child
        if 0 < age <= MAX_CHILD_AGE:
            named[name] = age
    for found in _TWINS_AGE.finditer(fold(text)):
        if 0 < int(found.group(2)) <= MAX_CHILD_AGE:
            named[found.group(1)] = int(found.group(2))
    return named


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
    """A municipality named in a sentence: "ik woon in Den Bosch", "gemeente Breda", "we live in Tilburg", or a
    known one anywhere ("ik werk bij het cjg in tilburg", "wijkteam breda."), by the name the municipality uses.

    After "woon in" or "gemeente" a name the bot does not know counts only when it is written with a capital: "de
    gemeente helpt niet" names no place. A known name right after a prison word is the prison's town, not the
    family's ("hij zit in Vught", "PI Zwolle")."""
    folded = fold(text)
    match = _LIVES_IN.search(folded) or _MUNICIPALITY_OF.search(folded)
    if match:
        named = _place(" ".join(_name_words(match.group(1).split())))
        if named is not None and (known_municipality(named) or _capitalised(text, named)):
            return canonical_municipality(named)
    return _known_in(folded)


def known_municipality(name: str) -> str | None:
    """The municipality's own spelling of a name the bot knows ("den bosch", "tilbrug"), else None."""
    folded = fold(name).strip(" .,!?")
    if folded in _ALIASES:
        return _ALIASES[folded]
    if len(folded) >= MIN_FUZZY_LENGTH:
        for alias, canonical in _ALIASES.items():
            if " " not in alias and len(alias) >= MIN_FUZZY_LENGTH and _one_edit(folded, alias):
                return canonical
    return None


def named_alone(text: str) -> str | None:
    """A known municipality that is the whole message ("utrecht", "in Tilburg.", "den bosch"): the town, given in
    reply to the bot's pointer to local help, whatever the model makes of one word."""
    words = fold(text).strip(" .,!?").split()
    if words[:1] in (["in"], ["gemeente"], ["municipality"]):
        words = words[1:]
    return known_municipality(" ".join(words)) if 1 <= len(words) <= MAX_NAME_WORDS else None


# What asks for help in one's own municipality: "welke lokale hulp", "en een wijkteam daar?", "support locally".
_LOCAL_QUESTION = re.compile(
    r"\b(?:lokale?|lokaal|in de buurt|dichtbij|wijkteam|buurtteam|sociaal team|cjg|centrum (?:voor )?jeugd en gezin|"
    r"local|locally|nearby|in (?:my|their|the) area|neighbourhood team|neighborhood team)\b"
)


def asks_local_help(text: str) -> bool:
    """Whether a message asks for help in a municipality ("welke lokale hulp is er", "a wijkteam there?")."""
    return bool(_LOCAL_QUESTION.search(fold(text)))


def canonical_municipality(name: str) -> str:
    """The name as the municipality writes it when the bot knows the place; else the name as given."""
    return known_municipality(name) or name


def _known_in(folded: str) -> str | None:
    """The first known municipality anywhere in a message (a typo of one letter forgiven in longer names)."""
    found = [(match.start(), _ALIASES[match.group(1)]) for match in _ALIAS_PATTERN.finditer(folded)]
    found += [
        (match.start(), canonical)
        for match in _LONG_WORD.finditer(folded)
        if match.group(0) not in _ALIASES and (canonical := known_municipality(match.group(0))) is not None
    ]
    for start, canonical in sorted(found):
        if not _PRISON_BEFORE.search(folded[max(0, start - 30) : start]):
            return canonical
    return None


def _capitalised(text: str, name: str) -> bool:
    """Whether the user wrote the name with a capital ("Zevenaar"), as people write a place."""
    plain = "".join(char for char in unicodedata.normalize("NFKD", text) if not unicodedata.combining(char))
    match = re.search(r"\b" + re.escape(name.split()[0]), plain, re.IGNORECASE)
    return bool(match and match.group(0)[:1].isupper())


def _one_edit(word: str, other: str) -> bool:
    """One letter added, dropped, changed, or two neighbours swapped ("tilbrug", "eindhovn", "utrect")."""
    if abs(len(word) - len(other)) > 1 or word == other:
        return False
    if len(word) == len(other):
        diff = [index for index, (a, b) in enumerate(zip(word, other, strict=True)) if a != b]
        if len(diff) == 1:
            return True
        first, second = [*diff, 0, 0][:2]
        return len(diff) == 2 and second == first + 1 and word[first] == other[second] and word[second] == other[first]
    shorter, longer = sorted((word, other), key=len)
    return any(longer[:index] + longer[index + 1 :] == shorter for index in range(len(longer)))


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
    place = _place(" ".join(words))
    return canonical_municipality(place) if place is not None else None


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
