"""What the bot says, loaded from the YAML in `responses/` (content that professionals edit, not code).

Loading checks the content's shape, so a broken edit is caught by `make test` and at start-up rather than in
the middle of a conversation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from bot.config import ROOT

RESPONSES = ROOT / "responses"
LANGUAGES: tuple[str, ...] = ("nl", "en")
AUDIENCES: tuple[str, ...] = ("parent", "youth", "professional")
# The family of danger whose answers after the lines serve another's: a child's danger is answered with the violence
# texts, someone else's suicidal danger with the 113 texts.
FAMILY_FALLBACK = {"child": "violence", "someone": "suicide"}
# Whose danger it may be besides the writer's own (safety.risk Subject), and the dangers where that changes the lines.
SOMEONE: tuple[str, ...] = ("child", "other")
SUICIDE_CATEGORIES = frozenset(("suicidal", "self_harm"))
# Every text the code asks ui.yml for (`Content.ui`, `.button`, `.words`): renaming or deleting one of these keys in
# ui.yml fails `make content` and start-up, naming the key. Texts per audience are checked for every audience they
# have; `tests/test_content.py` fails when the code uses a ui.yml key that is not listed here.
UI_TEXTS: tuple[str, ...] = (
    "acknowledged", "acknowledged_after_lines", "after_crisis_suicide", "after_crisis_violence", "alarm_corrected",
    "alarm_taken_back",
    "answer_recalled", "answer_for_parent", "answer_for_professional", "answer_for_youth", "answer_repeated",
    "ask_child_age", "ask_first_visit", "ask_municipality", "audience_chosen", "cards_header", "change_role",
    "role_switched",
    "check_in", "choose_role_reminder", "concern_no_desk", "concern_offer", "concern_offer_professional",
    "confirm_risk_self", "confirm_risk_violence", "crisis_again", "crisis_again_more", "crisis_check_in_suicide",
    "crisis_check_in_violence", "crisis_check_in_someone",
    "crisis_no_desk", "crisis_no_desk_again", "crisis_offer", "day_and_night_lines", "edit_not_relayed",
    "emoji_only", "feedback_thanks", "forget_confirm", "forget_confirm_live", "forget_done", "forget_done_chat",
    "forget_done_group",
    "forget_expired", "forget_kept", "forget_none", "handoff_declined", "handoff_joined", "handoff_left",
    "handoff_message", "handoff_next_opening", "handoff_offer", "handoff_outside_hours", "handoff_parked",
    "handoff_still_waiting", "handoff_stopped", "handoff_text_only", "handoff_waiting", "handoff_waiting_acute",
    "help", "language_set", "local_help", "local_help_found", "local_help_unknown", "low_confidence", "menu",
    "mydata_case",
    "mydata_case_closed", "mydata_case_transcript_no", "mydata_case_transcript_yes", "mydata_case_who",
    "mydata_cases", "mydata_cases_none", "mydata_child_age", "mydata_first_visit_no", "mydata_first_visit_yes",
    "mydata_footer", "mydata_intro", "mydata_language", "mydata_municipality", "mydata_inside", "mydata_carer",
    "mydata_none", "mydata_role",
    "mydata_safety_check", "mydata_step", "mydata_updated", "nlu_down", "no_desk", "no_desk_after_lines",
    "no_desk_again", "no_desk_detail", "no_desk_yes", "non_text",
    "park_offer", "prison_pointer", "professional_named", "professional_unnamed", "safety_check",
    "safety_check_again", "safety_footer", "safety_footer_violence", "several_ages_intro", "slow_down", "stopped",
    "tentative_lead",
    "tentative_other", "transcript_kept",
    "transcript_offer", "transcript_shared", "unavailable", "unknown_command", "visit_age_id", "visit_age_no_id",
    "welcome",
)  # fmt: skip
UI_WORDS: tuple[str, ...] = (
    "yes_words", "no_words", "skip_words", "acknowledgement_words", "correction_phrases", "retraction_phrases",
    "resignation_phrases",
    "after_crisis_words",
    "child_words", "knowing_words", "differs_words", "differs_answer_words", "watched_answer_words",
    "birthday_words", "turning_words", "gift_words", "shame_words",
    "veilig_thuis_phrases", "appreciation_words", "exclamation_words",
    "self_named_words", "youth_named_words", "parent_named_words", "professional_named_words", "leaving_words",
    "role_change_words", "id_words", "topic_switch_phrases", "obliged_phrases", "visit_words", "how_many_phrases",
    "wound_words", "go_on_words", "go_on_then_words", "go_on_filler_words", "role_youth_words", "role_carer_words",
    "role_own_family_words", "role_professional_words", "happening_now_phrases",
)  # fmt: skip
UI_BUTTONS: tuple[str, ...] = (
    "parent", "youth", "professional", "switch_language", "menu", "skip", "safe_ok", "safe_not_ok",
    "yes_handoff", "no_handoff", "meant_yes", "meant_no",
    "transcript_yes", "transcript_no", "park_yes", "park_no", "forget_yes", "forget_no",
    "child_age_under_4", "child_age_4_8", "child_age_8_12", "child_age_teen", "first_visit_yes", "first_visit_no",
    "feedback_up", "feedback_down",
)  # fmt: skip
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
            "child_behaviour",
            "school_absence",
            "bullying",
            "worry_other",
            "past_self_harm",
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
    "user_unreachable",
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


SLOTS: tuple[str, ...] = ("child_age", "first_visit", "municipality")
"""What the bot may ask once and remember for the conversation (see storage.Conversation)."""
SLOT_CHOICES: dict[str, tuple[str, ...]] = {
    "child_age": ("under_4", "4_8", "8_12", "teen"),
    "first_visit": ("yes", "no"),
    "municipality": (),
}
REFERRAL_QUESTIONS: tuple[str, ...] = ("age", "worry", "help", "municipality")
"""The referral guide's questions for professionals, in the order they are asked (responses/referral.yml)."""
REFERRAL_CHOICES: dict[str, tuple[str, ...]] = {
    "age": SLOT_CHOICES["child_age"],
    "worry": ("safety", "school", "behaviour", "money", "contact", "wellbeing"),
    "help": ("none", "school_gp", "youth_care", "unknown"),
    "municipality": (),
}
REFERRAL_TEXTS: tuple[str, ...] = (
    "label", "intro", "path_header", "cards_header", "municipality_local", "municipality_lookup",
    "municipality_unknown", "meldcode", "tell_family_header", "family_header", "left", "restart", "skipped",
)  # fmt: skip
REFERRAL_GENERAL = "general"
"""The path when the worry was skipped."""
STALE_AFTER = timedelta(days=365)
"""Answers not reviewed for longer than this are reported (not refused)."""
# Dutch phone numbers as the bot writes them: 112, 113, 0800-0113, 088-0767 000, 079-331 05 68, 0800-5463-000.
PHONE = re.compile(r"^(11[23]|0[0-9]{2,3}-[0-9]{3,4}( ?[0-9]{2,3})*(-[0-9]{3})?)$")
URL = re.compile(r"^https://[a-z0-9-]+(\.[a-z0-9-]+)+(/[^\s]*)?$", re.IGNORECASE)
SOURCE_PAGE = re.compile(r"^https?://[a-z0-9-]+(\.[a-z0-9-]+)+(/[^\s]*)?$", re.IGNORECASE)
"""A source is cited as it was read (some public pages are plain http); a website the bot shows must be https."""
REGION = re.compile(r"^(national|municipality|(municipality|province):'?[^\W\d_][\w' -]*)$")


@dataclass(frozen=True)
class Answer:
    intent: str
    text: str
    follow_up: tuple[str, ...]
    organisations: tuple[str, ...]
    local_help: bool
    source: str
    reviewed: str


@dataclass(frozen=True)
class Ask:
    """One short question the bot asks before an answer, and which answer each reply leads to."""

    slot: str
    audiences: tuple[str, ...]
    choose: Mapping[str, str]


@dataclass(frozen=True)
class Organisation:
    id: str
    name: str
    offers: Mapping[str, str]
    audiences: tuple[str, ...]
    phone: str | None
    website: str | None
    email: str | None
    hours: Mapping[str, str] | None
    region: str
    topics: tuple[str, ...]

    def serves(self, municipality: str | None) -> bool:
        """National entries serve everyone; local ones only their own municipality."""
        kind, _, place = self.region.partition(":")
        if kind in ("national", "municipality") and not place:
            return True
        return kind == "municipality" and municipality is not None and place.casefold() == municipality.casefold()


@dataclass(frozen=True)
class ReferralPath:
    """Where to refer for one worry (and age group): cards in order, the family's own cards, the meldcode."""

    organisations: tuple[str, ...]
    family: tuple[str, ...]
    meldcode: bool
    tell_family: Mapping[str, str]


@dataclass(frozen=True)
class Referral:
    """The referral guide's content (responses/referral.yml), checked when loaded."""

    texts: Mapping[str, Mapping[str, str]]
    questions: Mapping[str, Mapping[str, str]]
    choices: Mapping[str, Mapping[str, Mapping[str, str]]]
    words: Mapping[str, Mapping[str, tuple[str, ...]]]
    help_notes: Mapping[str, Mapping[str, str]]
    question_words: frozenset[str]
    """A typed reply starting with one of these is a question of its own, not an answer to the guide."""
    paths: Mapping[tuple[str, str | None], ReferralPath]
    """(worry or "general", age group or None) -> path; every worry has a path for None."""

    def text(self, key: str, language: str) -> str:
        return self.texts[key][language]

    def question(self, question: str, language: str) -> str:
        return self.questions[question][language]

    def choice(self, question: str, choice: str, language: str) -> str:
        return self.choices[question][choice][language]

    def path(self, worry: str | None, age: str | None) -> ReferralPath:
        worry = worry or REFERRAL_GENERAL
        return self.paths.get((worry, age)) or self.paths[(worry, None)]


@dataclass(frozen=True)
class Prison:
    id: str
    name: str
    aliases: tuple[str, ...]


@dataclass(frozen=True)
class Report:
    """What the content check found that is worth a person's attention but does not stop the bot."""

    answers: int
    texts: int
    organisations: int
    prisons: int
    fallbacks: tuple[str, ...]
    stale: tuple[str, ...]

    def lines(self) -> list[str]:
        lines = [
            f"content: {self.answers} answers, {self.texts} texts, {self.organisations} organisations, "
            f"{self.prisons} prisons",
            f"declared fallbacks ({len(self.fallbacks)}): " + (", ".join(self.fallbacks) or "none"),
        ]
        if self.stale:
            lines.append(f"not reviewed for over a year ({len(self.stale)}): " + ", ".join(self.stale))
        else:
            lines.append("every answer was reviewed within the last year")
        return lines


def _load_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except yaml.YAMLError as error:
        raise ContentError(f"{path.parent.name}/{path.name}: not valid YAML: {error}") from error
    except FileNotFoundError as error:
        raise ContentError(f"{path.parent.name}/{path.name}: missing") from error


def _text(node: Any, where: str) -> str:
    if not isinstance(node, str) or not node.strip():
        raise ContentError(f"{where}: missing text")
    return node.strip()


def _check_local_source(region: str, source: str, where: str) -> None:
    """A local entry (one municipality's wijkteam or CJG) must name the public page its facts come from.

    Local names, numbers and addresses change often; a page address lets an editor check the entry again.
    """
    if not region.startswith("municipality:"):
        return
    pages = [part.strip() for part in source.split(";") if part.strip()]
    if not pages or not all(SOURCE_PAGE.match(page) for page in pages):
        raise ContentError(
            f"{where}: a local entry needs source: the address (http(s)://...) of the public page its facts come"
            f" from, not {source!r}"
        )


def _reviewed(entry: Mapping[str, Any], where: str) -> date:
    value = entry.get("reviewed")
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as error:
        raise ContentError(f"{where}: reviewed must be a date (YYYY-MM-DD), not {value!r}") from error


class Content:
    def __init__(
        self,
        ui: Mapping[str, Any],
        crisis: Mapping[str, Any],
        answers: Mapping[str, Any],
        group: Mapping[str, Any],
        organisations: Mapping[str, Any] | None = None,
        prisons: Mapping[str, Any] | None = None,
        referral: Mapping[str, Any] | None = None,
        wording: Mapping[str, Any] | None = None,
    ) -> None:
        self._ui = ui
        self.wording: Mapping[str, Any] = wording or {}
        """`responses/wording.yml`: answers worded for who the user is (read by `conversation.wording`)."""
        self._crisis = crisis
        self._answers = answers
        self._parsed: dict[tuple[str, str, str], Answer] = {}
        self._asks: dict[str, Ask | None] = {}
        self._group = group
        self._organisations = {
            key: self._organisation(key, entry) for key, entry in (organisations or {}).items() if key != "version"
        }
        self.prisons: tuple[Prison, ...] = tuple(
            Prison(key, _text(entry.get("name"), f"prisons.yml {key}.name"), tuple(map(str, entry.get("aliases", ()))))
            for key, entry in ((prisons or {}).get("prisons") or {}).items()
        )
        self._referral = _referral(referral, self._organisations) if referral is not None else None

    @classmethod
    def load(cls, folder: Path = RESPONSES, required: Iterable[str] = ()) -> Content:
        answers: dict[str, Any] = {}
        for path in sorted((folder / "answers").glob("*.yml")):
            for intent, entry in (_load_yaml(path) or {}).items():
                if intent in answers:
                    raise ContentError(f"answers/{path.name}: {intent} is answered in two files")
                if not isinstance(entry, Mapping):
                    raise ContentError(f"answers/{path.name}: {intent} is not an answer")
                answers[intent] = entry
        prisons_path = folder / "prisons.yml"
        content = cls(
            _load_yaml(folder / "ui.yml"),
            _load_yaml(folder / "crisis.yml"),
            answers,
            _load_yaml(folder / "handoff.yml"),
            _load_yaml(folder / "organisations.yml"),
            _load_yaml(prisons_path) if prisons_path.exists() else None,
            _load_yaml(folder / "referral.yml"),
            _load_yaml(folder / "wording.yml"),
        )
        content.check(required)
        return content

    # -- checks ----------------------------------------------------------------------------------------------

    def check(self, required: Iterable[str] = ()) -> None:
        """Raise ContentError on the first missing or malformed piece.

        Every intent in `required` needs an answer, every answer a text for each audience and language (or a
        declared fallback), a source and a review date; every organisation an answer refers to must exist.
        """
        for intent in required:
            if intent not in self._answers:
                raise ContentError(f"no answer for intent {intent}")
        for intent, entry in self._answers.items():
            self._check_answer(intent, entry)
        self._check_keys()
        for key, value in self._ui.items():
            if key.endswith(("_words", "_phrases")):
                continue
            self._check_languages(value, f"ui.yml {key}")
        for category, per_audience in self._crisis["categories"].items():
            for audience in AUDIENCES:
                for line in per_audience[audience]:
                    for language in LANGUAGES:
                        _text(self._crisis["lines"][line][language], f"crisis.yml line {line}")
                for language in LANGUAGES:
                    self.crisis_lines((category,), audience, language)
                    for about in SOMEONE:
                        self.crisis_lines((category,), audience, language, about)
        for kind, _ in self.crisis_after_kinds():
            for family in ("violence", "child", "suicide", "someone"):
                for audience in AUDIENCES:
                    for language in LANGUAGES:
                        self.crisis_after(kind, family, audience, language)

        for path in GROUP_TEXTS:
            self.group(*path.split("."))
        self._parse_all()

    def _check_keys(self) -> None:
        """Every key the code asks for is there: a renamed or deleted key fails here, not at a user's message."""
        for key in (*UI_TEXTS, *UI_WORDS, "buttons", "topics"):
            if key not in self._ui:
                raise ContentError(f"ui.yml: the key {key} is missing (the bot uses it)")
        for key in UI_WORDS:
            if not isinstance(self._ui[key], list) or not self._ui[key]:
                raise ContentError(f"ui.yml {key}: expected a list of words")
            if any(isinstance(word, bool) for word in self._ui[key]):
                # YAML reads an unquoted yes, no, on or off as true or false: that word would never match ("yes"
                # and "no" were lost from the yes and no words that way)
                raise ContentError(f'ui.yml {key}: put yes, no, on and off in quotes ("yes")')
        for key in UI_BUTTONS:
            if key not in self._ui["buttons"]:
                raise ContentError(f"ui.yml: the button buttons.{key} is missing (the bot uses it)")
        for key in GROUP_TEXTS:
            node: Any = self._group
            for part in key.split("."):
                node = node.get(part) if isinstance(node, Mapping) else None
            if not isinstance(node, str):
                raise ContentError(f"handoff.yml: the text {key} is missing (the bot uses it)")

    def _check_answer(self, intent: str, entry: Mapping[str, Any]) -> None:
        where = f"answer {intent}"
        for key in ("source", "reviewed"):
            if not str(entry.get(key) or "").strip():
                raise ContentError(f"{where}: missing {key}")
        _reviewed(entry, where)
        fallback = entry.get("fallback") or {}
        for audience, target in fallback.items():
            if audience not in AUDIENCES or target not in AUDIENCES or target == audience:
                raise ContentError(f"{where}: fallback {audience}: {target} is not a fallback between audiences")
        for audience in AUDIENCES:
            for language in LANGUAGES:
                self.answer(intent, audience, language)
                for target in self._follow_up(entry, audience):
                    self.label(target, language)
        for organisation in entry.get("organisations") or ():
            if organisation not in self._organisations:
                raise ContentError(f"{where}: organisation {organisation} is not in organisations.yml")
        if "label" in entry:
            self._check_languages(entry["label"], f"{where}.label")
        ask = self.ask(intent)
        if ask is not None:
            for choice, target in ask.choose.items():
                if choice not in SLOT_CHOICES[ask.slot]:
                    raise ContentError(f"{where}: {ask.slot} has no choice {choice}")
                if target not in self._answers:
                    raise ContentError(f"{where}: {choice} leads to {target}, which has no answer")

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

    def _parse_all(self) -> None:
        """Every answer and follow-up question as typed objects, once, after the check: lookups in a conversation
        then cannot fail on the content."""
        self._parsed = {
            (intent, audience, language): self._parse_answer(intent, audience, language)
            for intent in self._answers
            for audience in AUDIENCES
            for language in LANGUAGES
        }
        self._asks = {intent: self._parse_ask(intent) for intent in self._answers}

    def answer(self, intent: str, audience: str, language: str) -> Answer:
        parsed = self._parsed.get((intent, audience, language))
        return parsed if parsed is not None else self._parse_answer(intent, audience, language)

    def _parse_answer(self, intent: str, audience: str, language: str) -> Answer:
        entry = self._answers.get(intent)
        if entry is None:
            raise ContentError(f"no answer for intent {intent}")
        texts = entry.get("text") or {}
        fallback = (entry.get("fallback") or {}).get(audience)
        chosen = texts.get(audience) or (texts.get(fallback) if fallback else None) or {}
        return Answer(
            intent=intent,
            text=_text(chosen.get(language), f"answer {intent}.{audience}.{language}"),
            follow_up=self._follow_up(entry, audience),
            organisations=tuple(entry.get("organisations") or ()),
            local_help=bool(entry.get("local_help")),
            source=str(entry.get("source", "")),
            reviewed=str(entry.get("reviewed", "")),
        )

    @staticmethod
    def _follow_up(entry: Mapping[str, Any], audience: str) -> tuple[str, ...]:
        follow_up = entry.get("follow_up") or ()
        if isinstance(follow_up, Mapping):
            follow_up = follow_up.get(audience) or ()
        return tuple(str(target) for target in follow_up)

    def ask(self, intent: str) -> Ask | None:
        """The question to ask before answering `intent`, if its answer depends on one."""
        if intent in self._asks:
            return self._asks[intent]
        return self._parse_ask(intent)

    def _parse_ask(self, intent: str) -> Ask | None:
        node = (self._answers.get(intent) or {}).get("ask")
        if not node:
            return None
        slot = node.get("slot")
        if slot not in SLOTS:
            raise ContentError(f"answer {intent}: ask.slot must be one of {', '.join(SLOTS)}")
        audiences = tuple(node.get("audiences") or AUDIENCES)
        if not set(audiences) <= set(AUDIENCES):
            raise ContentError(f"answer {intent}: ask.audiences must be among {', '.join(AUDIENCES)}")
        return Ask(slot, audiences, {str(key): str(value) for key, value in (node.get("choose") or {}).items()})

    def label(self, target: str, language: str) -> str:
        """A button label for a follow-up: a menu topic's label, else the answer's own label."""
        topics = self._ui.get("topics") or {}
        if target in topics:
            return self.topic_label(target, language)
        entry = self._answers.get(target)
        if entry is None:
            raise ContentError(f"follow-up {target} is neither a topic nor an answer")
        try:
            return _text(entry["label"][language], f"answer {target}.label.{language}")
        except (KeyError, TypeError) as error:
            raise ContentError(f"answer {target}: a follow-up button needs a label in {language}") from error

    @property
    def referral(self) -> Referral:
        if self._referral is None:
            raise ContentError("referral.yml: missing")
        return self._referral

    def organisation(self, key: str) -> Organisation:
        return self._organisations[key]

    @property
    def organisations(self) -> tuple[Organisation, ...]:
        return tuple(self._organisations.values())

    def cards(self, keys: Iterable[str], audience: str, language: str) -> list[str]:
        """Contact cards for the organisations that serve this audience, in the given order."""
        cards = []
        for key in keys:
            organisation = self._organisations[key]
            if audience in organisation.audiences:
                cards.append(self.card(organisation, language))
        return cards

    def card(self, organisation: Organisation, language: str) -> str:
        reach = [organisation.phone, organisation.website, organisation.email]
        if organisation.hours:
            reach.append(organisation.hours[language])
        details = " · ".join(part.removeprefix("https://") for part in reach if part)
        head = f"• {organisation.name}: {organisation.offers[language]}"
        return f"{head}\n  {details}" if details else head

    def local_organisations(self, municipality: str) -> tuple[Organisation, ...]:
        """Entries for this municipality only (national ones are already on the answer's own cards)."""
        return tuple(
            organisation
            for organisation in self._organisations.values()
            if organisation.region.startswith("municipality:") and organisation.serves(municipality)
        )

    def report(self, today: date) -> Report:
        """Counts, declared fallbacks and answers due for review, for `make test` to print."""
        stale = sorted(
            f"{intent} ({_reviewed(entry, intent).isoformat()})"
            for intent, entry in self._answers.items()
            if today - _reviewed(entry, intent) > STALE_AFTER
        )
        fallbacks = sorted(
            f"{intent}.{audience}->{target}"
            for intent, entry in self._answers.items()
            for audience, target in (entry.get("fallback") or {}).items()
        )
        texts = sum(
            1
            for entry in self._answers.values()
            for per_language in (entry.get("text") or {}).values()
            for language in LANGUAGES
            if isinstance(per_language, Mapping) and per_language.get(language)
        )
        return Report(
            len(self._answers), texts, len(self._organisations), len(self.prisons), tuple(fallbacks), tuple(stale)
        )

    def _organisation(self, key: str, entry: Any) -> Organisation:
        where = f"organisations.yml {key}"
        if not isinstance(entry, Mapping):
            raise ContentError(f"{where}: not an organisation")
        for field in ("name", "source", "reviewed", "region"):
            if not str(entry.get(field) or "").strip():
                raise ContentError(f"{where}: missing {field}")
        _reviewed(entry, where)
        self._check_languages(entry.get("offers"), f"{where}.offers")
        phone, website, email = entry.get("phone"), entry.get("website"), entry.get("email")
        if phone is not None and not PHONE.match(str(phone)):
            raise ContentError(f"{where}: malformed phone number {phone!r}")
        if website is not None and not URL.match(str(website)):
            raise ContentError(f"{where}: malformed website {website!r} (https://...)")
        if email is not None and not re.fullmatch(r"[^@\s]+@[a-z0-9-]+(\.[a-z0-9-]+)+", str(email), re.IGNORECASE):
            raise ContentError(f"{where}: malformed e-mail address {email!r}")
        if not REGION.match(str(entry["region"])):
            raise ContentError(f"{where}: region must be national, municipality:<name> or province:<name>")
        _check_local_source(str(entry["region"]), str(entry["source"]), where)
        audiences = tuple(entry.get("for") or ())
        if not audiences or not set(audiences) <= set(AUDIENCES):
            raise ContentError(f"{where}: 'for' must list audiences among {', '.join(AUDIENCES)}")
        hours = entry.get("hours")
        if hours is not None:
            self._check_languages(hours, f"{where}.hours")
        return Organisation(
            id=key,
            name=str(entry["name"]).strip(),
            offers={language: str(entry["offers"][language]).strip() for language in LANGUAGES},
            audiences=audiences,
            phone=str(phone) if phone is not None else None,
            website=str(website) if website is not None else None,
            email=str(email) if email is not None else None,
            hours={language: str(hours[language]).strip() for language in LANGUAGES} if hours else None,
            region=str(entry["region"]),
            topics=tuple(entry.get("topics") or ()),
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

    def value_label(self, group: str, name: str, language: str) -> str:
        """A name for a stored value (ui.yml `roles`, `steps`, `statuses`, `reasons`), as /mijngegevens shows it."""
        try:
            return _text(self._ui[group][name][language], f"ui.yml {group}.{name}")
        except KeyError as error:
            raise ContentError(f"ui.yml {group}: no {language} label for {name}") from error

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

    def crisis_after_kinds(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The kinds of question after the crisis lines (crisis.yml `after`), in order, each with its phrases."""
        after = self._crisis.get("after") or {}
        return tuple((str(kind), tuple(str(p) for p in entry.get("phrases") or ())) for kind, entry in after.items())

    def crisis_named_lines(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Per family of danger, the words that name its line (crisis.yml `named_lines`: "113" for suicide)."""
        named = self._crisis.get("named_lines") or {}
        return tuple((str(family), tuple(str(word) for word in words)) for family, words in named.items())

    def crisis_after(self, kind: str, family: str, audience: str | None, language: str) -> str | None:
        """The answer of one kind after the crisis lines, for a family of danger (violence, child, suicide) and an
        audience; a child's danger falls back to violence. None when crisis.yml has no such text."""
        entry = (self._crisis.get("after") or {}).get(kind) or {}
        fallback = FAMILY_FALLBACK.get(family)
        texts = entry.get(family)
        if family == "someone" and texts and (audience or "parent") not in texts:
            texts = None  # written for the parent and the young person: a professional's falls back
        texts = texts or (entry.get(fallback) if fallback else None)
        if not texts:
            return None
        node = texts.get(audience or "parent") or texts.get("parent")
        if node is None:  # written for one audience only (a professional's question after reporting a danger)
            return None
        return _text(node[language], f"crisis.yml after.{kind}.{family}")

    def crisis_lines(
        self, categories: tuple[str, ...], audience: str | None, language: str, about: str | None = None
    ) -> str:
        """The crisis text for one or more categories, each line listed once. For a user whose role is not known
        (yet), the lines for every audience: nobody misses the one meant for them. `about`: whose self-harm or
        suicidal danger it is when not the writer's own ("child", "other"): the intro speaks to the one who worries,
        and a child's own line is added (crisis.yml `someone`)."""
        crisis = self._crisis
        audiences = (audience,) if audience is not None else AUDIENCES
        someone = crisis.get("someone") if about in SOMEONE and set(categories) <= SUICIDE_CATEGORIES else None
        names: list[str] = []
        for category in categories or ("suicidal",):
            per_audience = crisis["categories"].get(category) or crisis["categories"]["suicidal"]
            for each in audiences:
                names.extend(name for name in per_audience[each] if name not in names)
        if someone is not None and about == "child":
            names.extend(name for name in someone.get("child_lines") or () if name not in names)
        lines = [f"• {_text(crisis['lines'][name][language], f'crisis.yml {name}')}" for name in names]
        intro_for = audience or "youth"
        intros = (someone or {}).get("intro") or {}
        node = intros.get(intro_for) or crisis["intro"][intro_for]
        intro = _text(node[language], f"crisis.yml intro.{intro_for}")
        return intro + "\n\n" + "\n".join(lines)


# -- the referral guide (responses/referral.yml) ------------------------------------------------------------------


def _languages(node: Any, where: str) -> dict[str, str]:
    if not isinstance(node, Mapping):
        raise ContentError(f"{where}: expected a text per language (nl, en)")
    return {language: _text(node.get(language), f"{where}.{language}") for language in LANGUAGES}


def _ids(node: Any, organisations: Mapping[str, Organisation], where: str) -> tuple[str, ...]:
    if not isinstance(node, list) or not node:
        raise ContentError(f"{where}: expected a list of organisation ids")
    for key in node:
        if key not in organisations:
            raise ContentError(f"{where}: organisation {key} is not in organisations.yml")
    return tuple(str(key) for key in node)


def _referral(node: Any, organisations: Mapping[str, Organisation]) -> Referral:
    """Read and check referral.yml: every text in both languages, every choice labelled, every organisation known."""
    where = "referral.yml"
    if not isinstance(node, Mapping):
        raise ContentError(f"{where}: not a referral guide")
    for key in ("source", "reviewed"):
        if not str(node.get(key) or "").strip():
            raise ContentError(f"{where}: missing {key}")
    _reviewed(node, where)
    texts_node = node.get("texts") or {}
    texts = {key: _languages(texts_node.get(key), f"{where} texts.{key}") for key in REFERRAL_TEXTS}
    questions: dict[str, dict[str, str]] = {}
    choices: dict[str, dict[str, dict[str, str]]] = {}
    words: dict[str, dict[str, tuple[str, ...]]] = {}
    for question in REFERRAL_QUESTIONS:
        entry = (node.get("questions") or {}).get(question) or {}
        questions[question] = _languages(entry.get("text"), f"{where} questions.{question}.text")
        labels, typed = entry.get("choices") or {}, entry.get("words") or {}
        choices[question] = {
            choice: _languages(labels.get(choice), f"{where} questions.{question}.choices.{choice}")
            for choice in REFERRAL_CHOICES[question]
        }
        if question != "age":  # ages are read as ages; the other choices by their words
            words[question] = {
                choice: tuple(map(str, typed.get(choice) or ())) for choice in REFERRAL_CHOICES[question]
            }
            for choice, found in words[question].items():
                if not found:
                    raise ContentError(f"{where} questions.{question}.words.{choice}: expected a list of words")
    help_notes = {
        choice: _languages((node.get("help_notes") or {}).get(choice), f"{where} help_notes.{choice}")
        for choice in REFERRAL_CHOICES["help"]
    }
    question_words = frozenset(str(word).casefold() for word in node.get("question_words") or ())
    if not question_words:
        raise ContentError(f"{where} question_words: expected a list of words")
    paths: dict[tuple[str, str | None], ReferralPath] = {}
    for worry in (REFERRAL_GENERAL, *REFERRAL_CHOICES["worry"]):
        at = f"{where} paths.{worry}"
        entry = (node.get("paths") or {}).get(worry)
        if not isinstance(entry, Mapping):
            raise ContentError(f"{at}: missing")
        base = ReferralPath(
            _ids(entry.get("organisations"), organisations, f"{at}.organisations"),
            _ids(entry.get("family"), organisations, f"{at}.family"),
            bool(entry.get("meldcode")),
            _languages(entry.get("tell_family"), f"{at}.tell_family"),
        )
        paths[(worry, None)] = base
        for age, override in (entry.get("by_age") or {}).items():
            if age not in REFERRAL_CHOICES["age"] or not isinstance(override, Mapping):
                raise ContentError(f"{at}.by_age: {age} is not an age group ({', '.join(REFERRAL_CHOICES['age'])})")
            paths[(worry, str(age))] = ReferralPath(
                _ids(override["organisations"], organisations, f"{at}.by_age.{age}.organisations")
                if "organisations" in override
                else base.organisations,
                _ids(override["family"], organisations, f"{at}.by_age.{age}.family")
                if "family" in override
                else base.family,
                base.meldcode,
                base.tell_family,
            )
    return Referral(texts, questions, choices, words, help_notes, question_words, paths)
