"""Time from a user's acute message to the crisis reply, and to the alert in the professionals' group.

The real bot runs against the Bot API stand-in on loopback, with the real NLU service; each sample is a new user.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from bot import app
from bot.config import Settings
from standin.bot_api import GROUP_ID, StandIn, text_update

SAMPLES = 20
# Telegram allows a bot 20 messages a minute in one group, and every case makes three calls there (topic,
# card, alert).
# Samples are spaced so that each acute message meets a group the rate limiter has room for: the figure is the
# latency of one case, not of a queue of them.
SPACING_SECONDS = 9.5
ACUTE = "ik wil niet meer leven"


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered) * 1000:7.1f} ms   p99 {p99 * 1000:7.1f} ms   (n={len(ordered)})"


async def _wait(predicate: object, within: float = 10.0) -> float:
    assert callable(predicate)
    deadline = time.perf_counter() + within
    while not predicate():
        if time.perf_counter() > deadline:
            raise TimeoutError("no answer in time")
        await asyncio.sleep(0.001)
    return time.perf_counter()


async def measure(rasa_url: str, samples: int = SAMPLES) -> tuple[list[float], list[float]]:
    stand_in = StandIn()
    stand_in.start()
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(
            telegram_token="123456:BENCH",
            telegram_api_base_url=stand_in.base_url,
            rasa_url=rasa_url,
            nlu_timeout=5.0,
            nlu_threshold=0.45,
            crisis_threshold=0.5,
            database_url=f"sqlite+aiosqlite:///{Path(folder) / 'bench.sqlite3'}",
            data_dir=Path(folder),
            pseudonym_secret="bench",
            log_level="WARNING",
            handoff_chat_id=GROUP_ID,
            handoff_claim_timeout=3600.0,
            handoff_hours="always",
            handoff_sweep_seconds=3600.0,
            retention_case_days=30,
            retention_state_days=180,
        )
        await app.migrate(settings)
        application, services = await app.build_telegram(settings)
        await application.initialize()
        assert application.updater is not None and application.post_init is not None
        await application.post_init(application)
        await application.updater.start_polling(poll_interval=0.0, timeout=1)
        await application.start()
        crisis, alert = [], []
        try:
            for index in range(samples):
                user_id = 900000 + index
                user = {"id": user_id, "is_bot": False, "first_name": "U", "language_code": "nl"}
                replies = len(stand_in.calls_to("sendMessage"))
                alerts = len(stand_in.calls_to("createForumTopic"))
                start = time.perf_counter()
                stand_in.push(text_update(ACUTE, user))

                def crisis_sent(before: int = replies, chat: int = user_id) -> bool:
                    new = stand_in.calls_to("sendMessage")[before:]
                    return any(c.params.get("chat_id") == chat and "113" in str(c.params.get("text")) for c in new)

                def group_alerted(before: int = replies, topics: int = alerts) -> bool:
                    if len(stand_in.calls_to("createForumTopic")) <= topics:
                        return False
                    new = stand_in.calls_to("sendMessage")[before:]
                    return any(
                        c.params.get("chat_id") == GROUP_ID and "URGENT" in str(c.params.get("text")) for c in new
                    )

                crisis.append(await _wait(crisis_sent) - start)
                alert.append(await _wait(group_alerted) - start)
                await asyncio.sleep(max(0.0, SPACING_SECONDS - (time.perf_counter() - start)))
        finally:
            await application.updater.stop()
            await application.stop()
            if application.post_shutdown is not None:
                await application.post_shutdown(application)
            await application.shutdown()
            await services.aclose()
            stand_in.stop()
    return crisis, alert


def report(rasa_url: str) -> None:
    crisis, alert = asyncio.run(measure(rasa_url))
    print(f"Acute message -> crisis reply       {_percentiles(crisis)}")
    print(f"Acute message -> alert in the group {_percentiles(alert)}")
    print("Targets: crisis reply <= 1 s, group alert <= 2 s at p99 (loopback, stand-in Bot API)")
