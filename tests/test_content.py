"""The content check: what professionals edit in responses/ must stay complete and well-formed."""

from __future__ import annotations

import ast
import re
import shutil
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import ROOT
from bot.content import AUDIENCES, LANGUAGES, PHONE, UI_TEXTS, UI_WORDS, Content, ContentError
from bot.conversation.short_replies import ShortReplies
from bot.understanding.topics import ANSWERED_INTENTS, INTENT_TOPIC, MENU_TOPICS, topic_of

DOMAIN_INTENTS = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["intents"]
PHONE_LIKE = re.compile(r"(?<![\w-])0\d{2,3}-[\d -]*\d")


def test_every_domain_intent_belongs_to_a_topic() -> None:
    assert set(DOMAIN_INTENTS) == set(INTENT_TOPIC)


@pytest.mark.parametrize("intent", ANSWERED_INTENTS)
def test_every_intent_has_an_answer_for_every_audience_in_both_languages(content: Content, intent: str) -> None:
    for audience in AUDIENCES:
        for language in LANGUAGES:
            answer = content.answer(intent, audience, language)
            assert len(answer.text) > 20
            assert answer.source and answer.reviewed


def test_the_content_check_passes_and_reports_what_it_counted(content: Content) -> None:
    report = content.report(date(2026, 11, 28))
    assert report.answers >= len(ANSWERED_INTENTS)
    assert report.organisations >= 10 and report.prisons >= 5
    assert report.stale == ()
    assert any("reviewed within the last year" in line for line in report.lines())


def test_answers_older_than_a_year_are_reported_not_refused(content: Content) -> None:
    report = content.report(date(2028, 1, 1))
    assert "visit (2026-11-28)" in report.stale
    assert any(line.startswith("not reviewed for over a year") for line in report.lines())


def test_every_organisation_an_answer_names_is_in_the_directory(content: Content) -> None:
    named = {key for intent in content.intents for key in content.answer(intent, "parent", "nl").organisations}
    assert named, "answers point to organisations"
    assert named <= {organisation.id for organisation in content.organisations}


def test_the_directory_holds_the_confirmed_lines_from_the_facts_sheet(content: Content) -> None:
    phones = {organisation.id: organisation.phone for organisation in content.organisations}
    assert phones["kind"] == "0800-5463-000"
    assert phones["kindertelefoon"] == "0800-0432"
    assert phones["veilig_thuis"] == "0800-2000"
    assert phones["gevangenenzorg"] == "079-331 05 68"
    assert phones["luisterlijn"] == "088-0767 000"
    assert phones["sociaal_wijkteam"] is None  # local: no national number exists


def test_a_contact_card_shows_name_offer_and_how_to_reach(content: Content) -> None:
    [card] = content.cards(["kind"], "parent", "nl")
    assert card.startswith("• Expertisecentrum")
    assert "0800-5463-000" in card and "expertisecentrumkind.nl" in card and "https://" not in card
    assert content.cards(["kindertelefoon"], "parent", "nl") == []  # a line for young people only


def test_every_menu_topic_has_a_label_and_an_answer(content: Content) -> None:
    for topic in MENU_TOPICS:
        assert content.topic_label(topic, "nl") and content.topic_label(topic, "en")
        assert content.has_answer(topic)


@pytest.mark.parametrize(
    ("category", "audience", "numbers"),
    [
        ("suicidal", "parent", ["112", "113", "0800-0113"]),
        ("suicidal", "youth", ["112", "113", "0800-0113", "0800-0432"]),
        ("self_harm", "youth", ["113", "0800-0432"]),
        ("violence", "parent", ["112", "0800-2000"]),
        ("child_unsafe", "youth", ["112", "0800-2000", "0800-0432"]),
    ],
)
def test_crisis_replies_carry_the_right_lines(
    content: Content, category: str, audience: str, numbers: list[str]
) -> None:
    for language in LANGUAGES:
        text = content.crisis_lines((category,), audience, language)
        for number in numbers:
            assert number in text


def test_phone_numbers_in_all_content_are_well_formed() -> None:
    found = []
    for path in sorted((ROOT / "responses").rglob("*.yml")):
        for number in PHONE_LIKE.findall(path.read_text(encoding="utf-8")):
            found.append(number)
            assert PHONE.match(number.strip()), f"{path.name}: malformed phone number {number!r}"
    assert "0800-0432" in found and "0800-5463-000" in found


def test_answers_are_chat_sized(content: Content) -> None:
    for intent in ANSWERED_INTENTS:
        for audience in AUDIENCES:
            for language in LANGUAGES:
                assert len(content.answer(intent, audience, language).text) < 1200, (intent, audience, language)


def test_only_the_goodbye_says_goodbye(content: Content) -> None:
    """An answer in the middle of a conversation never reads as a farewell ("Saying goodbye: …" in the visit
    preparation read like the bot leaving): "bye", "doei" and "tot ziens" belong to the goodbye answer alone."""
    farewell = re.compile(r"bye|\bdoei\b|tot ziens", re.IGNORECASE)
    for intent in ANSWERED_INTENTS:
        if topic_of(intent) == "goodbye":
            continue
        for audience in AUDIENCES:
            for language in LANGUAGES:
                assert not farewell.search(content.answer(intent, audience, language).text), (
                    intent,
                    audience,
                    language,
                )


def _copy_responses(tmp_path: Path) -> Path:
    target = tmp_path / "responses"
    shutil.copytree(ROOT / "responses", target)
    return target


def test_a_missing_youth_text_is_caught(tmp_path: Path) -> None:
    folder = _copy_responses(tmp_path)
    path = folder / "answers" / "visit.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    del data["visit"]["text"]["youth"]["en"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ContentError, match=r"visit\.youth\.en"):
        Content.load(folder)


def test_an_unquoted_yes_in_a_word_list_is_caught(tmp_path: Path) -> None:
    folder = _copy_responses(tmp_path)
    path = folder / "ui.yml"
    path.write_text(path.read_text(encoding="utf-8").replace('"yes", yeah', "yes, yeah"), encoding="utf-8")
    with pytest.raises(ContentError, match="yes_words"):
        Content.load(folder)


def test_yes_and_no_are_read_in_english_too(content: Content) -> None:
    read = ShortReplies(content)
    assert read.yes_no("yes") is True
    assert read.yes_no("no") is False
    assert read.says_leaving("ok i'm off")


def test_a_goodbye_typed_long_is_leaving_and_of_is_not(content: Content) -> None:
    read = ShortReplies(content)
    assert read.says_leaving("doeii") and read.says_leaving("byeee")
    assert not read.says_leaving("moet ik nou gaan of niet")
    assert not read.says_leaving("tbh do i have to go to any of the visits")


def test_taking_it_back_is_short_and_asks_nothing(content: Content) -> None:
    read = ShortReplies(content)
    assert read.takes_back("forget I said that. stupid thing to type")
    assert read.takes_back("laat maar")
    assert not read.takes_back("never mind that, how do I book a visit?"), "a question"
    assert not read.takes_back("dom dat ik nog leef"), "no retraction: a danger"
    assert not read.takes_back("i try to ignore it but the thoughts keep coming")


def test_a_missing_source_is_caught(tmp_path: Path) -> None:
    folder = _copy_responses(tmp_path)
    path = folder / "answers" / "contact.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    del data["contact"]["source"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ContentError, match="source"):
        Content.load(folder)


def _edit(folder: Path, name: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = folder / name
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_a_missing_professional_text_is_caught_unless_a_fallback_is_declared(tmp_path: Path) -> None:
    folder = _copy_responses(tmp_path)

    def drop(data: dict[str, Any]) -> None:
        data["stigma"]["text"].pop("professional")
        data["stigma"].pop("fallback", None)

    _edit(folder, "answers/stigma.yml", drop)
    with pytest.raises(ContentError, match=r"stigma\.professional\.nl"):
        Content.load(folder)
    _edit(folder, "answers/stigma.yml", lambda data: data["stigma"].update(fallback={"professional": "parent"}))
    content = Content.load(folder)
    assert content.answer("stigma", "professional", "nl").text == content.answer("stigma", "parent", "nl").text
    assert "stigma.professional->parent" in content.report(date(2026, 11, 28)).fallbacks


def test_an_intent_without_any_answer_is_caught(tmp_path: Path) -> None:
    folder = _copy_responses(tmp_path)
    _edit(folder, "answers/visit.yml", lambda data: data.pop("visit_costs"))
    with pytest.raises(ContentError, match="no answer for intent visit_costs"):
        Content.load(folder, required=ANSWERED_INTENTS)


def test_a_dangling_organisation_id_is_caught(tmp_path: Path) -> None:
    folder = _copy_responses(tmp_path)
    _edit(folder, "answers/visit.yml", lambda data: data["visit_costs"].update(organisations=["no_such_place"]))
    with pytest.raises(ContentError, match=r"organisation no_such_place is not in organisations\.yml"):
        Content.load(folder)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone", "0800 KIND", "malformed phone number"),
        ("phone", "12345", "malformed phone number"),
        ("website", "expertisecentrumkind.nl", "malformed website"),
        ("website", "https://exa mple.nl", "malformed website"),
        ("source", "", "missing source"),
        ("region", "somewhere", "region must be"),
    ],
)
def test_a_malformed_organisation_is_caught(tmp_path: Path, field: str, value: str, message: str) -> None:
    folder = _copy_responses(tmp_path)
    _edit(folder, "organisations.yml", lambda data: data["kind"].update({field: value}))
    with pytest.raises(ContentError, match=message):
        Content.load(folder)


def test_a_follow_up_to_an_unknown_answer_is_caught(tmp_path: Path) -> None:
    folder = _copy_responses(tmp_path)
    _edit(folder, "answers/contact.yml", lambda data: data["contact"].update(follow_up=["contact_by_pigeon"]))
    with pytest.raises(ContentError, match="contact_by_pigeon"):
        Content.load(folder)


def test_a_question_leading_to_a_missing_answer_is_caught(tmp_path: Path) -> None:
    folder = _copy_responses(tmp_path)

    def retarget(data: dict[str, Any]) -> None:
        data["explain_to_child"]["ask"]["choose"]["teen"] = "explain_age_adult"

    _edit(folder, "answers/explain_to_child.yml", retarget)
    with pytest.raises(ContentError, match="explain_age_adult"):
        Content.load(folder)


def test_broken_yaml_is_reported_with_its_file(tmp_path: Path) -> None:
    folder = _copy_responses(tmp_path)
    (folder / "ui.yml").write_text("welcome: [unclosed\n", encoding="utf-8")
    with pytest.raises(ContentError, match=r"ui\.yml"):
        Content.load(folder)


def test_every_ui_key_the_code_uses_is_declared_and_checked() -> None:
    """A ui.yml key written in the code but missing from UI_TEXTS would escape the content check."""
    ui = yaml.safe_load((ROOT / "responses" / "ui.yml").read_text(encoding="utf-8"))
    literals: set[str] = set()
    for folder in ("bot", "handoff"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    literals.add(node.value)
    label_groups = {"buttons", "topics", "roles", "steps", "statuses", "reasons", "inside", "carers"}
    undeclared = (set(ui) & literals) - set(UI_TEXTS) - set(UI_WORDS) - label_groups
    assert not undeclared


@pytest.mark.parametrize("key", ["welcome", "unavailable", "yes_words"])
def test_renaming_a_key_the_code_uses_fails_the_check_and_names_it(tmp_path: Path, key: str) -> None:
    folder = _copy_responses(tmp_path)
    ui_path = folder / "ui.yml"
    ui = yaml.safe_load(ui_path.read_text(encoding="utf-8"))
    ui[f"{key}_renamed"] = ui.pop(key)
    ui_path.write_text(yaml.safe_dump(ui, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ContentError, match=key):
        Content.load(folder)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"source": "gemeente Breda, nagevraagd"}, r"breda_wijkteam: a local entry needs source: the address"),
        ({"source": ""}, r"breda_wijkteam: missing source"),
        ({"reviewed": None}, r"breda_wijkteam: missing reviewed"),
    ],
)
def test_a_local_entry_without_a_page_and_review_date_is_refused(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    folder = _copy_responses(tmp_path)
    local = {
        "name": "Wijkteam Breda",
        "offers": {"nl": "Hulp dichtbij huis.", "en": "Help close to home."},
        "for": ["parent"],
        "region": "municipality:Breda",
        "source": "https://www.breda.nl/wijkteam",
        "reviewed": "2026-12-04",
    }
    _edit(folder, "organisations.yml", lambda data: data.update(breda_wijkteam={**local, **change}))
    with pytest.raises(ContentError, match=message):
        Content.load(folder)


def test_a_local_entry_is_offered_in_its_own_municipality_only() -> None:
    content = Content.load()
    local = [organisation for organisation in content.organisations if organisation.region.startswith("municipality:")]
    assert local, "the directory has local entries"
    for organisation in local:
        place = organisation.region.partition(":")[2]
        assert organisation in content.local_organisations(place)
        assert organisation not in content.local_organisations("Nergenshuizen")
