"""Answers worded for who the user is.

The answers are written for the usual case: a young person whose father or mother is inside ("je vader of moeder"),
a parent who raises their own children ("je kind"). A girl who says "mn moeder zit sinds de kerst vast" reads "je
moeder" instead; a grandmother raising her son's children reads "je kleinkind", a godmother "het kind". What the bot
listens for and what it then writes is content (`responses/wording.yml`); this module notices who is meant, keeps
only that (a key: "mother", "grandparent"), and rewords the replies.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.content import LANGUAGES, Content, ContentError
from bot.replies import Reply
from bot.storage.models import Conversation
from bot.understanding import entities

# A number in a phrase of being locked up ("got {n} years", "kreeg {n} jaar"), and what stands for it once read.
_NUMBER, _ANY_NUMBER = "{n}", "0"
_NUMBER_WORDS = frozenset((
    "een", "twee", "drie", "vier", "vijf", "zes", "zeven", "acht", "negen", "tien", "elf", "twaalf", "a", "one",
    "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
))  # fmt: skip
# "ik ben zijn moeder", "i'm his mum": a grandmother speaking of her son inside, not the children's parent.
_SOMEONE_ELSES = frozenset(("zijn", "haar", "his", "her", "zn"))
_TOKEN = re.compile(r"[^\W_]+(?:'s)?")
# Who is inside is read within one part of a sentence: "mn moeder heeft hem aangegeven, nu zit hij vast" names nobody.
_SENTENCE_PART_END = re.compile(r"[.,!?;:\n]+")


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(entities.fold(text))


def _phrases(items: Iterable[Any], where: str) -> tuple[tuple[str, ...], ...]:
    phrases = tuple(tuple(_tokens(str(item))) for item in items or ())
    if not phrases or not all(phrases):
        raise ContentError(f"wording.yml {where}: expected a list of words or phrases")
    return phrases


def _at(tokens: Sequence[str], start: int, phrase: Sequence[str]) -> bool:
    """Whether `phrase` is at `tokens[start:]` (a 0 in a phrase stands for any number)."""
    if start < 0 or start + len(phrase) > len(tokens):
        return False
    for token, wanted in zip(tokens[start : start + len(phrase)], phrase, strict=True):
        if wanted == _ANY_NUMBER and (token.isdigit() or token in _NUMBER_WORDS):
            continue
        if token != wanted:
            return False
    return True


def _ending_at(tokens: Sequence[str], end: int, phrases: Iterable[Sequence[str]]) -> int | None:
    """Where the longest of `phrases` that ends just before `end` starts, if one does."""
    starts = [end - len(phrase) for phrase in phrases if _at(tokens, end - len(phrase), phrase)]
    return min(starts) if starts else None


def _replacer(table: Mapping[str, str]) -> re.Pattern[str]:
    keys = sorted(table, key=len, reverse=True)  # "al je kinderen" before "je kinderen", "je kinderen" before "je kind"
    return re.compile(r"\b(?:" + "|".join(re.escape(key) for key in keys) + r")\b", re.IGNORECASE)


def _substitute(text: str, pattern: re.Pattern[str], table: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        found = match.group(0)
        said = table[found.lower()]
        return said[:1].upper() + said[1:] if found[:1].isupper() else said

    return pattern.sub(replace, text)


@dataclass(frozen=True)
class _Person:
    key: str
    words: frozenset[str]
    forms: Mapping[str, Mapping[str, str]]
    """Per language: noun, subject, object, possessive ("moeder", "zij", "haar", "haar")."""


@dataclass(frozen=True)
class _CarerKind:
    key: str
    self_names: tuple[tuple[str, ...], ...]
    children: tuple[tuple[str, ...], ...]
    anywhere: tuple[tuple[str, ...], ...]


class Wording:
    def __init__(self, content: Content) -> None:
        wording = content.wording
        try:
            inside, carers = wording["inside"], wording["carers"]
            self._window = int(inside["window"])
            self._detained = _phrases(
                (str(item).replace(_NUMBER, _ANY_NUMBER) for item in inside["detained"]), "detained"
            )
            self._possessives = _phrases(inside["possessives"], "inside.possessives")
            self._others_possessives = _phrases(inside["others_possessives"], "inside.others_possessives")
            self._others = frozenset(_tokens(" ".join(map(str, inside["others"]))))
            self._not_detained_after = frozenset(_tokens(" ".join(map(str, inside["not_detained_after"]))))
            self._vast_after = frozenset(_tokens(" ".join(map(str, inside["vast_after"]))))
            self._persons = tuple(
                _Person(
                    str(key),
                    frozenset(_tokens(" ".join(map(str, entry["words"])))),
                    {language: {str(k): str(v) for k, v in entry[language].items()} for language in LANGUAGES},
                )
                for key, entry in inside["persons"].items()
            )
            self._inside_say = {language: _lowered(inside["say"][language]) for language in LANGUAGES}
            self._inside_pronouns = {language: _lowered(inside["pronouns"][language]) for language in LANGUAGES}
            self._self_before = _phrases(carers["self_before"], "carers.self_before")
            self._between = _phrases(carers["between"], "carers.between")
            self._not_after = frozenset(_tokens(" ".join(map(str, carers["not_after"]))))
            self._parents = _phrases(carers["parents"], "carers.parents")
            self._carer_kinds = tuple(
                _CarerKind(
                    str(key),
                    _phrases(entry["self"], f"carers.kinds.{key}.self"),
                    _phrases(entry["children"], f"carers.kinds.{key}.children"),
                    tuple(tuple(_tokens(str(item))) for item in entry.get("anywhere") or ()),
                )
                for key, entry in carers["kinds"].items()
            )
            self._carer_say = {
                language: {str(kind): _lowered(table) for kind, table in carers["say"][language].items()}
                for language in LANGUAGES
            }
        except (KeyError, TypeError, AttributeError) as error:
            raise ContentError(f"wording.yml: missing or malformed {error}") from error
        for person in self._persons:
            for language in LANGUAGES:
                for table in (self._inside_say[language], self._inside_pronouns[language]):
                    for said in table.values():
                        said.format(**person.forms[language])  # a missing form fails at start, not at a user
        for group, keys in (("inside", self._persons), ("carers", self._carer_kinds)):
            for language in LANGUAGES:  # /mijngegevens names what was kept: a key without a label fails at start
                for item in keys:
                    content.value_label(group, item.key, language)
        for kind in self._carer_kinds:
            for language in LANGUAGES:
                if kind.key not in self._carer_say[language]:
                    raise ContentError(f"wording.yml carers.say.{language}: nothing to say for {kind.key}")
        self._inside_patterns = {language: _replacer(self._inside_say[language]) for language in LANGUAGES}
        self._pronoun_patterns = {language: _replacer(self._inside_pronouns[language]) for language in LANGUAGES}
        self._carer_patterns = {
            language: {kind: _replacer(table) for kind, table in per_kind.items()}
            for language, per_kind in self._carer_say.items()
        }

    # -- noticing ---------------------------------------------------------------------------------------------

    def notice(self, conversation: Conversation, text: str) -> None:
        """Keep who is inside (a young person's words) or what kind of carer the user is (a parent's or carer's),
        when the message says so; a later message that says otherwise wins."""
        if conversation.audience == "youth":
            inside = self.inside(text)
            if inside is not None:
                conversation.inside = inside
        elif conversation.audience == "parent":
            carer = self.carer(text)
            if carer is not None:
                conversation.carer = carer
            elif self.says_parent(text):
                conversation.carer = None  # "ik ben de moeder": answers speak of her own children again

    def inside(self, text: str) -> str | None:
        """Who the message says is locked up, as a key ("mother"), or None when it names nobody for certain."""
        found = None
        for part in _SENTENCE_PART_END.split(text):
            tokens = _tokens(part)
            for end in range(len(tokens)):
                cue = next((phrase for phrase in self._detained if _at(tokens, end, phrase)), None)
                if cue is not None:
                    if cue == ("vast",) and not self._vast_after.intersection(tokens[max(0, end - self._window) : end]):
                        continue  # "mama is vast boos": surely, not locked up
                    person = self._person_before(tokens, end)
                    if person is not None:
                        found = person
        return found

    def _person_before(self, tokens: Sequence[str], cue: int) -> str | None:
        """The writer's parent named nearest before `cue`; None when someone else comes first."""
        for at in range(cue - 1, max(-1, cue - 1 - self._window), -1):
            word = tokens[at].removesuffix("'s")  # "my dad's in prison": dad is
            if tokens[at] in self._not_detained_after:
                return None  # "werkt als bewaarder in de gevangenis", "zit niet vast"
            person = next((p for p in self._persons if word in p.words), None)
            if person is None:
                if word in self._others or tokens[at].endswith("'s"):
                    return None  # "mijn oom zit vast", "my friend's mum": someone else
                continue
            if any(_ending_at(tokens, start, self._others_possessives) is not None for start in (at, at - 1)):
                return None  # "mn vriendin haar moeder zit vast": someone else's parent
            if at > 0 and tokens[at - 1].endswith("'s"):
                return None  # "my friend's mum"
            return person.key
        return None

    def _owned(self, tokens: Sequence[str], at: int) -> bool:
        """Whether "mijn", "mn", "my" … comes right before `at`, or one word before ("my big brother")."""
        return any(_ending_at(tokens, start, self._possessives) is not None for start in (at, at - 1))

    def carer(self, text: str) -> str | None:
        """What kind of carer (not a parent) the message says the writer is, as a key ("grandparent")."""
        tokens = _tokens(text)
        for kind in self._carer_kinds:
            for start in range(len(tokens)):
                if any(_at(tokens, start, phrase) for phrase in kind.anywhere):
                    return kind.key
                named = next((phrase for phrase in kind.self_names if _at(tokens, start, phrase)), None)
                if named is not None and self._said_of(tokens, start, self._self_before):
                    after = tokens[start + len(named) : start + len(named) + 1]
                    if not set(after) & self._not_after:
                        return kind.key  # not "ik ben de oma niet, maar de moeder"
                if any(_at(tokens, start, phrase) for phrase in kind.children) and self._owned(tokens, start):
                    return kind.key  # "onze pleegzoon", "mijn twee kleinkinderen"
        return None

    def says_parent(self, text: str) -> bool:
        """Whether the writer says they are a parent ("ik ben de moeder", "i'm their dad")."""
        tokens = _tokens(text)
        return any(
            _at(tokens, start, phrase)
            and self._said_of(tokens, start, self._self_before)
            and (start == 0 or tokens[start - 1] not in _SOMEONE_ELSES)  # "ik ben zijn moeder": a grandmother
            for start in range(len(tokens))
            for phrase in self._parents
        )

    def _said_of(self, tokens: Sequence[str], start: int, before: Iterable[Sequence[str]]) -> bool:
        """Whether one of `before` ends right before `start`, with at most two small words between ("ik ben de
        oma", "wij zijn trotse pleegouders", "my little grandkids" with "little" no small word: not said of)."""
        ends = [start]
        for _ in range(2):
            ends += [begin for end in ends if (begin := _ending_at(tokens, end, self._between)) is not None]
        return any(_ending_at(tokens, end, before) is not None for end in ends)

    # -- wording ---------------------------------------------------------------------------------------------

    def variants(self, text: str, audience: str, language: str) -> set[str]:
        """`text` as every user it can be reworded for reads it, besides itself (to recognise an answer sent)."""
        said = [Conversation(audience=audience, language=language, inside=person.key) for person in self._persons]
        said += [Conversation(audience=audience, language=language, carer=kind.key) for kind in self._carer_kinds]
        return {self._reworded(conversation, Reply(text)).text for conversation in said} - {text}

    def apply(self, conversation: Conversation, replies: list[Reply]) -> list[Reply]:
        """The replies worded for this user; replies unchanged when there is nothing to reword."""
        return [self._reworded(conversation, reply) for reply in replies]

    def _reworded(self, conversation: Conversation, reply: Reply) -> Reply:
        text, language = reply.text, conversation.language
        if language not in LANGUAGES:
            return reply
        if conversation.audience == "youth" and conversation.inside:
            person = next((p for p in self._persons if p.key == conversation.inside), None)
            if person is not None:
                forms = person.forms[language]
                said = {key: value.format(**forms) for key, value in self._inside_say[language].items()}
                named = _substitute(text, self._inside_patterns[language], said)
                if named != text:  # an answer about them: "hij of zij" is them too (not a friend in danger)
                    pronouns = {key: value.format(**forms) for key, value in self._inside_pronouns[language].items()}
                    text = _substitute(named, self._pronoun_patterns[language], pronouns)
        if conversation.audience == "parent" and conversation.carer:
            table = self._carer_say[language].get(conversation.carer)
            if table is not None:
                text = _substitute(text, self._carer_patterns[language][conversation.carer], table)
        return reply if text == reply.text else Reply(text, reply.buttons, reply.urgent, reply.in_place)


def _lowered(table: Mapping[str, Any]) -> dict[str, str]:
    return {str(key).lower(): str(value) for key, value in table.items()}
