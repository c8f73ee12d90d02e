"""`make bench`: NLU parse latency, pipeline overhead, training time and load figures, printed (targets in README).

Runs against the real NLU service (started by `make bench`); the pipeline figure uses an in-process NLU stand-in
that answers instantly, so it measures what the bot itself adds: safety net, database, answer lookup.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import subprocess
import tempfile
import time

import httpx
import yaml

from bench import faults, handoff, load
from bot.config import ROOT
from bot.content import Content
from bot.conversation.flood import FloodGuard
from bot.conversation.pipeline import Pipeline
from bot.replies import Sender
from bot.storage.models import Database
from bot.storage.schema import migrate
from bot.understanding.learned_topics import LearnedTopics
from bot.understanding.nlu_client import NluClient
from bot.understanding.topics import ANSWERED_INTENTS
from bot.understanding.understander import Understander
from handoff.desk import OfflineDesk
from safety.learned import LearnedRisk
from safety.risk import SafetyNet

MESSAGES = 500


def texts() -> list[str]:
    with (ROOT / "nlu/tests/cases.yml").open(encoding="utf-8") as handle:
        cases = [str(case["text"]) for case in yaml.safe_load(handle)["cases"]]
    return list(itertools.islice(itertools.cycle(cases), max(MESSAGES, len(cases))))


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"p50 {p50 * 1000:6.2f} ms   p99 {p99 * 1000:6.2f} ms   (n={len(ordered)})"


async def parse_latency(rasa_url: str, messages: list[str]) -> list[float]:
    client = NluClient(rasa_url, 10.0)
    try:
        await client.parse("warm-up")
        samples = []
        for text in messages:
            start = time.perf_counter()
            await client.parse(text)
            samples.append(time.perf_counter() - start)
        return samples
    finally:
        await client.aclose()


def _instant_nlu() -> NluClient:
    def handler(request: httpx.Request) -> httpx.Response:
        text = json.loads(request.content)["text"]
        ranking = [{"name": "visit", "confidence": 0.9}, {"name": "contact", "confidence": 0.05}]
        return httpx.Response(200, json={"text": text, "intent": ranking[0], "intent_ranking": ranking})

    return NluClient("http://nlu.bench", 1.0, transport=httpx.MockTransport(handler))


async def pipeline_latency(messages: list[str], nlu: NluClient) -> list[float]:
    with tempfile.TemporaryDirectory() as folder:
        database = Database(f"sqlite+aiosqlite:///{folder}/bench.sqlite3")
        await migrate(database)
        # As the bot builds it: the rules with the learned risk layer, and the embedding topic reading.
        learned = LearnedRisk.load()
        net = SafetyNet.from_yaml(learned=learned)
        understander = Understander(net, nlu, 0.45, 0.5, LearnedTopics.load(learned.encoder))
        # Ten users sending back to back would be braked as a flood; the figure is for answered messages.
        unbraked = FloodGuard(10**9, 1.0)
        pipeline = Pipeline(
            understander, Content.load(required=ANSWERED_INTENTS), database, OfflineDesk(), flood=unbraked
        )
        try:
            for user in range(10):
                await pipeline.command(Sender(f"user-{user}"), "start")
                await pipeline.action(Sender(f"user-{user}"), "aud:parent")
            samples = []
            for index, text in enumerate(messages):
                start = time.perf_counter()
                await pipeline.text(Sender(f"user-{index % 10}"), text)
                samples.append(time.perf_counter() - start)
            return samples
        finally:
            await nlu.aclose()
            await database.dispose()


def safety_net_long_messages() -> float:
    """The slowest safety-net read of a 100,000-character message over the worst patterns seen (seconds)."""
    net = SafetyNet.from_yaml()
    worst = 0.0
    for pattern in ("ik ", "ik wil niet dood ", "bezoek ", "snij* ", "a", "😭", "ik wil niet méér lévén "):
        text = (pattern * (100_000 // len(pattern) + 1))[:100_000]
        started = time.perf_counter()
        net.assess(text)
        worst = max(worst, time.perf_counter() - started)
    return worst


def training_time(rasa: str) -> float:
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        command = [rasa, "train", "nlu", "--config", "nlu/config.yml", "--domain", "domain.yml", "--nlu", "nlu/data"]
        subprocess.run(
            [*command, "--out", out, "--fixed-model-name", "bench", "--quiet"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            env={**os.environ, "RASA_TELEMETRY_ENABLED": "false", "RASA_MAX_CACHE_SIZE": "0"},  # no cached components
        )
        return time.perf_counter() - start


async def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--rasa-url", default=os.environ.get("RASA_URL", "http://127.0.0.1:5005"))
    parser.add_argument("--rasa", default=str(ROOT / ".venv-nlu/bin/rasa"), help="rasa executable, for training")
    parser.add_argument("--skip-training", action="store_true")
    parser.add_argument("--rasa-pid", type=int, help="the NLU service's pid, stalled with SIGSTOP for one figure")
    parser.add_argument("--load-only", action="store_true", help="only the load figures (throughput, crisis replies)")
    args = parser.parse_args()
    rasa_pid = args.rasa_pid or load.rasa_pid_from(ROOT / "run/rasa.pid")
    if args.load_only:
        await load.report(args.rasa_url, rasa_pid)
        return

    messages = texts()
    print(f"Benchmark on {os.cpu_count()} cores, {len(messages)} messages from nlu/tests/cases.yml")
    print(f"NLU parse latency (HTTP /model/parse) {percentiles(await parse_latency(args.rasa_url, messages))}")
    print(f"Pipeline without NLU (instant stub)   {percentiles(await pipeline_latency(messages, _instant_nlu()))}")
    full = await pipeline_latency(messages, NluClient(args.rasa_url, 10.0))
    print(f"Pipeline with the real NLU service    {percentiles(full)}")
    print(f"Safety net, 100,000 characters, worst {safety_net_long_messages() * 1000:6.1f} ms (target < 500 ms)")
    if not args.skip_training:
        print(f"NLU model training time               {training_time(args.rasa):6.1f} s")
    print("Targets: parse p50 <= 15 ms; pipeline overhead p50 <= 5 ms; training <= 180 s on 2 cores")
    await asyncio.to_thread(handoff.report, args.rasa_url)
    await faults.report()
    await load.report(args.rasa_url, rasa_pid)


if __name__ == "__main__":
    asyncio.run(main())
