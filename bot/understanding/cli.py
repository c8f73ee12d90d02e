"""`python -m bot understand`: one message per line in, one JSON object per line out."""

from __future__ import annotations

import json
import sys
from typing import TextIO

from bot.understanding.understander import Understander


async def run(understander: Understander, source: TextIO = sys.stdin, out: TextIO = sys.stdout) -> None:
    for line in source:
        text = line.rstrip("\n")
        understanding = await understander.understand(text)
        record = {
            "text": text,
            "topic": understanding.topic,
            "intent": understanding.intent,
            "confidence": understanding.confidence,
            "risk": understanding.risk.label,
            "language": understanding.language or "nl",
        }
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        out.flush()
