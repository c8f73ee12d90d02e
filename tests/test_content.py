"""The content check: what professionals edit in responses/ must stay complete and well-formed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from bot.config import ROOT
from bot.content import LANGUAGES, REQUIRED_AUDIENCES, Content, ContentError
from bot.topics import INTENT_TOPIC, MENU_TOPICS

DOMAIN_INTENTS = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))["intents"]
ANSWERED_INTENTS = [intent for intent in DOMAIN_INTENTS if INTENT_TOPIC[intent] != "crisis"]
# Dutch phone numbers as the bot writes them: 112, 113, 0800-0113, 088-0767 000, 079-331 05 68, 0800-5463-000.
PHONE = re.compile(r"^(11[23]|0[0-9]{2,3}-[0-9]{3,4}( ?[0-9]{2,3})*(-[0-9]{3})?)$")
PHONE_LIKE = re.compile(r"(?<![\w-])0\d{2,3}-[\d -]*\d")


def test_every_domain_intent_belongs_to_a_topic() -> None:
    assert set(DOMAIN_INTENTS) == set(INTENT_TOPIC)


@pytest.mark.parametrize("intent", ANSWERED_INTENTS)
def test_every_intent_has_an_answer_for_parents_and_young_people_in_both_languages(
    content: Content, intent: str
) -> None:
    for audience in REQUIRED_AUDIENCES:
        for language in LANGUAGES:
            answer = content.answer(intent, audience, language)
            assert len(answer.text) > 20
            assert answer.source and answer.reviewed


def test_a_professional_gets_an_answer_for_every_intent(content: Content) -> None:
    for intent in ANSWERED_INTENTS:
        assert content.answer(intent, "professional", "nl").text


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
        for audience in REQUIRED_AUDIENCES:
            for language in LANGUAGES:
                assert len(content.answer(intent, audience, language).text) < 1200, (intent, audience, language)


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


def test_a_missing_source_is_caught(tmp_path: Path) -> None:
    folder = _copy_responses(tmp_path)
    path = folder / "answers" / "contact.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    del data["contact"]["source"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ContentError, match="source"):
        Content.load(folder)


def test_broken_yaml_is_reported_with_its_file(tmp_path: Path) -> None:
    folder = _copy_responses(tmp_path)
    (folder / "ui.yml").write_text("welcome: [unclosed\n", encoding="utf-8")
    with pytest.raises(ContentError, match=r"ui\.yml"):
        Content.load(folder)
