"""The real NLU model behind the real Rasa server, measured on hand-written cases never used in training.

The figures are printed (`pytest -s` or the summary of `make test`) and held to the bars the team set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.config import ROOT
from bot.understanding.learned_topics import LearnedTopics
from bot.understanding.nlu_client import NluClient
from bot.understanding.understander import Understander
from safety.learned import Encoder
from safety.risk import RiskLevel, SafetyNet
from tests.conftest import load_cases

pytestmark = pytest.mark.integration

CASES = load_cases("nlu/tests/cases.yml")


@pytest.fixture
async def understander(rasa_url: str, safety_net: SafetyNet) -> AsyncIterator[Understander]:
    client = NluClient(rasa_url, 10.0)
    # As the bot reads: the Rasa model blended with the embedding reading of the same message.
    yield Understander(safety_net, client, 0.45, 0.5, LearnedTopics.load(Encoder()))
    await client.aclose()


async def test_topic_accuracy_and_risk_on_held_apart_cases(
    understander: Understander, capsys: pytest.CaptureFixture[str]
) -> None:
    correct: Counter[str] = Counter()
    total: Counter[str] = Counter()
    confused: Counter[tuple[str, str]] = Counter()
    risk: Counter[tuple[str, str]] = Counter()
    for case in CASES:
        result = await understander.understand(case["text"])
        total[case["language"]] += 1
        if result.topic == case["topic"]:
            correct[case["language"]] += 1
        else:
            confused[(case["topic"], result.topic)] += 1
        risk[(case["risk"], result.risk.label)] += 1

    accuracy = sum(correct.values()) / sum(total.values())
    per_language = {language: correct[language] / total[language] for language in total}
    acute = [n for (want, _), n in risk.items() if want == "acute"]
    acute_recall = risk[("acute", "acute")] / sum(acute)
    concern_total = sum(n for (want, _), n in risk.items() if want == "concern")
    concern_recall = sum(n for (want, got), n in risk.items() if want == "concern" and got != "none") / concern_total
    harmless = sum(n for (want, _), n in risk.items() if want == "none")
    false_alarms = sum(n for (want, got), n in risk.items() if want == "none" and got != "none") / harmless
    with capsys.disabled():
        print(
            f"\nNLU on {len(CASES)} held-apart cases: topic accuracy {accuracy:.3f} "
            f"(nl {per_language['nl']:.3f}, en {per_language['en']:.3f}); acute recall {acute_recall:.3f}; "
            f"concern recall {concern_recall:.3f}; false alarms {false_alarms:.3%} of harmless"
            f"\nmost confused (expected -> got): {confused.most_common(6)}"
        )
    assert accuracy >= 0.90
    assert min(per_language.values()) >= 0.88
    assert acute_recall == 1.0
    assert concern_recall >= 0.80
    assert false_alarms <= 0.03


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("hoe kan ik mijn man in de bajes bezoeken", "visit"),
        ("how do i tell my 6 year old his dad is in jail", "explain_to_child"),
        ("ik schaam me dood voor de buren", "stigma"),
        ("can i talk to a real person", "talk_to_human"),
    ],
)
async def test_typical_messages_land_in_their_topic(understander: Understander, text: str, topic: str) -> None:
    result = await understander.understand(text)
    assert result.topic == topic
    assert result.risk is RiskLevel.NONE


async def test_the_model_catches_a_crisis_the_phrases_do_not_know(understander: Understander) -> None:
    text = "ik heb besloten dat ik er vanavond een punt achter zet, ik heb de pillen al"
    result = await understander.understand(text)
    assert (result.topic, result.risk) == ("crisis", RiskLevel.ACUTE)


def test_understand_command_uses_the_real_service(rasa_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "RASA_URL": rasa_url, "DATA_DIR": str(tmp_path), "PSEUDONYM_SECRET": "x"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "understand"],
        input="hoe werkt beeldbellen met de gevangenis\nmy feet are killing me\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=True,
    )
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert (first["topic"], first["risk"], first["language"]) == ("contact", "none", "nl")
    assert 0.0 < first["confidence"] <= 1.0
    assert (second["risk"], second["language"]) == ("none", "en")
