"""What the bot says, loaded from the YAML in `responses/` (content that professionals edit, not code).

Loading checks the content's shape, so a broken edit is caught by `make test` and at start-up rather than in
the middle of a conversation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.config import ROOT

RESPONSES = ROOT / "responses"
LANGUAGES: tuple[str, ...] = ("nl", "en")
AUDIENCES: tuple[str, ...] = ("parent", "youth", "professional")
# Audiences that must have their own text; a professional falls back to the parent text.
REQUIRED_AUDIENCES: tuple[str, ...] = ("parent", "youth")
# Every text the handoff desk writes in the professionals' group.
GROUP_TEXTS: tuple[str, ...] = (
    "topic_name",
    "urgency.urgent",
    "urgency.normal",
    *(f"audience.{audience}" for audience in (*AUDIENCES, "unknown")),
    *(
        f"reason.{reason}"
        for reason in (
            "suicidal",
            "self_harm",
            "violence",
            "child_unsafe",
            "not_coping",
            "sleep",
            "substance",
            "child_withdrawal",
            "school_absence",
            "bullying",
            "request",
        )
    ),
    "card",
    "transcript_none",
    "transcript_header",
    "alert_urgent",
    "alert_normal",
    "realert",
    "claimed",
    "already_claimed",
    "not_open",
    "user_message",
    "user_message_part",
    "cut_marker",
    "user_non_text",
    "flag",
    "user_stopped",
    "user_forgot",
    "closed",
    "text_only",
    "edit_not_relayed",
    "list_header",
    "list_item",
    "list_empty",
    "name_set",
    "name_usage",
    "default_name",
    "buttons.claim",
    "buttons.close",
)


class ContentError(ValueError):
    """The content in responses/ is missing something or malformed."""


@dataclass(frozen=True)
class Answer:
    intent: str
    text: str
    follow_up: tuple[str, ...]
    source: str
    reviewed: str


def _load_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except yaml.YAMLError as error:
        raise ContentError(f"{path.parent.name}/{path.name}: not valid YAML: {error}") from error


def _text(node: Any, where: str) -> str:
    if not isinstance(node, str) or not node.strip():
        raise ContentError(f"{where}: missing text")
    return node.strip()


class Content:
    def __init__(
        self,
        ui: Mapping[str, Any],
        crisis: Mapping[str, Any],
        answers: Mapping[str, Any],
        group: Mapping[str, Any],
    ) -> None:
        self._ui = ui
        self._crisis = crisis
        self._answers = answers
        self._group = group

    @classmethod
    def load(cls, folder: Path = RESPONSES) -> Content:
        answers: dict[str, Any] = {}
        for path in sorted((folder / "answers").glob("*.yml")):
            for intent, entry in (_load_yaml(path) or {}).items():
                if intent in answers:
                    raise ContentError(f"answers/{path.name}: {intent} is answered in two files")
                answers[intent] = entry
        content = cls(
            _load_yaml(folder / "ui.yml"),
            _load_yaml(folder / "crisis.yml"),
            answers,
            _load_yaml(folder / "handoff.yml"),
        )
        content.check()
        return content

    # -- checks ----------------------------------------------------------------------------------------------

    def check(self) -> None:
        """Raise ContentError on the first missing or malformed piece."""
        for intent in self._answers:
            for audience in REQUIRED_AUDIENCES:
                for language in LANGUAGES:
                    self.answer(intent, audience, language)
            entry = self._answers[intent]
            for key in ("source", "reviewed"):
                if not str(entry.get(key) or "").strip():
                    raise ContentError(f"answer {intent}: missing {key}")
            for topic in entry.get("follow_up") or []:
                self.topic_label(topic, "nl")
        for key, value in self._ui.items():
            if key in ("yes_words", "no_words"):
                continue
            self._check_languages(value, f"ui.yml {key}")
        for category, per_audience in self._crisis["categories"].items():
            for audience in AUDIENCES:
                for line in per_audience[audience]:
                    for language in LANGUAGES:
                        _text(self._crisis["lines"][line][language], f"crisis.yml line {line}")
                for language in LANGUAGES:
                    self.crisis_lines((category,), audience, language)

        for path in GROUP_TEXTS:
            self.group(*path.split("."))

    def _check_languages(self, node: Any, where: str) -> None:
        if isinstance(node, Mapping) and set(LANGUAGES) <= set(node):
            for language in LANGUAGES:
                _text(node[language], f"{where}.{language}")
        elif isinstance(node, Mapping):
            for key, value in node.items():
                self._check_languages(value, f"{where}.{key}")
        else:
            raise ContentError(f"{where}: expected a text per language (nl, en)")

    # -- lookups ---------------------------------------------------------------------------------------------

    @property
    def intents(self) -> tuple[str, ...]:
        return tuple(self._answers)

    def answer(self, intent: str, audience: str, language: str) -> Answer:
        entry = self._answers.get(intent)
        if entry is None:
            raise ContentError(f"no answer for intent {intent}")
        texts = entry.get("text") or {}
        chosen = texts.get(audience) or texts.get("parent") or {}
        return Answer(
            intent=intent,
            text=_text(chosen.get(language), f"answer {intent}.{audience}.{language}"),
            follow_up=tuple(entry.get("follow_up") or ()),
            source=str(entry.get("source", "")),
            reviewed=str(entry.get("reviewed", "")),
        )

    def has_answer(self, intent: str) -> bool:
        return intent in self._answers

    def ui(self, key: str, language: str, audience: str | None = None) -> str:
        node = self._ui[key]
        if audience is not None and audience in node:
            node = node[audience]
        elif "parent" in node and language not in node:
            node = node["parent"]
        return _text(node[language], f"ui.yml {key}")

    def button(self, key: str, language: str) -> str:
        return _text(self._ui["buttons"][key][language], f"ui.yml buttons.{key}")

    def topic_label(self, topic: str, language: str) -> str:
        try:
            return _text(self._ui["topics"][topic][language], f"ui.yml topics.{topic}")
        except KeyError as error:
            raise ContentError(f"ui.yml topics: no label for {topic}") from error

    def group(self, *path: str) -> str:
        """A text for the professionals' group (responses/handoff.yml)."""
        node: Any = self._group
        for part in path:
            if not isinstance(node, Mapping) or part not in node:
                raise ContentError(f"handoff.yml: missing {'.'.join(path)}")
            node = node[part]
        return _text(node, f"handoff.yml {'.'.join(path)}")

    def words(self, key: str) -> frozenset[str]:
        return frozenset(str(word) for word in self._ui[key])

    def crisis_lines(self, categories: tuple[str, ...], audience: str, language: str) -> str:
        """The crisis text for one or more categories, each line listed once."""
        crisis = self._crisis
        names: list[str] = []
        for category in categories or ("suicidal",):
            per_audience = crisis["categories"].get(category) or crisis["categories"]["suicidal"]
            names.extend(name for name in per_audience[audience] if name not in names)
        lines = [f"• {_text(crisis['lines'][name][language], f'crisis.yml {name}')}" for name in names]
        intro = _text(crisis["intro"][audience][language], f"crisis.yml intro.{audience}")
        return intro + "\n\n" + "\n".join(lines)
