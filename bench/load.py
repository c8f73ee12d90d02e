"""Load figures: many users at once through the real Telegram stack (polling the Bot API stand-in), real NLU.

* throughput: 200 users write at once; replies per second under Telegram's cap (about 30 a second);
* processing capacity: the same with the send cap lifted, as a ratio to the NLU service's own ceiling (8 clients
  calling /model/parse at once, measured in the same run);
* crisis reply behind a burst: 200 users write, then one more user writes an acute message; time to the crisis
  lines (a message with 113);
* crisis reply with the NLU service stalled (SIGSTOP; SIGCONT afterwards): 20 users write, then an acute message.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import statistics
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from telegram.ext import Application

from bot import app
from bot.channels.telegram.rate_limit import PriorityRateLimiter
from bot.config import Settings
from standin.bot_api import StandIn, text_update

BURST = 200
CRISIS_TRIALS = 8
STALLED_USERS = 20
STALLED_TRIALS = 5
NLU_CLIENTS = 8
NLU_CALLS = 400
ORDINARY = "hoe regel ik een bezoek aan de gevangenis"
ACUTE = "ik wil niet meer leven"
WITHIN = 120.0
_USER_IDS = itertools.count(2_000_000)


def _user() -> dict[str, Any]:
    return {"id": next(_USER_IDS), "is_bot": False, "first_name": "U", "language_code": "nl"}


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered) * 1000:7.1f} ms   p99 {p99 * 1000:7.1f} ms   (n={len(ordered)})"


class Bench:
    def __init__(self, stand_in: StandIn, application: Application) -> None:  # type: ignore[type-arg]
        self.stand_in = stand_in
        self.application = application

    def answered(self, chats: set[int]) -> set[int]:
        return {int(call.params["chat_id"]) for call in self.stand_in.calls_to("sendMessage")} & chats

    async def until(self, condition: Any) -> float:
        deadline = time.perf_counter() + WITHIN
        while not condition():
            if time.perf_counter() > deadline:
                raise TimeoutError("the bot did not answer in time")
            await asyncio.sleep(0.002)
        return time.perf_counter()

    def burst(self, users: int) -> set[int]:
        chats = set()
        for _ in range(users):
            user = _user()
            chats.add(user["id"])
            self.stand_in.push(text_update(ORDINARY, user))
        return chats

    async def crisis_latency(self) -> float:
        user = _user()
        start = time.perf_counter()
        self.stand_in.push(text_update(ACUTE, user))

        def crisis_sent() -> bool:
            return any(
                c.params.get("chat_id") == user["id"] and "113" in str(c.params.get("text"))
                for c in self.stand_in.calls_to("sendMessage")
            )

        return await self.until(crisis_sent) - start


@asynccontextmanager
async def running_bot(rasa_url: str, lift_cap: bool = False) -> AsyncIterator[Bench]:
    stand_in = StandIn()
    stand_in.start()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            telegram_token="123456:BENCH",
            telegram_api_base_url=stand_in.base_url,
            rasa_url=rasa_url,
            nlu_timeout=1.0,
            nlu_threshold=0.45,
            crisis_threshold=0.5,
            database_url=f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}",
            data_dir=Path(folder),
            pseudonym_secret="bench",
            log_level="WARNING",
            handoff_chat_id=None,
            handoff_claim_timeout=3600.0,
            handoff_hours="always",
            handoff_sweep_seconds=3600.0,
        )
        await app.migrate(settings)
        application, services = await app.build_telegram(settings)
        limiter = application.bot.rate_limiter
        if lift_cap and isinstance(limiter, PriorityRateLimiter):
            limiter.overall = None
        await application.initialize()
        assert application.updater is not None and application.post_init is not None
        await application.post_init(application)
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        await application.start()
        try:
            yield Bench(stand_in, application)
        finally:
            await application.updater.stop()
            await application.stop()
            if application.post_shutdown is not None:
                await application.post_shutdown(application)
            await application.shutdown()
            await services.aclose()
            stand_in.stop()


async def throughput(rasa_url: str, lift_cap: bool) -> tuple[float, float]:
    """Replies a second and updates handled a second while 200 users write at once."""
    async with running_bot(rasa_url, lift_cap) as bench:
        sent_before = len(bench.stand_in.calls_to("sendMessage"))
        start = time.perf_counter()
        chats = bench.burst(BURST)
        end = await bench.until(lambda: bench.answered(chats) == chats)
        sent = len(bench.stand_in.calls_to("sendMessage")) - sent_before
        return sent / (end - start), BURST / (end - start)


async def nlu_ceiling(rasa_url: str) -> float:
    """Parses a second the NLU service manages with 8 clients calling at once."""
    texts = itertools.cycle([ORDINARY, "ik schaam me zo", "hoe vertel ik het mijn kind", "wat kost de reis"])
    async with httpx.AsyncClient(base_url=rasa_url, timeout=30.0) as client:
        await client.post("/model/parse", json={"text": "warm-up"})
        remaining = itertools.count()

        async def caller() -> None:
            while next(remaining) < NLU_CALLS:
                response = await client.post("/model/parse", json={"text": next(texts)})
                response.raise_for_status()

        start = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(NLU_CLIENTS)))
        return NLU_CALLS / (time.perf_counter() - start)


async def crisis_behind_burst(rasa_url: str) -> list[float]:
    samples = []
    async with running_bot(rasa_url) as bench:
        for _ in range(CRISIS_TRIALS):
            chats = bench.burst(BURST)
            samples.append(await bench.crisis_latency())
            await bench.until(lambda chats=chats: bench.answered(chats) == chats)  # drain before the next trial
    return samples


async def crisis_with_nlu_stalled(rasa_url: str, rasa_pid: int) -> list[float]:
    samples = []
    async with running_bot(rasa_url) as bench:
        os.kill(rasa_pid, signal.SIGSTOP)
        try:
            for _ in range(STALLED_TRIALS):
                chats = bench.burst(STALLED_USERS)
                samples.append(await bench.crisis_latency())
                await bench.until(lambda chats=chats: bench.answered(chats) == chats)
        finally:
            os.kill(rasa_pid, signal.SIGCONT)
    return samples


def rasa_pid_from(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


async def report(rasa_url: str, rasa_pid: int | None) -> None:
    capped, _ = await throughput(rasa_url, lift_cap=False)
    print(f"Throughput, {BURST} users at once, Telegram's cap     {capped:6.1f} replies/s   (target >= 27)")
    ceiling = await nlu_ceiling(rasa_url)
    _, capacity = await throughput(rasa_url, lift_cap=True)
    print(f"NLU ceiling, {NLU_CLIENTS} clients on /model/parse          {ceiling:6.1f} parses/s")
    ratio = capacity / ceiling
    print(f"Processing capacity, send cap lifted          {capacity:6.1f} messages/s = {ratio:.2f} x the NLU ceiling")
    print("  (target >= 0.8)")
    behind = await crisis_behind_burst(rasa_url)
    print(f"Crisis reply behind a burst of {BURST}           {_percentiles(behind)}   (target p99 <= 1 s)")
    if rasa_pid is None:
        print("Crisis reply with the NLU stalled: skipped (no Rasa pid; pass --rasa-pid or run via make bench)")
        return
    stalled = await crisis_with_nlu_stalled(rasa_url, rasa_pid)
    print(f"Crisis reply, NLU stalled, {STALLED_USERS} users writing    {_percentiles(stalled)}   (target p99 <= 1 s)")
