"""Database models and the unit-of-work factory (SQLAlchemy 2, async).

Nothing here holds a Telegram id, name, username or phone number: users are known by a keyed hash
(`bot.pseudonym`). Message text is not stored.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
    make_url,
)
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates

from bot.config import DEFAULT_DB_POOL_OVERFLOW, DEFAULT_DB_POOL_SIZE


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Constraints are named by convention, so that a migration can name the one it changes on any database."""

    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


REFERRAL_STEP = "referral"
"""`Step.REFERRAL`'s stored value (the steps live above storage)."""


class Conversation(Base):
    """Where one user is in the conversation; the only per-user state the bot keeps."""

    __tablename__ = "conversations"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    language: Mapped[str] = mapped_column(String(2), default="nl")
    audience: Mapped[str | None] = mapped_column(String(16), default=None)
    step: Mapped[str] = mapped_column(String(32), default="choose_audience")
    pending_intent: Mapped[str | None] = mapped_column(String(64), default=None)
    """An intent understood before the user said who they are, answered once they have."""
    offer_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    """Why a professional was offered ("acute:suicidal", "concern:sleep", "request"), while the offer is open."""
    child_age: Mapped[int | None] = mapped_column(Integer, default=None)
    """A child's age in years, when the user gave it (to fit explaining to that age); nothing else about the child."""
    child_ages: Mapped[str | None] = mapped_column(String(32), default=None)
    """Several children's ages when the user gave them ("4,9"), so a follow-up about "the oldest" fits."""
    first_visit: Mapped[bool | None] = mapped_column(default=None)
    """Whether the user has yet to make a first prison visit, when they said so."""
    municipality: Mapped[str | None] = mapped_column(String(64), default=None)
    """The municipality the user named, for local help; no address or postcode."""
    inside: Mapped[str | None] = mapped_column(String(16), default=None)
    """Who is inside, when a young person said so ("mother", "brother"), so answers name them."""
    carer: Mapped[str | None] = mapped_column(String(16), default=None)
    """What kind of carer a parent-or-carer user said they are when not a parent ("grandparent", "foster",
    "relative"), so answers speak of the children as theirs to care for."""
    last_answer: Mapped[str | None] = mapped_column(String(64), default=None)
    """The answer (intent) the bot gave last, so the same long answer is not given twice in a row."""
    alarm: Mapped[str | None] = mapped_column(String(16), default=None)
    """What the last alarm was about (a crisis category), so that later lines fit it; cleared on a correction."""
    alarm_about: Mapped[str | None] = mapped_column(String(8), default=None)
    """Whose danger a self-harm or suicide alarm was when not the writer's own: "child" or "other" (a parent told of
    a daughter's cuts), so that what follows speaks to the one who worries; cleared with the alarm."""
    safety_check: Mapped[bool] = mapped_column(default=False)
    safety_declines: Mapped[int] = mapped_column(Integer, default=0)
    referral: Mapped[str | None] = mapped_column(String(64), default=None)
    """A professional's answers in the referral guide ("age=8_12;worry=school"), only while the guide runs."""
    skipped: Mapped[str | None] = mapped_column(String(64), default=None)
    """Follow-up questions the user chose to skip ("child_age,municipality"), so they are not asked again."""
    flood_times: Mapped[str | None] = mapped_column(Text, default=None)
    """When the user's last few messages came (milliseconds since 1970, at most FLOOD_MESSAGES + 1 of them, all
    within FLOOD_SECONDS of the last): the flood guard's sliding window, here so that every replica sees it."""
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    @validates("step")
    def _leave_referral(self, _key: str, step: str) -> str:
        """Whatever moves the conversation out of the referral guide (an answer, /menu, the crisis lines) drops the
        guide's answers with it: they are kept only while the guide runs."""
        if step != REFERRAL_STEP:
            self.referral = None
        return step


class Case(Base):
    """A request for a professional, opened by risk or by the user's wish, and its live handoff."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_key: Mapped[str] = mapped_column(ForeignKey("conversations.key", ondelete="CASCADE"), index=True)
    pseudonym: Mapped[str] = mapped_column(String(8))
    reason: Mapped[str] = mapped_column(String(32))
    risk: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    urgent: Mapped[bool] = mapped_column(default=False)
    audience: Mapped[str | None] = mapped_column(String(16), default=None)
    language: Mapped[str] = mapped_column(String(2), default="nl")
    topic_id: Mapped[int | None] = mapped_column(BigInteger, default=None, index=True)
    chat_ref: Mapped[str | None] = mapped_column(Text, default=None)
    """The user's chat id, encrypted (handoff.chatref); wiped when the case closes."""
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    """Pseudonymous key of the professional who claimed the case."""
    claimed_name: Mapped[str | None] = mapped_column(String(64), default=None)
    handoff_group: Mapped[str | None] = mapped_column(String(32), default=None)
    """The professionals' group the case went to (a name from the routing file; none: the default group)."""
    transcript_shared: Mapped[bool] = mapped_column(default=False)
    """Whether the user let the professionals read their recent messages to the bot (the text is not stored)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    alerted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    realerted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class RelayedMessage(Base):
    """One message passed between a user and a case's topic, so that a redelivered update is not passed twice.

    Only message ids are kept, never text.
    """

    __tablename__ = "relayed_messages"
    __table_args__ = (UniqueConstraint("case_id", "direction", "source_message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(3))
    """"in": user to topic, "out": professional to user."""
    source_message_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OutboxMessage(Base):
    """A message (or topic action) for Telegram, written in the unit of work that decided it and sent after that
    unit of work has committed (handoff.outbox), so no unit of work ever waits on the network.

    Privacy: the text to send is stored here only until it is sent. The row is deleted right after sending, when it
    is given up, when the user erases their data (/vergeet) and with its case at retention; normally it lives for
    seconds. A user's chat id is only here encrypted (handoff.chatref), like in a case.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(96), unique=True)
    """What makes this message one of a kind (for example a relayed message's case, direction and id)."""
    case_id: Mapped[int | None] = mapped_column(Integer, default=None, index=True)
    """Set on what holds a user's words or goes to the user, so erasing the case erases these (no foreign key: a
    note to the group about an erased case is still sent)."""
    kind: Mapped[str] = mapped_column(String(16))
    handoff_group: Mapped[str | None] = mapped_column(String(32), default=None)
    """Which professionals' group a row for the group goes to (a topic id is only unique within its group)."""
    topic_id: Mapped[int | None] = mapped_column(BigInteger, default=None)
    chat_ref: Mapped[str | None] = mapped_column(Text, default=None)
    text: Mapped[str | None] = mapped_column(Text, default=None)
    buttons: Mapped[str | None] = mapped_column(Text, default=None)
    """JSON: [[label, action], ...] for a case card."""
    tries: Mapped[int] = mapped_column(Integer, default=0)
    next_try_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


RECENT_MESSAGES = 8
RECENT_SECONDS = 30 * 60
"""A user's recent messages kept for a consented transcript: at most this many, for at most this long."""


class RecentMessage(Base):
    """One message a user wrote lately, **encrypted** (`bot.storage.sealed`), for a case card if the user agrees to
    share it. At most `RECENT_MESSAGES` per user, and none older than `RECENT_SECONDS`: older ones are deleted with
    every new one and by the purge, and never read (`bot.conversation.turn.Memory`)."""

    __tablename__ = "recent_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_key: Mapped[str] = mapped_column(ForeignKey("conversations.key", ondelete="CASCADE"), index=True)
    sealed: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class Replica(Base):
    """A running bot process (a webhook replica), so that the replicas can split Telegram's send budget.

    `id` is random per process start; a replica that stopped beating is no longer counted and is deleted later."""

    __tablename__ = "replicas"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class Professional(Base):
    """The name a professional chose to show users; keyed like users, never by Telegram id."""

    __tablename__ = "professionals"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(64))


class InsightCount(Base):
    """One anonymous counter: how often something happened in one ISO week, for one audience and language.

    Aggregates only: no user key, no text, no time finer than the ISO week. `bot.insights.recorder` adds to it
    with an upsert; `bot.insights.report` reads it and hides small numbers.
    """

    __tablename__ = "insight_counts"
    __table_args__ = (UniqueConstraint("week", "kind", "key", "audience", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[str] = mapped_column(String(8))
    """The ISO week in Europe/Amsterdam, e.g. "2026-W49"."""
    kind: Mapped[str] = mapped_column(String(32))
    """What was counted: "topic", "crisis", "handoff_claimed", "claim_time", "feedback_up", ..."""
    key: Mapped[str] = mapped_column(String(64), default="")
    """Which one: a topic, a crisis category, a claim-time bucket ("5-15"), an answer key; "" when none."""
    audience: Mapped[str] = mapped_column(String(16), default="")
    """parent, youth, professional, or "" when not known (never NULL: NULLs would escape the unique constraint)."""
    language: Mapped[str] = mapped_column(String(2), default="")
    tally: Mapped[int] = mapped_column(Integer, default=0)


class InboundUpdate(Base):
    """One Telegram update a webhook replica received: acknowledged only once this row is committed, so no update is
    lost, and acted on once across replicas, since the primary key decides (`bot.storage.journal`).

    Privacy: while pending, `payload` holds the update (encrypted by the channel; names, usernames and chat titles
    removed before that) for seconds; when its work is done the payload is deleted and only the update id and the
    time remain, for about a day, to recognise Telegram's redeliveries.
    """

    __tablename__ = "inbound_updates"
    __table_args__ = (Index("ix_inbound_updates_status_lease_until", "status", "lease_until"),)

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    status: Mapped[str] = mapped_column(String(8), default="pending")
    """"pending" (stored, work not finished) or "done"."""
    payload: Mapped[str | None] = mapped_column(Text, default=None)
    owner: Mapped[str | None] = mapped_column(String(32), default=None)
    """The random token of the process that works on it now (never a host name)."""
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    """Another replica may take the update over once this has passed (its owner died)."""
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    sent: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """How many messages were sent for it so far, so that a replica taking it over does not send them again."""
    replied: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Its handling sent its last reply: a replica taking it over only marks it done (not handled again)."""
    replies: Mapped[str | None] = mapped_column(Text, default=None)
    """The replies its unit of work decided on (sealed), written in that same transaction: a replica taking it over
    sends what is left of them instead of handling the message again on the state the first handling changed.
    Deleted with the payload when the work is done."""
    replies_from: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    """Messages sent for the update before those replies (the crisis lines, sent before the unit of work)."""


SQLITE_QUEUE_SECONDS = 10.0
"""How long a unit of work waits for its turn at SQLite's one writer before it fails; SQLite's own busy timeout (for
the writers outside the queue) is the same."""


class Database:
    """Owns the engine; hands out one session per unit of work. The schema comes from migrations (`schema`)."""

    def __init__(
        self, url: str, pool_size: int = DEFAULT_DB_POOL_SIZE, max_overflow: int = DEFAULT_DB_POOL_OVERFLOW
    ) -> None:
        """On PostgreSQL an explicit pool: SQLAlchemy's default (5 + 10) is too small for the chats a process runs
        at once (`DEFAULT_MAX_CHATS`) beside the journal's and the advisory locks' own connections."""
        if make_url(url).get_backend_name() == "postgresql":
            self.engine: AsyncEngine = create_async_engine(url, pool_size=pool_size, max_overflow=max_overflow)
        else:
            self.engine = create_async_engine(url)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._writers: asyncio.Lock | None = None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            self._writers = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction for one user's unit of work (a message, a button, a command), which writes.

        SQLite has one writer at a time, and a writer that finds the database locked retries in SQLite's busy
        handler by sleeping: unfair, so under load a message could wait out the busy timeout while others came and
        went, and its user got the "can't answer now" reply (12 conversations at once on a busy 2-core machine: 300
        of them). In this one process the units of work queue instead, first come first served, each holding the
        write lock for milliseconds. PostgreSQL locks the user's row, not the database: nothing to queue for."""
        if self._writers is None:
            async with self.sessions.begin() as session:
                yield session
            return
        async with asyncio.timeout(SQLITE_QUEUE_SECONDS):  # as long as SQLite's own busy timeout: then "can't answer"
            await self._writers.acquire()
        try:
            async with self.sessions.begin() as session:
                yield session
        finally:
            self._writers.release()

    async def dispose(self) -> None:
        await self.engine.dispose()


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """Write-ahead logging: readers don't block the writer, and a commit needs no fsync of its own (it survives a
    crash of the bot; only a power cut can lose the last moments). Foreign keys, so deleting a user cascades."""
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={round(SQLITE_QUEUE_SECONDS * 1000)}")
    cursor.close()
