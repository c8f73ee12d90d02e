"""`python -m bot webhook`: Telegram delivers updates over HTTPS to this ASGI app (Starlette, served by uvicorn).

As python-telegram-bot's custom-webhook example does, the application runs without an updater and this app hands
it each update. The secret token Telegram sends with every request (set with setWebhook) is checked in constant
time; a request without it is answered 403 and nothing else happens, nothing stored. An update is acknowledged (200)
only once it is stored in the journal and the update processor has accepted it (while the processor is full the
answer waits, and Telegram sends more slowly), or, with the database down, once it has been handled in memory. A copy
of an update already in the journal is answered 200 and not acted on (`bot.channels.telegram.inbound`).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta

import uvicorn
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from telegram.ext import Application

from bot import app
from bot.app import Services
from bot.channels.telegram.application import ALLOWED_UPDATES
from bot.channels.telegram.inbound import LEASE, TICK_SECONDS, Inbox
from bot.channels.telegram.metrics import CONTENT_TYPE, Metrics
from bot.channels.telegram.rate_limit import PriorityRateLimiter
from bot.channels.telegram.updates import PerChatProcessor
from bot.config import Settings, check_for_production
from bot.storage.models import Database
from bot.understanding.nlu_client import NluClient

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY_BYTES = 1 << 20
"""Telegram's updates are a few kilobytes; anything far larger is not from Telegram."""
CHECK_SECONDS = 2.0
JOURNAL_POOL_SIZE = 6
JOURNAL_POOL_OVERFLOW = 4
START_SECONDS = 10.0


def create_app(inbox: Inbox, services: Services, metrics: Metrics) -> Starlette:
    secret = (services.settings.webhook_secret or "").encode()

    async def telegram(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not secret or not hmac.compare_digest(given, secret):
            return Response(status_code=403)
        if int(request.headers.get("content-length") or 0) > MAX_BODY_BYTES:
            return Response(status_code=413)
        try:
            update, kept = inbox.parse(json.loads(await request.body()))
        except (ValueError, RecursionError):  # not JSON, not an update, or nested beyond reason
            return Response(status_code=400)
        metrics.updates_received.inc()
        await inbox.receive(update, kept)
        return Response()

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(_: Request) -> Response:
        database, nlu = await asyncio.gather(_database_answers(services.database), _nlu_answers(services.nlu))
        ready = database and nlu
        return JSONResponse({"database": database, "nlu": nlu}, status_code=200 if ready else 503)

    async def metrics_page(_: Request) -> Response:
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    routes = [
        Route(services.settings.webhook_path, telegram, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz, methods=["GET"]),
        Route("/metrics", metrics_page, methods=["GET"]),
    ]
    return Starlette(routes=routes)


async def _database_answers(database: Database) -> bool:
    async def ping() -> None:
        async with database.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(ping(), CHECK_SECONDS)
    except Exception as error:
        logger.warning("readiness: the database does not answer (%s)", type(error).__name__)
        return False
    return True


async def _nlu_answers(nlu: NluClient | None) -> bool:
    if nlu is None:
        return True
    try:
        return await asyncio.wait_for(nlu.ready(), CHECK_SECONDS)
    except TimeoutError:
        return False


@dataclass
class WebhookBot:
    """The application, its services and the HTTP server, started and stopped in the right order."""

    settings: Settings
    port: int = 0
    """The port the server listens on, once started (useful when the settings ask for port 0)."""
    journal_tick: float = TICK_SECONDS
    """Seconds between lease renewals and looks for updates a dead replica left (shorter in tests)."""
    journal_lease: timedelta = LEASE
    """How long an update stays this process's without a renewal (shorter in tests)."""
    _application: Application | None = None  # type: ignore[type-arg]
    _services: Services | None = None
    _server: uvicorn.Server | None = None
    _serving: asyncio.Task[None] | None = field(default=None, repr=False)
    inbox: Inbox | None = None
    _journal_database: Database | None = field(default=None, repr=False)
    _ticking: asyncio.Task[None] | None = field(default=None, repr=False)

    async def start(self) -> None:
        check_for_production(self.settings, webhook=True)  # one PSEUDONYM_SECRET for all replicas, a WEBHOOK_SECRET
        application, services = await app.build_telegram(self.settings, polling=False)
        self._application, self._services = application, services
        processor, limiter = application.update_processor, application.bot.rate_limiter
        assert isinstance(processor, PerChatProcessor) and isinstance(limiter, PriorityRateLimiter)
        self._journal_database = journal_database = _journal_database(services.database, self.settings)
        self.inbox = inbox = Inbox(application, journal_database, services.secret, lease=self.journal_lease)
        metrics = Metrics(processor, limiter, services.nlu, inbox)
        await application.initialize()
        if application.post_init is not None:
            await application.post_init(application)
        if self.settings.webhook_url:
            await application.bot.set_webhook(
                url=self.settings.webhook_url,
                secret_token=self.settings.webhook_secret,
                allowed_updates=ALLOWED_UPDATES,
                drop_pending_updates=False,
            )
        await application.start()
        self._ticking = asyncio.create_task(inbox.run(self.journal_tick), name="inbound-journal")
        host, port = self.settings.listen_host_port
        config = uvicorn.Config(
            create_app(inbox, services, metrics),
            host=host,
            port=port,
            log_level="warning",
            access_log=False,  # client addresses are nobody's business here
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._serving = asyncio.create_task(self._server.serve())
        for _ in range(int(START_SECONDS / 0.01)):
            if self._server.started or self._serving.done():
                break
            await asyncio.sleep(0.01)
        if not self._server.started:
            await self.stop()
            raise SystemExit(f"Cannot start: the webhook server could not listen on {self.settings.webhook_listen}")
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        logger.info("Telegram bot listens for webhook updates on port %d", self.port)

    async def wait(self) -> None:
        """Until the server stops (SIGINT or SIGTERM, which uvicorn handles)."""
        if self._serving is not None:
            await self._serving

    async def stop(self) -> None:
        if self._server is not None and self._serving is not None:
            self._server.should_exit = True
            await self._serving
        if self.inbox is not None and self._ticking is not None:
            self.inbox.stop()
            await self._ticking
            self._ticking = None
        application, self._application = self._application, None
        if application is not None:
            if application.running:
                await application.stop()
            if application.post_shutdown is not None:
                await application.post_shutdown(application)
            await application.shutdown()
        if self.inbox is not None and self._services is not None:
            await self.inbox.release()  # what the processor did not finish: another replica takes it at once
        if self._services is not None:
            if self._journal_database is not None and self._journal_database is not self._services.database:
                await self._journal_database.dispose()
            self._journal_database = None
            await self._services.aclose()
            self._services = None


def _journal_database(database: Database, settings: Settings) -> Database:
    """On PostgreSQL the journal has a small pool of its own: its writes (store, count, renew, done) are short and
    must not queue behind the conversations' units of work; a send's count that waits is a window in which a killed
    replica's message would be sent again. SQLite (one process, one file) shares the one engine."""
    if database.engine.dialect.name == "sqlite":
        return database
    return Database(settings.database_url, JOURNAL_POOL_SIZE, JOURNAL_POOL_OVERFLOW)


async def serve(settings: Settings) -> None:
    bot = WebhookBot(settings)
    await bot.start()
    try:
        await bot.wait()
    finally:
        await bot.stop()
