"""Measures the safety net on a held-out file: acute recall, false alarms, concern recall, per language.

Run: ``.venv/bin/python -m safety.evaluate [--rules-only] [safety/eval_examples.yml]``. The file is never trained on.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from safety.risk import Assessment, RiskLevel, SafetyNet

DEFAULT_EVAL = Path(__file__).with_name("eval_examples.yml")


@dataclass(frozen=True)
class Scores:
    acute_recall: float
    false_alarm: float
    """Share of the non-acute cases that were assessed acute (and not marked ambiguous)."""
    concern_recall: float
    """Share of the concern cases assessed concern or acute-ambiguous (so the bot still offers help)."""
    counts: str


def load_eval(path: Path = DEFAULT_EVAL) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        cases: list[dict[str, Any]] = yaml.safe_load(handle)["cases"]
    return cases


def _alarm(assessment: Assessment) -> bool:
    return assessment.level is RiskLevel.ACUTE and not assessment.ambiguous


def score(cases: Sequence[dict[str, Any]], assess: Callable[[str], Assessment]) -> Scores:
    acute = [c for c in cases if c["risk"] == "acute"]
    other = [c for c in cases if c["risk"] != "acute"]
    concern = [c for c in cases if c["risk"] == "concern"]
    caught = sum(1 for c in acute if assess(c["text"]).level is RiskLevel.ACUTE)
    alarms = sum(1 for c in other if _alarm(assess(c["text"])))
    quiet = sum(1 for c in other if assess(c["text"]).level is RiskLevel.ACUTE and assess(c["text"]).ambiguous)
    helped = sum(1 for c in concern if assess(c["text"]).level is not RiskLevel.NONE)
    return Scores(
        caught / max(len(acute), 1),
        alarms / max(len(other), 1),
        helped / max(len(concern), 1),
        f"acute {caught}/{len(acute)}, alarms {alarms}/{len(other)}, quiet lines {quiet}/{len(other)}, "
        f"concern {helped}/{len(concern)}",
    )


def misses(cases: Sequence[dict[str, Any]], assess: Callable[[str], Assessment]) -> list[str]:
    """Lines assessed wrongly, for a developer reading the evaluation (never logged by the bot)."""
    wrong: list[str] = []
    for case in cases:
        got = assess(case["text"])
        expected = case["risk"]
        if (expected == "acute") != (got.level is RiskLevel.ACUTE) or (expected == "none" and _alarm(got)):
            wrong.append(f"{expected:>7} -> {got.level.label}{' (ambiguous)' if got.ambiguous else ''}: {case['text']}")
    return wrong


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_EVAL)
    parser.add_argument("--rules-only", action="store_true")
    parser.add_argument("--show-misses", action="store_true")
    parser.add_argument(
        "--learned-quiet", action="store_true", help="the learned layer alone never gives the full alarm, only quiet"
    )
    args = parser.parse_args(argv)
    cases = load_eval(args.path)
    net = SafetyNet.from_yaml()
    setups: list[tuple[str, Callable[[str], Assessment]]] = [("rules", net.assess)]
    if not args.rules_only:
        from safety.learned import LearnedRisk

        learned = LearnedRisk.load()
        if args.learned_quiet:
            learned.alarm_above = 1.01
        combined = SafetyNet.from_yaml(learned=learned)
        combined.assess("warm up")
        setups.append(("rules+learned", combined.assess))
    for name, assess in setups:
        for language in ("nl", "en", None):
            subset = [c for c in cases if language is None or c["lang"] == language]
            started = time.perf_counter()
            result = score(subset, assess)
            per_message = (time.perf_counter() - started) * 1000 / (len(subset) * 4)
            print(
                f"{name:>13} {language or 'all':>3}: acute recall {result.acute_recall:.2f}, "
                f"false alarms {result.false_alarm:.3f}, concern recall {result.concern_recall:.2f} "
                f"({result.counts}; {per_message:.1f} ms/message)"
            )
        if args.show_misses:
            print("\n".join(misses(cases, assess)))


if __name__ == "__main__":
    main()
