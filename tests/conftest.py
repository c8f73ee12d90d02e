"""Shared fixtures. Unit tests fake only the NLU service's HTTP answers; integration tests use the real one.

Database tests run twice, on SQLite and on PostgreSQL (`TEST_DATABASE_URL_PG`, which `.ci/run` sets up). Without
that variable the PostgreSQL runs are skipped, saying why; in CI (`CI=true`) they fail instead, so that a broken
PostgreSQL set-up cannot pass unnoticed.
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.app import Handoff, live_handoff
from bot.config import ROOT, Settings
from bot.content import Content
from bot.conversation.pipeline import Pipeline
from bot.storage.models import Database
from bot.storage.schema import migrate
from bot.understanding.nlu_client import NluClient
from bot.understanding.topics import ANSWERED_INTENTS
from bot.understanding.understander import Understander
from handoff.desk import OfflineDesk
from handoff.hours import OfficeHours
from handoff.messenger import Messenger
from safety.risk import SafetyNet
from standin.bot_api import StandIn

RASA_URL = os.environ.get("RASA_URL", "http://127.0.0.1:5005")
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL_PG", "").strip()


def load_cases(relative: str) -> list[dict[str, Any]]:
    with (ROOT / relative).open(encoding="utf-8") as handle:
        cases: list[dict[str, Any]] = yaml.safe_load(handle)["cases"]
    return cases


@pytest.fixture(scope="session")
def safety_net() -> SafetyNet:
    return SafetyNet.from_yaml()


@pytest.fixture(scope="session")
def content() -> Content:
    return Content.load(required=ANSWERED_INTENTS)


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "telegram_token": None,
        "telegram_api_base_url": None,
        "rasa_url": RASA_URL,
        "nlu_timeout": 5.0,
        "nlu_threshold": 0.45,
        "crisis_threshold": 0.5,
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}",
        "data_dir": tmp_path,
        "pseudonym_secret": "test-secret",
        "log_level": "INFO",
        "handoff_chat_id": None,
        "handoff_claim_timeout": 300.0,
        "handoff_hours": "always",
        "handoff_sweep_seconds": 15.0,
        "retention_case_days": 30,
        "retention_state_days": 180,
    }
    values.update(overrides)
    return Settings(**values)


Scripted = Callable[[str], tuple[str, float] | list[tuple[str, float]]]


def scripted_nlu(script: Scripted) -> NluClient:
    """An NLU client whose HTTP answers come from ``script`` (text -> intent ranking), shaped like Rasa's."""

    def handler(request: httpx.Request) -> httpx.Response:
        text = json.loads(request.content)["text"]
        ranking = script(text)
        if isinstance(ranking, tuple):
            ranking = [ranking]
        body = {
            "text": text,
            "intent": {"name": ranking[0][0], "confidence": ranking[0][1]},
            "intent_ranking": [{"name": name, "confidence": score} for name, score in ranking],
            "entities": [],
        }
        return httpx.Response(200, json=body)

    return NluClient("http://nlu.test", 1.0, transport=httpx.MockTransport(handler))


def unreachable_nlu() -> NluClient:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    return NluClient("http://nlu.test", 1.0, transport=httpx.MockTransport(handler))


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of this test run's own on the PostgreSQL server of `TEST_DATABASE_URL_PG`, dropped at the end."""
    if not POSTGRES_URL:
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail("TEST_DATABASE_URL_PG is not set: in CI the PostgreSQL tests must run (see .ci/run)")
        pytest.skip("PostgreSQL not configured: set TEST_DATABASE_URL_PG (bash .ci/postgres sets one up)")
    name = f"bot_test_run_{os.getpid()}"
    _as_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}")
    yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    _as_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _as_admin(*statements: str) -> None:
    """Run statements outside a transaction, in a thread of its own (this may be called inside an event loop)."""
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, _execute(*statements)).result()


async def _execute(*statements: str) -> None:
    engine = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            for statement in statements:
                await connection.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'test.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
    finally:
        await engine.dispose()
    return url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """A migrated, empty database, on SQLite and on PostgreSQL."""
    db = Database(database_url)
    await migrate(db)
    yield db
    await db.dispose()


@pytest.fixture
def make_pipeline(
    database: Database, safety_net: SafetyNet, content: Content
) -> Callable[[NluClient | None], Pipeline]:
    def build(nlu: NluClient | None) -> Pipeline:
        return Pipeline(Understander(safety_net, nlu, 0.45, 0.5), content, database, OfflineDesk())

    return build


@pytest.fixture(scope="session")
def rasa_url() -> str:
    """The real NLU service; `make test` starts it. Failing here means it is not running."""
    request = urllib.request.Request(
        f"{RASA_URL}/model/parse", data=b'{"text": "hallo"}', headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            json.load(response)
    except OSError as error:
        pytest.fail(f"the NLU service does not answer on {RASA_URL} ({error}); run `make nlu-up` or `make test`")
    return RASA_URL


def make_desk(database: Database, content: Content, messenger: Messenger, secret: bytes = b"test-secret") -> Handoff:
    """A live desk as the Telegram channel builds it, around a messenger the test records or fakes."""
    return live_handoff(database, messenger, content, secret, OfficeHours.parse("always"), timedelta(minutes=5))


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    """The Bot API stand-in (standin/bot_api.py), listening on a free loopback port for one test."""
    server = StandIn()
    server.start()
    yield server
    server.stop()
