"""Fault figures for the crisis path (`make bench`, or `python -m bench.faults`): how long a message in danger waits
for its crisis lines when the NLU service answers only after 1.5 s, and when PostgreSQL has gone down mid-run; and
how long any other message waits for the kind "can't answer now". Real parts: the pipeline, a slow NLU service on
loopback, PostgreSQL behind a proxy that is cut (needs TEST_DATABASE_URL_PG or DATABASE_URL on PostgreSQL)."""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import make_url

from bot.content import Content
from bot.conversation.pipeline import Pipeline
from bot.replies import Reply, Sender
from bot.storage.models import Database
from bot.storage.schema import migrate
from bot.understanding.nlu_client import NluClient
from bot.understanding.topics import ANSWERED_INTENTS
from bot.understanding.understander import Understander
from handoff.desk import OfflineDesk
from safety.learned import LearnedRisk
from safety.risk import SafetyNet
from standin.faults import CuttableProxy, SlowNlu

DANGER = "ik wil niet meer leven"
ROUNDS = 10


async def _until_first_reply(pipeline: Pipeline, sender: Sender, text: str) -> float:
    """Seconds from the message to the first reply the user would see (sent at once, or returned)."""
    started = time.perf_counter()
    first: list[float] = []

    async def emit(reply: Reply) -> None:
        first.append(time.perf_counter())

    replies = await pipeline.text(sender, text, emit=emit)
    done = time.perf_counter()
    if not first and not replies:
        raise AssertionError("no reply at all")
    return (first[0] if first else done) - started


async def slow_nlu(content: Content, net: SafetyNet) -> list[float]:
    slow = SlowNlu(delay=1.5)
    await slow.start()
    nlu = NluClient(slow.url, 5.0)
    folder = Path(tempfile.mkdtemp())
    database = Database(f"sqlite+aiosqlite:///{folder / 'bench.sqlite3'}")
    try:
        await migrate(database)
        pipeline = Pipeline(Understander(net, nlu, 0.45, 0.5), content, database, OfflineDesk())
        return [await _until_first_reply(pipeline, Sender(f"s{n}" * 32, "nl"), DANGER) for n in range(ROUNDS)]
    finally:
        await nlu.aclose()
        await slow.stop()
        await database.dispose()


async def database_down(content: Content, net: SafetyNet, url: str) -> tuple[list[float], list[float]]:
    target = make_url(url)
    proxy = CuttableProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    database = Database(target.set(port=proxy.listen_port).render_as_string(hide_password=False))
    instant = NluClient("http://127.0.0.1:9", 0.5)  # nothing listens: the NLU is down too, the worst case
    try:
        await migrate(database)
        pipeline = Pipeline(Understander(net, instant, 0.45, 0.5), content, database, OfflineDesk())
        await pipeline.command(Sender("d" * 64, "nl"), "start")
        await proxy.cut()
        danger = [await _until_first_reply(pipeline, Sender("d" * 64, "nl"), DANGER) for _ in range(ROUNDS)]
        other = [
            await _until_first_reply(pipeline, Sender(f"o{n}" * 32, "nl"), "hoe werkt een bezoek")
            for n in range(ROUNDS)
        ]
        return danger, other
    finally:
        await proxy.cut()
        await instant.aclose()
        await database.dispose()


def _line(samples: list[float]) -> str:
    ordered = sorted(samples)
    return f"p50 {statistics.median(ordered) * 1000:7.1f} ms   max {ordered[-1] * 1000:7.1f} ms   (n={len(ordered)})"


async def report() -> None:
    logging.getLogger().setLevel(logging.CRITICAL)  # the failures are the point here; their log lines are not
    content = Content.load(required=ANSWERED_INTENTS)
    net = SafetyNet.from_yaml(learned=LearnedRisk.load())  # as the bot runs: rules and the learned layer
    print(f"Crisis lines, NLU answering after 1.5 s       {_line(await slow_nlu(content, net))}   target <= 200 ms")
    url = os.environ.get("TEST_DATABASE_URL_PG") or os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        print("Database down: skipped (set TEST_DATABASE_URL_PG to a PostgreSQL database, e.g. bash .ci/postgres)")
        return
    danger, other = await database_down(content, net, url)
    print(f"Crisis lines, PostgreSQL down (and NLU down)  {_line(danger)}   target <= 2 s")
    print(f"Kind fallback reply, PostgreSQL down          {_line(other)}")


if __name__ == "__main__":
    asyncio.run(report())
