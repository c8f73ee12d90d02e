"""The safety net: a rule layer that spots risk in a message without the NLU service.

It runs first on every message. Phrases live in ``risk_phrases.yml`` so that professionals can add what they
hear; see that file for the phrase syntax. Idioms that only sound alarming ("ik schaam me dood") are blanked out
before any risk phrase is tried, so they cannot set one off, while a real signal in the same message still does.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from safety.normalise import Normaliser

if TYPE_CHECKING:
    from safety.learned import LearnedRisk

DEFAULT_PHRASES = Path(__file__).with_name("risk_phrases.yml")
GAP = "..."
END = "$"
WEAK = "~ "
MAX_GAP = 4
MAX_JUDGED = 50
"""Spans of one phrase judged against the scopes before giving up on it (keeps a 100,000-character message fast)."""
_BLANK = ""


# The learned layer raises nothing on a message of fewer words than this (numbers do not count): an embedding of
# "ze zijn 5 en 7" says little.
LEARNED_MIN_WORDS = 4
_LETTER_WORDS = re.compile(r"[^\W\d_]+")


def long_enough(text: str) -> bool:
    """Enough words for a model's reading of danger to count (`LEARNED_MIN_WORDS`)."""
    return len(_LETTER_WORDS.findall(text)) >= LEARNED_MIN_WORDS


class RiskLevel(enum.IntEnum):
    """Ordered so that ``max`` picks the most serious level."""

    NONE = 0
    CONCERN = 1
    ACUTE = 2

    @property
    def label(self) -> str:
        return self.name.lower()


Subject = Literal["self", "child", "other"]
# Someone else's, inside a self-harm phrase ("cuts on her arm"); not "zijn", which is also the verb "to be".
_POSSESSIVES = frozenset(("haar", "her", "his", "their"))
Effect = Literal["drop", "ambiguous", "concern"]
Where = Literal["before", "clause", "message"]
WORRY_CATEGORY = "worry_other"
NEGATION = "negation"
"""The scope of a negation ("niet", "not"): a phrase it drops may still be meant when every reading says crisis."""


# Dangers that a reading may name one for the other: harm to oneself, and harm by others (a child's danger is violence).
_DANGER_FAMILY = {"suicidal": "self", "self_harm": "self", "violence": "others", "child_unsafe": "others"}


@dataclass(frozen=True)
class Assessment:
    level: RiskLevel
    categories: tuple[str, ...] = ()
    idiom: bool = False
    """An alarming-sounding idiom was present (and neutralised)."""
    ambiguous: bool = False
    """Acute, but unsure (a joke marker, or the learned layer doubts a weak rule hit): show the lines quietly and
    ask a check question instead of the full alarm."""
    subject: Subject = "self"
    """Who is at risk: the writer, a child (child's lines and Veilig Thuis) or another adult (support, no alarm)."""
    cues: tuple[str, ...] = ()
    """Scopes seen anywhere in the message (negation, past, hyperbole, worry, offence, general, fear, ...). Any of
    them means a model alone must not raise the alarm."""
    learned_score: float | None = None
    """The learned layer's probability of acute risk, when it ran."""
    learned_only: bool = False
    """Acute because the learned layer said so, with no phrase behind it (the NLU model may overrule it)."""
    one_word: bool = False
    """Acute only on single alarming words ("zelfbeschadiging", "suicidal"), no phrase around them: how a
    professional or a school essay names the subject, too. The models' readings of the message may decide."""
    negated: tuple[str, ...] = ()
    """The categories of acute phrases that a negation dropped ("er is geen eten" after "mama is nie thuis")."""

    @property
    def alarm(self) -> bool:
        """The full alarm: acute and not ambiguous."""
        return self.level is RiskLevel.ACUTE and not self.ambiguous

    def explained_for(self, category: str) -> bool:
        """Whether a scope explains the words away for a danger of this category, so that a model alone must not
        raise it: any scope but a negation; a negation only for the danger it dropped ("ik wil niet dood, ik wil
        alleen rust"), or one of its family (harm to oneself; harm by others), not for another one the models read
        ("de hond naar het asiel, zodat die niet alleen in huis zit" drops a child alone, not the goodbye around it)."""
        if not self.cues:
            return False
        if set(self.cues) != {NEGATION} or not self.negated:
            return True
        return any(
            _DANGER_FAMILY.get(dropped, dropped) == _DANGER_FAMILY.get(category, category) for dropped in self.negated
        )


ALTERNATIVE = "|"


@dataclass(frozen=True)
class _Word:
    """One place in a phrase: a word, or (written ``arm*|pols|wrist*``) any of several, each whole or a prefix."""

    options: tuple[tuple[str, bool], ...]
    """(text, prefix) for each word that may stand here."""
    gap_before: bool

    def matches(self, token: str) -> bool:
        return any(token.startswith(text) if prefix else token == text for text, prefix in self.options)

    def may_occur(self, present: frozenset[str]) -> bool:
        return any(prefix or text in present for text, prefix in self.options)


@dataclass(frozen=True)
class Phrase:
    """A sequence of words; ``...`` between two words allows a few other words, a final ``$`` anchors the end."""

    source: str
    words: tuple[_Word, ...]
    at_end: bool = False
    weak: bool = False
    """Written with a leading "~ ": on its own it only makes an ambiguous acute assessment."""

    @classmethod
    def parse(cls, source: str, normaliser: Normaliser) -> Phrase:
        words: list[_Word] = []
        gap = False
        weak = source.startswith(WEAK)
        parts = source.removeprefix(WEAK).split()
        at_end = bool(parts) and parts[-1] == END
        for part in parts[:-1] if at_end else parts:
            if part == GAP:
                gap = True
                continue
            if ALTERNATIVE in part:
                words.append(_Word(_alternatives(part, source, normaliser), gap))
                gap = False
                continue
            prefix = part.endswith("*")
            tokens = normaliser.tokens(part.rstrip("*"))
            for index, token in enumerate(tokens):
                is_last = index == len(tokens) - 1
                words.append(_Word(((token, prefix and is_last),), gap and index == 0))
            gap = False
        if not words or words[0].gap_before or gap:
            raise ValueError(f"risk phrase {source!r}: needs words, and '...' only between two words")
        return cls(source, tuple(words), at_end, weak)

    @property
    def one_term(self) -> bool:
        """Written as one word, though chat spelling may split it ("selfharm*" reads "self harm", "self-harm"): a
        name of the subject rather than a statement about someone."""
        return len(self.source.removeprefix(WEAK).split()) == 1

    def may_match(self, present: frozenset[str]) -> bool:
        """A cheap test before the real one: a phrase can only match where all its whole words occur."""
        return all(word.may_occur(present) for word in self.words)

    def spans(
        self,
        tokens: Sequence[str],
        gap_stops: frozenset[str] = frozenset(),
        positions: Mapping[str, Sequence[int]] | None = None,
    ) -> Iterable[tuple[int, int]]:
        """Every (start, end) of a match in ``tokens``; end is exclusive. A gap never skips a word in gap_stops.

        With ``positions`` (where each distinct token occurs, see `token_positions`) only the places where the
        first word occurs are tried, which keeps a very long message fast.
        """
        for start in self._starts(tokens, positions):
            end = self._match_from(tokens, 1, start + 1, gap_stops)
            if end is not None:
                yield start, end

    def _starts(self, tokens: Sequence[str], positions: Mapping[str, Sequence[int]] | None) -> Iterable[int]:
        first = self.words[0]
        if positions is None:
            return (start for start, token in enumerate(tokens) if first.matches(token))
        if len(first.options) == 1 and not first.options[0][1]:
            return positions.get(first.options[0][0], ())
        return sorted(at for token, places in positions.items() if first.matches(token) for at in places)

    def _match_from(
        self, tokens: Sequence[str], word_index: int, position: int, gap_stops: frozenset[str]
    ) -> int | None:
        if word_index == len(self.words):
            return position if not self.at_end or position == len(tokens) else None
        word = self.words[word_index]
        reach = MAX_GAP if word.gap_before else 0
        for offset in range(reach + 1):
            at = position + offset
            if at >= len(tokens):
                return None
            if word.matches(tokens[at]):
                end = self._match_from(tokens, word_index + 1, at + 1, gap_stops)
                if end is not None:
                    return end
            if tokens[at] == _BLANK or tokens[at] in gap_stops:
                return None
        return None


def _word(item: Any) -> str:
    """A word or phrase of the file; YAML reads an unquoted yes, no, on or off as true or false, which would never
    match anything (the word "no" was silently lost that way)."""
    if isinstance(item, bool):
        raise ValueError(f"risk phrases: put yes, no, on and off in quotes (found {item!r} in a list of words)")
    return str(item)


def _alternatives(part: str, source: str, normaliser: Normaliser) -> tuple[tuple[str, bool], ...]:
    """``arm*|pols|wrist*``: each alternative one word (after the chat spellings), a trailing ``*`` a prefix."""
    options: list[tuple[str, bool]] = []
    for alternative in part.split(ALTERNATIVE):
        tokens = normaliser.tokens(alternative.rstrip("*"))
        if len(tokens) != 1:
            raise ValueError(f"risk phrase {source!r}: each of {part!r} must be one word")
        options.append((tokens[0], alternative.endswith("*")))
    return tuple(options)


def token_positions(tokens: Sequence[str]) -> dict[str, list[int]]:
    """Where each distinct token occurs, in order."""
    positions: dict[str, list[int]] = {}
    for at, token in enumerate(tokens):
        positions.setdefault(token, []).append(at)
    return positions


@dataclass(frozen=True)
class _Rule:
    level: RiskLevel
    category: str
    phrases: tuple[Phrase, ...]
    together: tuple[tuple[Phrase, ...], ...] = ()
    """Groups of phrases that count only when every phrase of the group occurs somewhere in the message."""


@dataclass(frozen=True)
class Scope:
    """Words around a match that change what it means ("niet", "vroeger", "lol", "bang dat", "zit vast voor")."""

    name: str
    where: Where
    effect: Effect
    cues: tuple[Phrase, ...]
    window: int = 3
    exceptions: tuple[Phrase, ...] = ()
    """A cue inside one of these is no cue ("niet stoppen" is no negation)."""
    unless: tuple[Phrase, ...] = ()
    """The scope does not apply when one of these occurs anywhere in the message ("vroeger ..." but "weer")."""
    categories: frozenset[str] = frozenset()
    """The categories the scope applies to; empty means all."""
    subjects: frozenset[str] = frozenset()
    """The scope applies only when the one at risk is one of these (worry: "other"); empty means anyone."""
    unless_self_word: bool = False
    """The scope does not apply when the writer speaks of themself in the clause ("waarom doe ik ...")."""
    concern_for: frozenset[str] = frozenset()
    """Categories this (dropping) scope turns into a concern instead, when the writer speaks of themself: self-harm
    in the past ("used to cut, clean two years, scared it comes back") is worth support, not the alarm."""
    concern_category: str = WORRY_CATEGORY
    """The category of such a concern (the reason a professional sees): `past_self_harm` for the past scopes."""
    stops_at_own_clause: bool = False
    """A cue before a match does not reach past "en ik", "and i": the writer goes on about themself ("mums inside for
    6 years and i keep thinking everyone would be better off")."""
    only_after: frozenset[str] = frozenset()
    """For these categories a cue explains only what follows it, never a danger told before it in the clause ("ik
    wil dood mijn zoon zit vast omdat ik hem heb aangegeven"); violence told first is the offence more often than
    not ("he hit my mum and got 3 years")."""

    silences_models: Literal["seen", "used", "sentence"] = "seen"
    """When a cue of this scope keeps a model (the learned layer, the NLU model) from raising the alarm alone:
    seen anywhere in the message ("lol"), or only when it actually dropped a phrase here (a "niet" three words
    before a match), so that "neemt niet op" elsewhere in a long message silences nothing; `sentence`: when it
    dropped a phrase or the message is that one sentence ("he got 6 years for stabbing someone" is about the
    offence; in "since my son was sentenced I'm alone. I've been thinking of ending my life" it is not)."""


@dataclass(frozen=True)
class _Message:
    """One message, tokenised, with the clause of every token and where each scope's cues were found."""

    tokens: list[str]
    clause_of: list[int]
    cue_spans: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    cues_by_clause: dict[str, dict[int, list[tuple[int, int]]]] = field(default_factory=dict)
    self_clauses: frozenset[int] = frozenset()
    own: frozenset[str] = frozenset()
    """The words the writer names themself with ("ik", "i")."""
    used: set[str] = field(default_factory=set)
    """Scopes that changed a match (dropped it, made it ambiguous or a worry)."""
    dropped: dict[str, list[str]] = field(default_factory=dict)
    """The categories of acute matches each scope dropped."""


@dataclass(frozen=True)
class _Hit:
    category: str
    level: RiskLevel
    subject: Subject
    ambiguous: bool
    weak: bool
    """A one-word phrase ("mesje", "overdose") or a "~ " phrase: the learned layer may doubt or confirm it."""
    one_word: bool = False
    """A one-word phrase ("suicidaliteit"): the word alone, which talk about the subject uses too."""


_SUBJECTS: tuple[Subject, ...] = ("self", "child", "other")
_SCOPE_STOPS = frozenset(("en", "and", "maar", "but"))
"""A cue before a match does not reach past these ("mama is nie thuis en er is geen eten": no negation of the food)."""
_CLAUSE_BREAK = re.compile(r"[.,;:!?\n()]+")
_SENTENCE_BREAK = re.compile(r"[.;!?\n]+")
_FIRST_SENTENCE = re.compile(r"[.:;!?\n]+")
REPORTER_INTRODUCTION_WORDS = 8
"""At most this many words in a first sentence that only says who writes ("ik ben leerkracht groep 6")."""


class SafetyNet:
    """Assesses one message against the phrase lists, the scopes around a match, and optionally a learned layer."""

    def __init__(
        self,
        rules: Sequence[_Rule],
        idioms: Sequence[Phrase],
        normaliser: Normaliser,
        gap_stops: frozenset[str] = frozenset(),
        scopes: Sequence[Scope] = (),
        persons: Mapping[str, frozenset[str]] | None = None,
        clause_words: frozenset[str] = frozenset(),
        symbols: Mapping[str, str] | None = None,
        learned: LearnedRisk | None = None,
        after_alarm: Sequence[_Rule] = (),
        after_alarm_unless: Sequence[Phrase] = (),
        exasperation: Sequence[Phrase] = (),
        exasperation_unless: Sequence[Phrase] = (),
        reporters: Sequence[Phrase] = (),
    ) -> None:
        self._rules = rules
        self._idioms = idioms
        self._exasperation = exasperation
        self._exasperation_unless = exasperation_unless
        self._reporters = reporters
        self._normaliser = normaliser
        self._gap_stops = gap_stops
        self._scopes = scopes
        self._persons = persons or {}
        self._possessives = frozenset(token for word in _POSSESSIVES for token in normaliser.tokens(word))
        self._clause_words = clause_words
        self._symbols = symbols or {}
        self.learned = learned
        self._after_alarm = after_alarm
        self._after_alarm_unless = after_alarm_unless
        self.levels = {rule.category: rule.level for rule in rules}

    @classmethod
    def from_yaml(cls, path: Path = DEFAULT_PHRASES, learned: LearnedRisk | None = None) -> SafetyNet:
        with path.open(encoding="utf-8") as handle:
            return cls.from_mapping(yaml.safe_load(handle), learned)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], learned: LearnedRisk | None = None) -> SafetyNet:
        normaliser = Normaliser(data.get("spelling") or {})

        def parse_all(items: Iterable[Any]) -> tuple[Phrase, ...]:
            return tuple(Phrase.parse(_word(item), normaliser) for item in items or ())

        rules: list[_Rule] = []
        for level in (RiskLevel.ACUTE, RiskLevel.CONCERN):
            for category, phrases in (data.get(level.label) or {}).items():
                words = [_word(p) for p in phrases]
                plain = [p for p in words if " & " not in p]
                groups = tuple(parse_all(p.split(" & ")) for p in words if " & " in p)
                rules.append(_Rule(level, str(category), parse_all(plain), groups))
        gap_stops = frozenset(token for word in data.get("gap_stops") or [] for token in normaliser.tokens(_word(word)))
        persons = {
            str(who): frozenset(t for word in words for t in normaliser.tokens(_word(word)))
            for who, words in (data.get("persons") or {}).items()
        }
        clause_words = frozenset(t for word in data.get("clause_words") or [] for t in normaliser.tokens(_word(word)))
        scopes = [_parse_scope(str(name), spec, parse_all) for name, spec in (data.get("scopes") or {}).items()]
        symbols = {str(k): str(v) for k, v in (data.get("symbols") or {}).items()}
        after = dict(data.get("after_alarm") or {})
        after_unless = parse_all(after.pop("unless", None) or [])
        after_rules = [_Rule(RiskLevel.ACUTE, str(category), parse_all(phrases)) for category, phrases in after.items()]
        exasperated = data.get("parents_exasperated") or {}
        return cls(
            rules,
            parse_all(data.get("harmless") or []),
            normaliser,
            gap_stops,
            scopes,
            persons,
            clause_words,
            symbols,
            learned,
            after_rules,
            after_unless,
            parse_all(exasperated.get("phrases") or []),
            parse_all(exasperated.get("unless") or []),
            parse_all(data.get("reporters") or []),
        )

    def _read(self, text: str) -> tuple[_Message, bool]:
        for symbol, word in self._symbols.items():
            if symbol in text:
                text = text.replace(symbol, f" {word} ")
        tokens: list[str] = []
        clause_of: list[int] = []
        clause = 0
        for piece in _CLAUSE_BREAK.split(text):
            for token in self._normaliser.tokens(piece):
                if token in self._clause_words:
                    clause += 1
                tokens.append(token)
                clause_of.append(clause)
            clause += 1
        idiom = False
        present = frozenset(tokens)
        threat_told = self._any_occurs(self._exasperation_unless, tokens)
        idioms = self._idioms if threat_told else (*self._idioms, *self._exasperation)
        for phrase in (p for p in idioms if p.may_match(present)):
            for start, end in list(phrase.spans(tokens, self._gap_stops)):
                tokens[start:end] = [_BLANK] * (end - start)
                idiom = True
        own = self._persons.get("self", frozenset())
        own_clauses = frozenset(c for t, c in zip(tokens, clause_of, strict=True) if t in own)
        message = _Message(tokens, clause_of, self_clauses=own_clauses, own=own)
        positions = token_positions(tokens)
        present = frozenset(positions)
        for scope in self._scopes:
            spans = _cue_spans(scope, tokens, present, positions, self._gap_stops)
            message.cue_spans[scope.name] = spans
            by_clause: dict[int, list[tuple[int, int]]] = {}
            for span in spans:
                by_clause.setdefault(clause_of[span[0]], []).append(span)
            message.cues_by_clause[scope.name] = by_clause
        return message, idiom

    def assess(self, text: str, learned: bool = True) -> Assessment:
        """The verdict on one message; `learned=False`: the rules alone (no embedding: microseconds, not
        milliseconds), enough to know whether the full alarm goes off, which the learned layer alone never raises."""
        message, idiom = self._read(text)
        hits = self._hits(message)
        one_sentence = len([part for part in _SENTENCE_BREAK.split(text) if part.strip()]) <= 1
        cues = tuple(
            scope.name
            for scope in self._scopes
            if message.cue_spans.get(scope.name)
            and (
                scope.silences_models == "seen"
                or scope.name in message.used
                or (scope.silences_models == "sentence" and one_sentence)
            )
        )
        assessment = _summarise(hits, idiom, cues)
        negated = tuple(dict.fromkeys(message.dropped.get(NEGATION, ())))
        if negated:
            assessment = replace(assessment, negated=negated)
        if self.learned is None or not text.strip():
            return assessment
        if not learned:  # a lone weak hit may yet be doubted by the learned layer: not a sure alarm without it
            weak_only = all(hit.weak for hit in hits if hit.level is RiskLevel.ACUTE)
            return replace(assessment, ambiguous=True) if assessment.alarm and weak_only else assessment
        return self._with_learned(text, assessment, hits)

    def report_of(self, text: str) -> str | None:
        """What a reporter says after introducing themself in a short first sentence ("youth worker here. a 15yo
        just texted me she's on the roof"), or None. The embedding of the whole message leans to the introduction
        (a professional's question, an ordinary topic), so the readings of danger also read the report alone."""
        parts = _FIRST_SENTENCE.split(text, maxsplit=1)
        if len(parts) < 2 or not long_enough(parts[1]):
            return None
        tokens = self._normaliser.tokens(parts[0])
        if not tokens or len(tokens) > REPORTER_INTRODUCTION_WORDS:
            return None
        return parts[1].strip() if self._any_occurs(self._reporters, tokens) else None

    def names_reporter(self, text: str) -> bool:
        """A reporter's role is named anywhere in the message ("als mentor", "GP receptionist here")."""
        return self._any_occurs(self._reporters, self._normaliser.tokens(text))

    def _any_occurs(self, phrases: Iterable[Phrase], tokens: Sequence[str]) -> bool:
        """Whether any of `phrases` occurs in `tokens` (gaps never skip a word of `gap_stops`)."""
        present = frozenset(tokens)
        return any(p.may_match(present) and any(p.spans(tokens, self._gap_stops)) for p in phrases)

    def holds_on(self, text: str, category: str) -> bool:
        """Right after the crisis lines for `category`: does this answer hold on to the danger ("ik heb het al
        besloten", "nobody can stop me")? Words that only mean that in this context (`after_alarm` in the phrase
        file), judged against the same scopes, so "ik heb nog niks besloten" or "decided to call 113" is not."""
        message, _ = self._read(text)
        tokens = message.tokens
        positions = token_positions(tokens)
        present = frozenset(positions)
        if any(any(True for _ in p.spans(tokens, frozenset(), positions)) for p in self._after_alarm_unless):
            return False
        for rule in self._after_alarm:
            if rule.category != category:
                continue
            for phrase in (p for p in rule.phrases if p.may_match(present)):
                for start, end in phrase.spans(tokens, self._gap_stops, positions):
                    hit = self._judge(rule, start, end, message, phrase)
                    if hit is not None and hit.level is RiskLevel.ACUTE and not hit.ambiguous:
                        return True
        return False

    def _hits(self, message: _Message) -> list[_Hit]:
        tokens = message.tokens
        positions = token_positions(tokens)
        present = frozenset(positions)
        hits: list[_Hit] = []
        for rule in self._rules:
            settled = False  # one clear hit settles a rule; a very long message need not be judged span by span
            for phrase in (p for p in rule.phrases if p.may_match(present)):
                for judged, (start, end) in enumerate(phrase.spans(tokens, self._gap_stops, positions)):
                    hit = self._judge(rule, start, end, message, phrase)
                    if hit is not None:
                        hits.append(hit)
                        settled = hit.level is rule.level and not hit.ambiguous
                    if settled or judged >= MAX_JUDGED:
                        break
                if settled:
                    break
            for group in rule.together:
                hit = self._judge_group(rule, group, message, positions)
                if hit is not None:
                    hits.append(hit)
        return hits

    def _judge_group(
        self, rule: _Rule, group: Sequence[Phrase], message: _Message, positions: Mapping[str, Sequence[int]]
    ) -> _Hit | None:
        """Phrases that count only together ("dronken & baby"): each must occur, and each is judged against the
        scopes like a phrase of its own, so "vroeger was ze dronken & baby" is dropped by the past."""
        judged: list[_Hit] = []
        for phrase in group:
            span = next(iter(phrase.spans(message.tokens, self._gap_stops, positions)), None)
            if span is None:
                return None
            hit = self._judge(rule, span[0], span[1], message, phrase)
            if hit is None:
                return None
            judged.append(hit)
        level = min(hit.level for hit in judged)
        category = rule.category if level is rule.level else WORRY_CATEGORY
        subject = "child" if rule.category == "child_unsafe" else judged[0].subject
        ambiguous = any(hit.ambiguous for hit in judged) and level is RiskLevel.ACUTE
        return _Hit(category, level, subject, ambiguous, weak=False)

    def _subject(self, category: str, start: int, end: int, message: _Message) -> Subject:
        """Who is at risk: the victim after a violent verb, else the nearest person before a self-harm phrase."""
        tokens, clause = message.tokens, message.clause_of[start]
        if category == "child_unsafe":
            return "child"
        if category == "violence":
            after = range(start, min(end + 4, len(tokens)))
            words = [tokens[i] for i in after if message.clause_of[i] == clause]
            victims: tuple[Subject, ...] = ("self", "child")
            for victim in victims:
                if any(word in self._persons.get(victim, ()) for word in words):
                    return victim
            return "self"
        inside = tokens[start:end]
        if any(word in self._persons.get("self", ()) for word in inside):
            return "self"
        if self._possessives.intersection(inside) and any(word in self._persons.get("child", ()) for word in tokens):
            return "child"  # "sneetjes op haar onderarm", told of a girl of 14: her cuts, not the writer's
        for at in range(start - 1, max(start - 8, -1), -1):
            if message.clause_of[at] != clause:
                break
            for who in _SUBJECTS:
                if tokens[at] in self._persons.get(who, ()):
                    return who
        return "self"

    @staticmethod
    def _self_word_in_clause(at: int, message: _Message) -> bool:
        return message.clause_of[at] in message.self_clauses

    def _judge(self, rule: _Rule, start: int, end: int, message: _Message, phrase: Phrase) -> _Hit | None:
        subject = self._subject(rule.category, start, end, message)
        level, category, ambiguous = rule.level, rule.category, phrase.weak
        for scope in self._scopes:
            if scope.categories and rule.category not in scope.categories:
                continue
            if scope.subjects and subject not in scope.subjects:
                continue
            if scope.unless_self_word and self._self_word_in_clause(start, message):
                continue
            if not _in_scope(scope, start, end, message, rule.category):
                continue
            message.used.add(scope.name)
            if scope.effect == "drop" and rule.category in scope.concern_for and subject in ("self", "child"):
                if level is RiskLevel.ACUTE:
                    level, category = RiskLevel.CONCERN, scope.concern_category
                continue
            if scope.effect == "drop":
                if rule.level is RiskLevel.ACUTE:
                    message.dropped.setdefault(scope.name, []).append(rule.category)
                return None
            if scope.effect == "ambiguous":
                ambiguous = True
            elif scope.effect == "concern" and level is RiskLevel.ACUTE:
                level, category = RiskLevel.CONCERN, WORRY_CATEGORY
        one_word = phrase.one_term and not phrase.weak
        return _Hit(category, level, subject, ambiguous and level is RiskLevel.ACUTE, phrase.weak or one_word, one_word)

    def _with_learned(self, text: str, assessment: Assessment, hits: Sequence[_Hit]) -> Assessment:
        """Rules decide clear cases; the learned layer raises what they miss and doubts a weak, lone rule hit."""
        assert self.learned is not None
        verdict = self.learned.assess(text)
        report = self.report_of(text)
        if report is not None:
            verdict = max(verdict, self.learned.assess(report), key=lambda reading: reading.acute_score)
        result = replace(assessment, learned_score=verdict.acute_score)
        acute_hits = [hit for hit in hits if hit.level is RiskLevel.ACUTE]
        if assessment.alarm:
            if all(hit.weak for hit in acute_hits) and verdict.acute_score < self.learned.doubt_below:
                return replace(result, ambiguous=True)
            return result
        if assessment.level is RiskLevel.ACUTE or assessment.idiom:
            return result  # already ambiguous, or an idiom explains the words: the model must not overrule it
        raised = verdict.level is RiskLevel.ACUTE
        if assessment.cues and not (raised and not assessment.explained_for(verdict.category)):
            return result  # a scope explains the words: the model must not overrule it
        if raised and long_enough(text):
            sure = verdict.acute_score >= self.learned.alarm_above
            return replace(
                result, level=RiskLevel.ACUTE, categories=(verdict.category,), ambiguous=not sure, learned_only=True
            )
        if verdict.level is RiskLevel.CONCERN and assessment.level is RiskLevel.NONE and long_enough(text):
            return replace(result, level=RiskLevel.CONCERN, categories=(verdict.category,))
        return result


def _parse_scope(name: str, spec: Mapping[str, Any], parse_all: Any) -> Scope:
    where = str(spec.get("where", "before"))
    effect = str(spec.get("effect", "drop"))
    silences = str(spec.get("silences_models", "seen"))
    if where not in ("before", "clause", "message") or effect not in ("drop", "ambiguous", "concern"):
        raise ValueError(f"scope {name!r}: where must be before|clause|message, effect drop|ambiguous|concern")
    if silences not in ("seen", "used", "sentence"):
        raise ValueError(f"scope {name!r}: silences_models must be seen|used|sentence")
    return Scope(
        name=name,
        where=where,  # type: ignore[arg-type]
        effect=effect,  # type: ignore[arg-type]
        cues=parse_all(spec.get("cues")),
        window=int(spec.get("window", 3)),
        exceptions=parse_all(spec.get("except")),
        unless=parse_all(spec.get("unless")),
        categories=frozenset(str(c) for c in spec.get("categories") or ()),
        subjects=frozenset(str(c) for c in spec.get("subjects") or ()),
        unless_self_word=bool(spec.get("unless_self_word", False)),
        stops_at_own_clause=bool(spec.get("stops_at_own_clause", False)),
        only_after=frozenset(str(c) for c in spec.get("only_after") or ()),
        concern_for=frozenset(str(c) for c in spec.get("concern_for") or ()),
        concern_category=str(spec.get("concern_category", WORRY_CATEGORY)),
        silences_models=silences,  # type: ignore[arg-type]
    )


def _cue_spans(
    scope: Scope,
    tokens: Sequence[str],
    present: frozenset[str],
    positions: Mapping[str, Sequence[int]],
    gap_stops: frozenset[str],
) -> list[tuple[int, int]]:
    if any(any(True for _ in p.spans(tokens, frozenset(), positions)) for p in scope.unless if p.may_match(present)):
        return []
    spans = [s for p in scope.cues if p.may_match(present) for s in p.spans(tokens, frozenset(), positions)]
    if not spans:
        return spans
    covered = {
        at
        for p in scope.exceptions
        if p.may_match(present)
        for start, end in p.spans(tokens, gap_stops, positions)
        for at in range(start, end)
    }
    return [(a, b) for a, b in spans if not all(at in covered for at in range(a, b))]


def _in_scope(scope: Scope, start: int, end: int, message: _Message, category: str) -> bool:
    if scope.where == "message":
        spans: Iterable[tuple[int, int]] = message.cue_spans.get(scope.name, ())
    else:
        spans = message.cues_by_clause.get(scope.name, {}).get(message.clause_of[start], ())
    for cue_start, cue_end in spans:
        if cue_start < end and start < cue_end:
            continue  # the cue is part of the match itself ("niet meer leven")
        if scope.stops_at_own_clause and cue_end <= start and _own_clause_between(message, cue_end, start):
            continue
        if category in scope.only_after and cue_start > start:
            continue
        if scope.where != "before":
            return True
        between = message.tokens[cue_end:start]
        if cue_end <= start and start - cue_end <= scope.window and not _SCOPE_STOPS.intersection(between):
            return True
    return False


def _own_clause_between(message: _Message, after: int, before: int) -> bool:
    """ "en ik", "and i" between a cue and a match: a clause of the writer's own begins there."""
    tokens = message.tokens
    last = min(before, len(tokens) - 1)
    return any(tokens[at] in _SCOPE_STOPS and tokens[at + 1] in message.own for at in range(after, last))


def _summarise(hits: Sequence[_Hit], idiom: bool, cues: tuple[str, ...]) -> Assessment:
    if not hits:
        return Assessment(RiskLevel.NONE, (), idiom, cues=cues)
    level = max(hit.level for hit in hits)
    top = [hit for hit in hits if hit.level == level]
    categories = tuple(dict.fromkeys(hit.category for hit in top))
    ambiguous = all(hit.ambiguous for hit in top)
    order: tuple[Subject, ...] = ("self", "child", "other")
    subject = next(who for who in order if any(hit.subject == who for hit in top))
    one_word = level is RiskLevel.ACUTE and all(hit.one_word for hit in top)
    return Assessment(level, categories, idiom, ambiguous, subject, cues, one_word=one_word)
