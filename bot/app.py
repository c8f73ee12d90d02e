"""The composition root: builds every long-lived part once and hands each what it needs."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.config import Settings
from bot.content import Content
from bot.conversation import privacy
from bot.conversation.flood import FloodGuard
from bot.conversation.pipeline import Pipeline
from bot.pseudonym import Pseudonymiser, load_or_create_secret
from bot.storage import schema
from bot.storage.models import Database, utcnow
from bot.storage.replicas import Heartbeat
from bot.storage.retention import Retention
from bot.understanding.learned_topics import LearnedTopics
from bot.understanding.nlu_client import NluClient
from bot.understanding.topics import ANSWERED_INTENTS
from bot.understanding.understander import Understander
from handoff.chatref import ChatRefs
from handoff.desk import LiveDesk, OfflineDesk
from handoff.group_texts import GroupTexts
from handoff.hours import OfficeHours
from handoff.membership import Membership
from handoff.messenger import Messenger
from handoff.outbox import Outbox, Sender
from handoff.professionals import Professionals
from handoff.routing import Routing, RoutingError
from handoff.sweeper import Sweeper
from safety.learned import LearnedRisk
from safety.risk import SafetyNet

if TYPE_CHECKING:
    from telegram.ext import Application


@dataclass
class Handoff:
    """The live handoff desk's parts: the users' side (the pipeline's), the professionals' side (one per group),
    the sweeper that publishes cases, and the sender that delivers the outbox after each commit."""

    desk: LiveDesk
    professionals: Professionals
    """The default group's side (the only one without a routing file)."""
    sweeper: Sweeper
    sender: Sender
    routing: Routing = field(default_factory=lambda: Routing.single(None, OfficeHours(None)))
    teams: dict[str, Professionals] = field(default_factory=dict)
    """Every group's side, by the group's name."""

    def professionals_in(self, chat_id: int) -> Professionals | None:
        """The side of the group with this chat id; None for any other chat."""
        group = self.routing.by_chat(chat_id)
        return self.teams.get(group.name) if group is not None else None

    def wake(self) -> None:
        self.sweeper.wake()
        self.sender.wake()

    async def settle(self) -> None:
        """Publish what waits and send what is due (at shutdown, and in tests)."""
        await self.sweeper.sweep()
        await self.sender.drain()


def live_handoff(
    database: Database,
    messenger: Messenger,
    content: Content,
    secret: bytes,
    hours: OfficeHours,
    claim_timeout: timedelta,
    clock: Callable[[], datetime] = utcnow,
    routing: Routing | None = None,
    groups: Mapping[str, Messenger] | None = None,
) -> Handoff:
    """Build the live desk's parts, each with what it needs. Without `routing`, one group (`messenger`, `hours`)
    takes every case; with it, `groups` holds each group's messenger (by name) and `messenger` reaches users."""
    routing = routing or Routing.single(None, hours)
    groups = {name: (groups or {}).get(name, messenger) for name in routing.groups}
    texts, chat_refs, pseudonyms = GroupTexts(content), ChatRefs(secret), Pseudonymiser(secret)
    outbox = Outbox(clock)
    sender = Sender(database, messenger, outbox, texts, chat_refs, clock, routing, groups)
    sweeper = Sweeper(database, messenger, outbox, texts, routing, claim_timeout, clock, groups)
    teams = {
        name: Professionals(database, Membership(group), outbox, texts, pseudonyms, clock, routing=routing, group=name)
        for name, group in groups.items()
    }

    def wake() -> None:
        sweeper.wake()
        sender.wake()

    outbox.wake = wake
    sender.republish = sweeper.wake
    desk = LiveDesk(outbox, texts, chat_refs, routing, wake, clock)
    return Handoff(desk, teams[routing.default], sweeper, sender, routing, teams)


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
    handoff: Handoff | None = None
    """The live handoff desk, when a professionals' group is connected (Telegram with HANDOFF_CHAT_ID)."""
    replicas: Heartbeat | None = None
    """The replicas' heartbeat: how many bot processes share the bot token's send budget (Telegram only)."""

    async def aclose(self) -> None:
        if self.nlu is not None:
            await self.nlu.aclose()
        await self.database.dispose()


def open_database(settings: Settings) -> Database:
    """The configured database (its folder created for the SQLite default); the schema is not checked here."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Database(settings.database_url, settings.db_pool_size, settings.db_pool_overflow)


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
    learned = LearnedRisk.load()
    safety_net = SafetyNet.from_yaml(learned=learned)
    nlu = NluClient(settings.rasa_url, settings.nlu_timeout) if use_nlu else None
    topics = LearnedTopics.load(learned.encoder)
    return Understander(safety_net, nlu, settings.nlu_threshold, settings.crisis_threshold, topics), nlu


def handoff_routing(settings: Settings) -> Routing | None:
    """Which group gets which case: the routing file (HANDOFF_ROUTING), else the one group of HANDOFF_CHAT_ID, else
    None (no live handoff). A routing file that cannot be used stops the start, saying what to fix."""
    if settings.handoff_routing is not None:
        try:
            return Routing.load(settings.handoff_routing, os.environ, settings.handoff_hours)
        except RoutingError as error:
            raise SystemExit(f"Cannot start: HANDOFF_ROUTING: {error}") from error
    if settings.handoff_chat_id is not None:
        return Routing.single(settings.handoff_chat_id, OfficeHours.parse(settings.handoff_hours))
    return None


async def build(
    settings: Settings,
    use_nlu: bool = True,
    messenger: Messenger | None = None,
    groups: Mapping[str, Messenger] | None = None,
) -> Services:
    """Load content and phrases (failing fast on broken YAML), open the database (refusing one that is not
    migrated), remove what is past its retention, connect the NLU client; with a messenger for the professionals'
    group (or one per group of the routing file in `groups`), a live handoff desk, else an offline one that only
    records cases."""
    content = Content.load(required=ANSWERED_INTENTS)
    OfficeHours.parse(settings.handoff_hours)  # fail fast on a typo in HANDOFF_HOURS
    routing = handoff_routing(settings)  # and on one in the routing file
    understander, nlu = understanding(settings, use_nlu)
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
    secret = load_or_create_secret(settings.pseudonym_secret, settings.data_dir)
    pseudonyms = Pseudonymiser(secret)
    live: Handoff | None = None
    if messenger is not None:
        hours, timeout = OfficeHours.parse(settings.handoff_hours), timedelta(seconds=settings.handoff_claim_timeout)
        live = live_handoff(database, messenger, content, secret, hours, timeout, routing=routing, groups=groups)
    desk = live.desk if live is not None else OfflineDesk()
    pipeline = Pipeline(
        understander,
        content,
        database,
        desk,
        retention=periods,
        flood=flood,
        secret=secret,
        feedback=settings.answer_feedback,
    )
    services = Services(settings, database, nlu, understander, pipeline, pseudonyms, content, secret, purger, live)
    services.replicas = Heartbeat(database)
    return services


async def build_telegram(settings: Settings, polling: bool = True) -> tuple[Application, Services]:  # type: ignore[type-arg]
    """The Telegram application and the services behind it; with HANDOFF_CHAT_ID, the live desk in its group.
    Without polling the application has no updater (webhook mode)."""
    # Imported here: the console and the command line need no Telegram stack.
    from bot.channels.telegram import application as telegram
    from bot.channels.telegram.messenger import TelegramMessenger

    ptb = telegram.new_application(settings, polling)
    routing = handoff_routing(settings)
    groups: dict[str, Messenger] = {}
    for name, group in (routing.groups if routing is not None else {}).items():
        assert group.chat_id is not None  # read from the environment
        groups[name] = TelegramMessenger(ptb.bot, group.chat_id)
    messenger = groups[routing.default] if routing is not None else None
    services = await build(settings, messenger=messenger, groups=groups)
    telegram.install_handlers(ptb, services)
    return ptb, services


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
