"""The figures of the blind single-message sets (tests/data/blind_messages*.yml), read three ways: everything (rules,
the learned layer and the NLU model), with the NLU service down, and the rules alone. Used by the blind-set test, and
on its own for the totals over all sets (or the ones named), with the NLU service running:

    RASA_URL=http://127.0.0.1:5005 .venv/bin/python -m tests.integration.blind_figures [--misses] [set.yml ...]
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import ROOT
from bot.understanding.learned_topics import LearnedTopics
from bot.understanding.nlu_client import NluClient
from bot.understanding.understander import Understander, Understanding
from safety.learned import LearnedRisk
from safety.risk import RiskLevel, SafetyNet
from tests.conftest import load_cases

# The understander's thresholds as the bot runs them (bot.config defaults).
NLU_THRESHOLD = 0.45
CRISIS_THRESHOLD = 0.5


@dataclass
class Figures:
    """What one reading made of a set of cases: counts, so that sets can be pooled."""

    counts: Counter[str] = field(default_factory=Counter)
    topic_right: Counter[str] = field(default_factory=Counter)
    topic_total: Counter[str] = field(default_factory=Counter)
    misses: list[str] = field(default_factory=list)

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.counts + other.counts,
            self.topic_right + other.topic_right,
            self.topic_total + other.topic_total,
            self.misses + other.misses,
        )

    def _share(self, part: str, whole: str) -> float:
        return self.counts[part] / max(self.counts[whole], 1)

    @property
    def acute_caught(self) -> float:
        """Acute messages that got the crisis lines, at once or quietly with a check question."""
        return self._share("acute_caught", "acute")

    @property
    def acute_alarm(self) -> float:
        """Acute messages that got the full alarm at once."""
        return self._share("acute_alarm", "acute")

    @property
    def false_alarms(self) -> float:
        """Harmless messages (risk none or concern) that got the full alarm."""
        return self._share("false_alarm", "harmless")

    @property
    def quiet(self) -> float:
        """Harmless messages that got the lines quietly with a check question."""
        return self._share("quiet", "harmless")

    @property
    def concern(self) -> float:
        return self._share("concern_caught", "concern")

    @property
    def figurative(self) -> float:
        """Figurative English lines that got the full alarm."""
        return self._share("figurative_alarm", "figurative")

    @property
    def topic(self) -> dict[str, float]:
        return {language: self.topic_right[language] / total for language, total in self.topic_total.items()}

    def line(self, name: str) -> str:
        topics = " ".join(f"{language} {value:.2f}" for language, value in sorted(self.topic.items()))
        return (
            f"{name:<26} acute caught {self.acute_caught:.2f} (full alarm {self.acute_alarm:.2f}); "
            f"false alarms {self.false_alarms:.1%} (+{self.quiet:.1%} quiet); concern {self.concern:.2f}; "
            f"topic {topics or '-'}; figurative EN alarms {self.figurative:.1%}"
        )

    def counted(self) -> str:
        c = self.counts
        right, total = sum(self.topic_right.values()), sum(self.topic_total.values())
        return (
            f"acute {c['acute_caught']}/{c['acute']} ({c['acute_alarm']} at once), "
            f"false alarms {c['false_alarm']}/{c['harmless']} (+{c['quiet']} quiet), "
            f"concern {c['concern_caught']}/{c['concern']}" + (f", topic {right}/{total}" if total else "")
        )


async def measure(understander: Understander, cases: list[dict[str, str]], with_topics: bool) -> Figures:
    figures = Figures()
    counts = figures.counts
    for case in cases:
        result: Understanding = await understander.understand(case["text"])
        acute = result.risk is RiskLevel.ACUTE
        alarm = acute and not result.ambiguous
        if case["risk"] == "acute":
            counts["acute"] += 1
            counts["acute_caught"] += acute
            counts["acute_alarm"] += alarm
            if not acute:
                figures.misses.append(f"missed: {case['text']}")
        else:
            counts["harmless"] += 1
            counts["false_alarm"] += alarm
            counts["quiet"] += acute and not alarm
            if alarm:
                figures.misses.append(f"false alarm: {case['text']}")
        if case["risk"] == "concern":
            counts["concern"] += 1
            counts["concern_caught"] += result.risk is not RiskLevel.NONE
        if case.get("kind") == "figurative_en":
            counts["figurative"] += 1
            counts["figurative_alarm"] += alarm
        if with_topics and case["risk"] != "acute":
            figures.topic_total[case["language"]] += 1
            figures.topic_right[case["language"]] += result.topic == case["topic"]
    return figures


@dataclass
class Readings:
    """The three ways a set is read."""

    full: Figures
    nlu_down: Figures
    rules: Figures


async def read_three_ways(cases: list[dict[str, str]], nlu: NluClient, learned: LearnedRisk) -> Readings:
    net = SafetyNet.from_yaml(learned=learned)
    topics = LearnedTopics.load(learned.encoder)
    return Readings(
        await measure(Understander(net, nlu, NLU_THRESHOLD, CRISIS_THRESHOLD, topics), cases, with_topics=True),
        await measure(Understander(net, None, NLU_THRESHOLD, CRISIS_THRESHOLD, topics), cases, with_topics=False),
        await measure(
            Understander(SafetyNet.from_yaml(), None, NLU_THRESHOLD, CRISIS_THRESHOLD), cases, with_topics=False
        ),
    )


async def _main(paths: list[str], show_misses: bool) -> None:
    learned = LearnedRisk.load()
    nlu = NluClient(os.environ.get("RASA_URL", "http://127.0.0.1:5005"), 10.0)
    totals = Readings(Figures(), Figures(), Figures())
    try:
        for path in paths:
            readings = await read_three_ways(load_cases(path), nlu, learned)
            print(readings.full.line(Path(path).stem))
            if show_misses:
                for miss in readings.full.misses:
                    print(f"  {miss}")
            totals = Readings(
                totals.full + readings.full, totals.nlu_down + readings.nlu_down, totals.rules + readings.rules
            )
    finally:
        await nlu.aclose()
    print(f"\nAll {len(paths)} sets:")
    print(f"  all (rules+learned+NLU)  {totals.full.counted()}")
    print(f"  NLU down (rules+learned) {totals.nlu_down.counted()}")
    print(f"  NLU down, rules alone    {totals.rules.counted()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sets", nargs="*", help="set files (default: every tests/data/blind_messages*.yml)")
    parser.add_argument("--misses", action="store_true", help="print each set's missed dangers and false alarms")
    args = parser.parse_args()
    every = sorted((ROOT / "tests" / "data").glob("blind_messages*.yml"))
    paths = args.sets or [str(path.relative_to(ROOT)) for path in every]
    asyncio.run(_main(paths, args.misses))


if __name__ == "__main__":
    main()
