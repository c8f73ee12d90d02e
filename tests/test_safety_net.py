"""The rule layer alone, without the NLU service."""

from __future__ import annotations

import pytest

from safety.normalise import Normaliser
from safety.risk import Phrase, RiskLevel, SafetyNet
from tests.conftest import load_cases

RISK_CASES = load_cases("tests/data/risk_cases.yml")


@pytest.mark.parametrize("case", [c for c in RISK_CASES if c["risk"] == "acute"], ids=lambda c: c["text"][:40])
def test_every_acute_case_is_caught(safety_net: SafetyNet, case: dict[str, str]) -> None:
    assert safety_net.assess(case["text"]).level is RiskLevel.ACUTE


@pytest.mark.parametrize("case", [c for c in RISK_CASES if c["risk"] == "none"], ids=lambda c: c["text"][:40])
def test_harmless_messages_and_idioms_raise_no_alarm(safety_net: SafetyNet, case: dict[str, str]) -> None:
    assert safety_net.assess(case["text"]).level is RiskLevel.NONE


def test_concern_recall(safety_net: SafetyNet, capsys: pytest.CaptureFixture[str]) -> None:
    concern = [c for c in RISK_CASES if c["risk"] == "concern"]
    caught = [c for c in concern if safety_net.assess(c["text"]).level is RiskLevel.CONCERN]
    recall = len(caught) / len(concern)
    with capsys.disabled():
        print(f"\nsafety net alone: concern recall {recall:.2f} ({len(caught)}/{len(concern)})")
    assert recall >= 0.85


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("iedereen is beter af zonder mij", "suicidal"),
        ("ik hoef niet meer wakker te worden", "suicidal"),
        ("K WIL NT MEER LEVÉÉÉN", "suicidal"),
        ("ik wil doooood", "suicidal"),
        ("i dont wanna be alive anymore", "suicidal"),
        ("mn vriend slaat me", "violence"),
        ("ik schaam me dood en eigenlijk wil ik gewoon dood", "suicidal"),
        ("the kids have been home alone for three days", "child_unsafe"),
    ],
)
def test_indirect_phrasing_spelling_and_idiom_mixed_with_a_real_signal(
    safety_net: SafetyNet, text: str, category: str
) -> None:
    assessment = safety_net.assess(text)
    assert assessment.level is RiskLevel.ACUTE
    assert category in assessment.categories


@pytest.mark.parametrize(
    "text",
    [
        "ik schaam me dood",
        "ik lach me dood",
        "this waiting is killing me",
        "mijn vader zit vast voor doodslag",
        "my dad is in prison for manslaughter",
        "ik wil niet dat papa dood gaat in de gevangenis",
        "my mum will kill me if she finds out i skipped the visit",
    ],
)
def test_idioms_offences_and_negations_are_not_acute(safety_net: SafetyNet, text: str) -> None:
    assert safety_net.assess(text).level is not RiskLevel.ACUTE


def test_an_idiom_is_reported_so_the_model_cannot_raise_the_alarm_alone(safety_net: SafetyNet) -> None:
    assessment = safety_net.assess("ik schaam me dood")
    assert assessment.idiom and assessment.level is RiskLevel.NONE


def test_normaliser_folds_case_accents_repeats_and_chat_spelling() -> None:
    normaliser = Normaliser({"k": "ik", "nt": "niet", "mn": "mijn"})
    assert normaliser.tokens("K wil NT meeeer naar m'n école") == ["ik", "wil", "niet", "mer", "nar", "mijn", "ecole"]


def test_gap_and_end_anchor() -> None:
    net = SafetyNet.from_mapping(
        {"gap_stops": ["niet"], "acute": {"suicidal": ["ik wil ... dood"]}, "concern": {"not_coping": ["kan niet $"]}}
    )
    assert net.assess("ik wil echt gewoon dood").level is RiskLevel.ACUTE
    assert net.assess("ik wil niet dat hij dood gaat").level is RiskLevel.NONE
    assert net.assess("ik kan niet").level is RiskLevel.CONCERN
    assert net.assess("ik kan niet wachten").level is RiskLevel.NONE


@pytest.mark.parametrize("bad", ["... dood", "ik wil ...", "   "])
def test_a_malformed_phrase_is_refused_when_loading(bad: str) -> None:
    with pytest.raises(ValueError, match="risk phrase"):
        Phrase.parse(bad, Normaliser({}))
