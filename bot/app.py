"""The composition root: builds every long-lived part once and hands each what it needs."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from bot import privacy, schema
from bot.config import Settings
from bot.content import Content
from bot.flood import FloodGuard
from bot.nlu_client import NluClient
from bot.pipeline import Pipeline
from bot.pseudonym import Pseudonymiser, load_or_create_secret
from bot.retention import Retention
from bot.storage import Database
from bot.understanding import Understander
from handoff.chatref import ChatRefs
from handoff.desk import LiveDesk, Messenger, OfflineDesk
from handoff.hours import OfficeHours
from handoff.risk import SafetyNet


@dataclass
class Services:
    settings: Settings
    database: Database
    nlu: NluClient | None
    understander: Understander
    pipeline: Pipeline
    pseudonyms: Pseudonymiser
    content: Content
    secret: bytes
    retention: Retention
    desk: LiveDesk | None = None

    def attach_desk(self, messenger: Messenger) -> LiveDesk:
        """Connect the professionals' group: from now on cases become live handoffs."""
        settings = self.settings
        desk = LiveDesk(
            self.database,
            messenger,
            self.content,
            ChatRefs(self.secret),
            self.pseudonyms,
            OfficeHours.parse(settings.handoff_hours),
            timedelta(seconds=settings.handoff_claim_timeout),
        )
        self.pipeline.desk = desk
        self.desk = desk
        return desk

    async def aclose(self) -> None:
        if self.nlu is not None:
            await self.nlu.aclose()
        await self.database.dispose()


def open_database(settings: Settings) -> Database:
    """The configured database (its folder created for the SQLite default); the schema is not checked here."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Database(settings.database_url)


async def migrate(settings: Settings) -> tuple[str | None, str]:
    """Bring the configured database to the newest migration; returns the migrations before and after."""
    database = open_database(settings)
    try:
        return await schema.migrate(database)
    finally:
        await database.dispose()


def retention(settings: Settings, database: Database) -> Retention:
    return Retention(database, settings.retention_case_days, settings.retention_state_days)


def understanding(settings: Settings, use_nlu: bool = True) -> tuple[Understander, NluClient | None]:
    """The safety net and the NLU client: all that `python -m bot understand` needs (no database)."""
    safety_net = SafetyNet.from_yaml()
    nlu = NluClient(settings.rasa_url, settings.nlu_timeout) if use_nlu else None
    return Understander(safety_net, nlu, settings.nlu_threshold, settings.crisis_threshold), nlu


async def build(settings: Settings, use_nlu: bool = True) -> Services:
    """Load content and phrases (failing fast on broken YAML), open the database (refusing one that is not
    migrated), remove what is past its retention, connect the NLU client."""
    content = Content.load()
    understander, nlu = understanding(settings, use_nlu)
    OfficeHours.parse(settings.handoff_hours)  # fail fast on a typo in HANDOFF_HOURS
    database = open_database(settings)
    try:
        await schema.verify(database)
        purger = retention(settings, database)
        await purger.purge()
    except BaseException:
        await database.dispose()
        if nlu is not None:
            await nlu.aclose()
        raise
    periods = privacy.Retention(settings.retention_case_days, settings.retention_state_days)
    flood = FloodGuard(settings.flood_messages, settings.flood_seconds)
    pipeline = Pipeline(understander, content, database, OfflineDesk(), retention=periods, flood=flood)
    secret = load_or_create_secret(settings.pseudonym_secret, settings.data_dir)
    return Services(settings, database, nlu, understander, pipeline, Pseudonymiser(secret), content, secret, purger)


# Libraries that log identities or secrets below these levels: python-telegram-bot logs whole updates (names,
# ids, text) at DEBUG, httpx logs request URLs, which hold the bot token, at INFO, and aiosqlite logs every SQL
# statement with its parameters (user keys, what a user told) at DEBUG. LOG_LEVEL cannot lower them.
QUIET_LOGGERS = {
    "telegram": logging.INFO,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "aiosqlite": logging.INFO,
}


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name, floor in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(floor)
