"""Print what `rasa test nlu --cross-validation` found: macro F1 over intents and topics, and the most confused pairs.

Reads the reports Rasa wrote into the given folder (intent_report.json and intent_errors.json). Run with any
Python 3 (standard library only): `python nlu/crossval.py results/crossval`.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.understanding.topics import topic_of  # noqa: E402

MOST_CONFUSED = 8
F1_AIM = 0.90


def main(folder: Path) -> int:
    report = json.loads((folder / "intent_report.json").read_text(encoding="utf-8"))
    errors_path = folder / "intent_errors.json"
    errors = json.loads(errors_path.read_text(encoding="utf-8")) if errors_path.exists() else []
    macro = report["macro avg"]["f1-score"]
    weighted = report["weighted avg"]["f1-score"]
    intents = {
        name: row for name, row in report.items() if isinstance(row, dict) and "support" in row and " avg" not in name
    }
    support = sum(int(row["support"]) for row in intents.values())
    pairs = Counter((error["intent"], error["intent_prediction"]["name"]) for error in errors)
    cross_topic = sum(count for (gold, guess), count in pairs.items() if topic_of(gold) != topic_of(guess))
    print(f"NLU cross-validation: {len(intents)} intents, {support} examples")
    print(f"  intent macro F1 {macro:.3f} (aim {F1_AIM:.2f}), weighted F1 {weighted:.3f}")
    print(f"  topic accuracy {1 - cross_topic / support:.3f} ({cross_topic} examples landed in another topic)")
    print(f"  topic macro F1 {_topic_macro_f1(intents, pairs):.3f}")
    weakest = sorted(intents.items(), key=lambda item: item[1]["f1-score"])[:5]
    print("  weakest intents: " + ", ".join(f"{name} {row['f1-score']:.2f}" for name, row in weakest))
    print("  most confused (gold -> predicted: count):")
    for (gold, guess), count in pairs.most_common(MOST_CONFUSED):
        print(f"    {gold} -> {guess}: {count}")
    return 0


def _topic_macro_f1(intents: dict[str, dict[str, float]], pairs: Counter[tuple[str, str]]) -> float:
    """Macro F1 over topics (what the bot acts on), from each intent's support and the confused pairs."""
    support: Counter[str] = Counter()
    for name, row in intents.items():
        support[topic_of(name)] += int(row["support"])
    wrong_out: Counter[str] = Counter()
    wrong_in: Counter[str] = Counter()
    for (gold, guess), count in pairs.items():
        if topic_of(gold) != topic_of(guess):
            wrong_out[topic_of(gold)] += count
            wrong_in[topic_of(guess)] += count
    scores = []
    for topic, total in support.items():
        right = total - wrong_out[topic]
        precision = right / (right + wrong_in[topic]) if right + wrong_in[topic] else 0.0
        recall = right / total
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "results/crossval")))
