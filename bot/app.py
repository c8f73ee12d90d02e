"""The composition root: builds every long-lived part once and hands each what it needs."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from bot.config import Settings
from bot.content import Content
from bot.flood import FloodGuard
from bot.nlu_client import NluClient
from bot.pipeline import Pipeline
from bot.privacy import Retention
from bot.pseudonym import Pseudonymiser, load_or_create_secret
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


async def build(settings: Settings, use_nlu: bool = True) -> Services:
    """Load content and phrases (failing fast on broken YAML), open the database, connect the NLU client."""
    content = Content.load()
    safety_net = SafetyNet.from_yaml()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = Database(settings.database_url)
    await database.create_schema()
    understander, nlu = build_understander(settings, safety_net, use_nlu)
    retention = Retention(settings.retention_case_days, settings.retention_state_days)
    flood = FloodGuard(settings.flood_messages, settings.flood_seconds)
    pipeline = Pipeline(understander, content, database, OfflineDesk(), retention=retention, flood=flood)
    OfficeHours.parse(settings.handoff_hours)  # fail fast on a typo in HANDOFF_HOURS
    secret = load_or_create_secret(settings.pseudonym_secret, settings.data_dir)
    return Services(settings, database, nlu, understander, pipeline, Pseudonymiser(secret), content, secret)


def build_understander(
    settings: Settings, safety_net: SafetyNet | None = None, use_nlu: bool = True
) -> tuple[Understander, NluClient | None]:
    """The safety net and the NLU client, without a database: `python -m bot understand` needs nothing more."""
    nlu = NluClient(settings.rasa_url, settings.nlu_timeout) if use_nlu else None
    understander = Understander(
        safety_net or SafetyNet.from_yaml(), nlu, settings.nlu_threshold, settings.crisis_threshold
    )
    return understander, nlu


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
