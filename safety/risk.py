"""The safety net: a rule layer that spots risk in a message without the NLU service.

It runs first on every message. Phrases live in ``risk_phrases.yml`` so that professionals can add what they
hear; see that file for the phrase syntax. Idioms that only sound alarming ("ik schaam me dood") are blanked out
before any risk phrase is tried, so they cannot set one off, while a real signal in the same message still does.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from safety.normalise import Normaliser

DEFAULT_PHRASES = Path(__file__).with_name("risk_phrases.yml")
GAP = "..."
END = "$"
MAX_GAP = 4
_BLANK = ""


class RiskLevel(enum.IntEnum):
    """Ordered so that ``max`` picks the most serious level."""

    NONE = 0
    CONCERN = 1
    ACUTE = 2

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Assessment:
    level: RiskLevel
    categories: tuple[str, ...] = ()
    idiom: bool = False
    """An alarming-sounding idiom was present (and neutralised)."""


@dataclass(frozen=True)
class _Word:
    text: str
    prefix: bool
    gap_before: bool

    def matches(self, token: str) -> bool:
        return token.startswith(self.text) if self.prefix else token == self.text


@dataclass(frozen=True)
class Phrase:
    """A sequence of words; ``...`` between two words allows a few other words, a final ``$`` anchors the end."""

    source: str
    words: tuple[_Word, ...]
    at_end: bool = False

    @classmethod
    def parse(cls, source: str, normaliser: Normaliser) -> Phrase:
        words: list[_Word] = []
        gap = False
        parts = source.split()
        at_end = bool(parts) and parts[-1] == END
        for part in parts[:-1] if at_end else parts:
            if part == GAP:
                gap = True
                continue
            prefix = part.endswith("*")
            tokens = normaliser.tokens(part.rstrip("*"))
            for index, token in enumerate(tokens):
                is_last = index == len(tokens) - 1
                words.append(_Word(token, prefix and is_last, gap and index == 0))
            gap = False
        if not words or words[0].gap_before or gap:
            raise ValueError(f"risk phrase {source!r}: needs words, and '...' only between two words")
        return cls(source, tuple(words), at_end)

    def may_match(self, present: frozenset[str]) -> bool:
        """A cheap test before the real one: a phrase can only match where all its whole words occur."""
        return all(word.prefix or word.text in present for word in self.words)

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
        if not first.prefix:
            return positions.get(first.text, ())
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


class SafetyNet:
    """Assesses one message against the phrase lists."""

    def __init__(
        self,
        rules: Sequence[_Rule],
        idioms: Sequence[Phrase],
        normaliser: Normaliser,
        gap_stops: frozenset[str] = frozenset(),
    ) -> None:
        self._rules = rules
        self._idioms = idioms
        self._normaliser = normaliser
        self._gap_stops = gap_stops
        self.levels = {rule.category: rule.level for rule in rules}

    @classmethod
    def from_yaml(cls, path: Path = DEFAULT_PHRASES) -> SafetyNet:
        with path.open(encoding="utf-8") as handle:
            return cls.from_mapping(yaml.safe_load(handle))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SafetyNet:
        normaliser = Normaliser(data.get("spelling") or {})
        rules: list[_Rule] = []
        for level in (RiskLevel.ACUTE, RiskLevel.CONCERN):
            for category, phrases in (data.get(level.label) or {}).items():
                parsed = tuple(Phrase.parse(str(p), normaliser) for p in phrases)
                rules.append(_Rule(level, str(category), parsed))
        idioms = tuple(Phrase.parse(str(p), normaliser) for p in data.get("harmless") or [])
        gap_stops = frozenset(token for word in data.get("gap_stops") or [] for token in normaliser.tokens(str(word)))
        return cls(rules, idioms, normaliser, gap_stops)

    def assess(self, text: str) -> Assessment:
        tokens = self._normaliser.tokens(text)
        idiom = False
        present = frozenset(tokens)
        for phrase in (p for p in self._idioms if p.may_match(present)):
            for start, end in list(phrase.spans(tokens, self._gap_stops)):
                tokens[start:end] = [_BLANK] * (end - start)
                idiom = True
        positions = token_positions(tokens)
        present = frozenset(positions)
        level = RiskLevel.NONE
        found: list[str] = []
        for rule in self._rules:
            candidates = (phrase for phrase in rule.phrases if phrase.may_match(present))
            if any(True for phrase in candidates for _ in phrase.spans(tokens, self._gap_stops, positions)):
                found.append(rule.category)
                level = max(level, rule.level)
        categories = tuple(c for c in found if self.levels[c] == level)
        return Assessment(level, categories, idiom)
