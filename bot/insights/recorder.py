"""Counting what people ask, anonymously: one counter per ISO week, kind, key, audience and language.

Every method adds one to a counter inside the caller's unit of work (its session): no commit of its own, no
network, no user key, no text, no time finer than the ISO week. The counter is bumped with an upsert
(`INSERT … ON CONFLICT DO UPDATE`), so two replicas counting the same thing at once both count.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import InsightCount

logger = logging.getLogger(__name__)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
AUDIENCES = frozenset(("parent", "youth", "professional"))
LANGUAGES = frozenset(("nl", "en"))
# A key names a topic, a category, a bucket or an answer: a short identifier, never words a user wrote, and never
# anything shaped like a user key (a long run of hex digits).
_KEY = re.compile(r"[a-z][a-z0-9_]{0,47}")
_HEX = re.compile(r"[0-9a-f]{16,}")
OTHER = "other"


class Kind(StrEnum):
    TOPIC = "topic"
    UNSURE = "unsure"
    OUT_OF_SCOPE = "out_of_scope"
    CRISIS = "crisis"
    HANDOFF_OFFERED = "handoff_offered"
    HANDOFF_ACCEPTED = "handoff_accepted"
    HANDOFF_CLAIMED = "handoff_claimed"
    HANDOFF_OUT_OF_HOURS = "handoff_out_of_hours"
    CLAIM_TIME = "claim_time"
    FEEDBACK_UP = "feedback_up"
    FEEDBACK_DOWN = "feedback_down"


class HandoffEvent(StrEnum):
    """A step of a handoff, each counted once when it happens."""

    OFFERED = "offered"
    ACCEPTED = "accepted"
    CLAIMED = "claimed"
    OUT_OF_HOURS = "out_of_hours"


HANDOFF_KIND = {
    HandoffEvent.OFFERED: Kind.HANDOFF_OFFERED,
    HandoffEvent.ACCEPTED: Kind.HANDOFF_ACCEPTED,
    HandoffEvent.CLAIMED: Kind.HANDOFF_CLAIMED,
    HandoffEvent.OUT_OF_HOURS: Kind.HANDOFF_OUT_OF_HOURS,
}

# Minutes from the alert in the group to the claim, in buckets: enough to estimate p50/p90 without keeping any
# case's own time. (lower bound, label); the last bucket is open.
CLAIM_BUCKETS: tuple[tuple[float, str], ...] = (
    (0, "0-5"),
    (5, "5-15"),
    (15, "15-30"),
    (30, "30-60"),
    (60, "60-240"),
    (240, "240+"),
)
BUCKET_LABELS = tuple(label for _, label in CLAIM_BUCKETS)


def iso_week(moment: datetime) -> str:
    """The ISO week of a moment in Dutch time, e.g. "2026-W49" (the finest time the counters keep)."""
    year, week, _ = moment.astimezone(AMSTERDAM).isocalendar()
    return f"{year}-W{week:02d}"


def claim_bucket(minutes: float) -> str:
    """The bucket label for a time to claim (negative times, from clock skew, count as 0)."""
    label = CLAIM_BUCKETS[0][1]
    for lower, name in CLAIM_BUCKETS:
        if minutes >= lower:
            label = name
    return label


def _now() -> datetime:
    return datetime.now(UTC)


class Recorder:
    """Typed counting methods; each adds one to a counter in the caller's session and commits nothing."""

    def __init__(self, clock: Callable[[], datetime] = _now) -> None:
        self._clock = clock

    async def topic(self, session: AsyncSession, topic: str, audience: str | None, language: str | None) -> None:
        """An answered message, by its topic."""
        await self._count(session, Kind.TOPIC, topic, audience, language)

    async def unsure(self, session: AsyncSession, audience: str | None, language: str | None) -> None:
        """A message the bot was not sure about (it asked back)."""
        await self._count(session, Kind.UNSURE, "", audience, language)

    async def out_of_scope(self, session: AsyncSession, audience: str | None, language: str | None) -> None:
        """A message about something the bot does not cover."""
        await self._count(session, Kind.OUT_OF_SCOPE, "", audience, language)

    async def crisis(self, session: AsyncSession, category: str, audience: str | None, language: str | None) -> None:
        """An acute message, by its crisis category (suicidal, self_harm, violence, child_unsafe)."""
        await self._count(session, Kind.CRISIS, category, audience, language)

    async def handoff(
        self, session: AsyncSession, event: HandoffEvent, audience: str | None, language: str | None
    ) -> None:
        """A step of a handoff: a professional offered, accepted, claimed, or asked for outside office hours."""
        await self._count(session, HANDOFF_KIND[event], "", audience, language)

    async def claim_time(self, session: AsyncSession, minutes: float) -> None:
        """How long a case waited for a professional, as a bucket only (no audience, no language: a claim is rare
        enough that fewer dimensions keep the counts larger)."""
        await self._count(session, Kind.CLAIM_TIME, claim_bucket(minutes), None, None)

    async def feedback(
        self, session: AsyncSession, answer_key: str, useful: bool, audience: str | None, language: str | None
    ) -> None:
        """A 👍 or 👎 under an answer."""
        kind = Kind.FEEDBACK_UP if useful else Kind.FEEDBACK_DOWN
        await self._count(session, kind, answer_key, audience, language)

    async def _count(
        self, session: AsyncSession, kind: Kind, key: str, audience: str | None, language: str | None
    ) -> None:
        values = {
            "week": iso_week(self._clock()),
            "kind": kind.value,
            "key": _identifier(key, kind),
            "audience": audience if audience in AUDIENCES else "",
            "language": language if language in LANGUAGES else "",
            "tally": 1,
        }
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(InsightCount).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=["week", "kind", "key", "audience", "language"],
            set_={"tally": InsightCount.tally + 1},
        )
        await session.execute(statement)


def _identifier(key: str, kind: Kind) -> str:
    """The key as stored: an identifier or "", never anything that could be text a user typed."""
    if kind is Kind.CLAIM_TIME:
        return key if key in BUCKET_LABELS else OTHER
    if key == "" or (_KEY.fullmatch(key) and not _HEX.fullmatch(key)):
        return key
    logger.warning("an insight key of kind %s was not an identifier; counted as %r", kind.value, OTHER)
    return OTHER
