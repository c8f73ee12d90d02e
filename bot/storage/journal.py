"""The inbound journal: webhook updates stored before they are acknowledged, worked on under a lease, then forgotten.

Telegram redelivers an update until it gets a 200, and several webhook replicas may each receive one copy; the
database decides who acts. `record` inserts a row (`INSERT … ON CONFLICT DO NOTHING`): only the replica whose insert
made the row acts on it. The row carries a lease: its owner (a random token per process) renews it while it works,
and marks the row done when the work is finished, which deletes the payload. A row still pending after its lease
ran out belongs to a replica that died; `claim` gives it to another (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite:
the single guarded `UPDATE … WHERE lease_until < now` is atomic on its own).

Each function is one short unit of work of its own; none of them is ever called with a network call in between.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Database, InboundUpdate

PENDING = "pending"
DONE = "done"
KEEP_DONE = timedelta(hours=24)
"""How long a done update's id is kept, to recognise a redelivery (Telegram keeps an update for at most a day)."""
CLAIM_BATCH = 50


@dataclass(frozen=True)
class Claimed:
    """A pending update taken over from a replica whose lease ran out."""

    update_id: int
    payload: str | None
    sent: int = 0
    """Messages the previous owner sent for it already (`count_sent`): the new owner does not send them again."""
    replied: bool = False
    """The previous owner sent its last reply too: nothing is left to do but mark it done."""
    replies: str | None = None
    """The replies the previous owner's unit of work decided on (sealed), if it committed: sent, not decided again."""
    replies_from: int = 0
    """Messages sent before those replies (the crisis lines)."""


def _second(moment: datetime) -> datetime:
    """Times kept after the work is done need no more than the second."""
    return moment.replace(microsecond=0)


async def record(database: Database, update_id: int, payload: str, owner: str, now: datetime, lease: timedelta) -> bool:
    """Store a newly received update, leased to `owner`; False when its id is known already (a redelivery, or a copy
    another replica stored first): then nobody here acts on it."""
    insert = postgresql.insert if database.engine.dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(InboundUpdate)
        .values(
            update_id=update_id,
            status=PENDING,
            payload=payload,
            owner=owner,
            lease_until=now + lease,
            received_at=_second(now),
        )
        .on_conflict_do_nothing(index_elements=[InboundUpdate.update_id])
        .returning(InboundUpdate.update_id)
    )
    async with database.sessions.begin() as session:
        result = await session.execute(statement)
        return result.first() is not None


async def finish(database: Database, update_ids: Collection[int], now: datetime) -> int:
    """Mark updates done and delete their payloads; returns how many were still pending (whoever held the lease:
    the work is done, so nobody should start it again)."""
    if not update_ids:
        return 0
    statement = (
        update(InboundUpdate)
        .where(InboundUpdate.update_id.in_(list(update_ids)), InboundUpdate.status == PENDING)
        .values(status=DONE, payload=None, replies=None, owner=None, lease_until=None, done_at=_second(now))
    )
    async with database.sessions.begin() as session:
        return await _count(session, statement)


async def renew(database: Database, update_ids: Collection[int], owner: str, now: datetime, lease: timedelta) -> int:
    """Extend the lease of the updates `owner` still works on; returns how many it still holds."""
    return await _set_held(database, update_ids, owner, {"lease_until": now + lease})


async def release(database: Database, update_ids: Collection[int], owner: str, now: datetime) -> int:
    """Give back updates `owner` will not finish (it is stopping), so another replica takes them over at once."""
    return await _set_held(database, update_ids, owner, {"owner": None, "lease_until": now - timedelta(seconds=1)})


async def _set_held(database: Database, update_ids: Collection[int], owner: str, values: Mapping[str, Any]) -> int:
    """Change those of `update_ids` that `owner` still holds (pending, not taken over); returns how many."""
    if not update_ids:
        return 0
    statement = (
        update(InboundUpdate)
        .where(
            InboundUpdate.update_id.in_(list(update_ids)),
            InboundUpdate.owner == owner,
            InboundUpdate.status == PENDING,
        )
        .values(dict(values))
    )
    async with database.sessions.begin() as session:
        return await _count(session, statement)


async def claim(
    database: Database, owner: str, now: datetime, lease: timedelta, limit: int = CLAIM_BATCH
) -> list[Claimed]:
    """Take over pending updates whose lease ran out, oldest first, leased to `owner` from now on.

    Two replicas claiming at once never get the same row: on PostgreSQL the rows are locked and skipped by the
    other (`FOR UPDATE SKIP LOCKED`); on SQLite the one `UPDATE` runs under the database's write lock, and its guard
    (`lease_until < now`) fails for the second."""
    if limit < 1:
        return []
    expired = or_(InboundUpdate.lease_until.is_(None), InboundUpdate.lease_until < now)
    oldest = (
        select(InboundUpdate.update_id)
        .where(InboundUpdate.status == PENDING, expired)
        .order_by(InboundUpdate.update_id)
        .limit(limit)
        .with_for_update(skip_locked=True)  # SQLite has no row locks; SQLAlchemy leaves the clause out there
    )
    statement = (
        update(InboundUpdate)
        .where(InboundUpdate.update_id.in_(oldest), InboundUpdate.status == PENDING, expired)
        .values(owner=owner, lease_until=now + lease)
        .returning(
            InboundUpdate.update_id,
            InboundUpdate.payload,
            InboundUpdate.sent,
            InboundUpdate.replied,
            InboundUpdate.replies,
            InboundUpdate.replies_from,
        )
    )
    async with database.sessions.begin() as session:
        rows: Sequence[Any] = (await session.execute(statement)).all()
    claimed = (
        Claimed(row.update_id, row.payload, row.sent, row.replied, row.replies, row.replies_from) for row in rows
    )
    return sorted(claimed, key=lambda row: row.update_id)


async def count_sent(database: Database, update_id: int, sent: int, replied: bool = False) -> None:
    """Record that the first `sent` messages for a pending update went out, and with `replied` that they were all
    it had to say. Neither ever goes back, so writes that land out of order (or a stalled owner's late one) cannot
    make a taker-over send a message again."""
    values: dict[str, Any] = {"sent": sent, "replied": True} if replied else {"sent": sent}
    statement = (
        update(InboundUpdate)
        .where(InboundUpdate.update_id == update_id, InboundUpdate.status == PENDING, InboundUpdate.sent <= sent)
        .values(**values)
    )
    async with database.sessions.begin() as session:
        await session.execute(statement)


class LeaseLost(BaseException):
    """Another replica took the update over while this one still worked on it (its lease ran out): the unit of work
    must not commit, and nothing of it may be sent. A BaseException, so that the pipeline's "never leave the user in
    silence" fallback does not catch it: the new owner answers."""


async def keep_replies(session: AsyncSession, update_id: int, owner: str, sealed: str, replies_from: int) -> None:
    """The replies a unit of work decided on, in that unit of work: committed together with the conversation change
    they answer, or not at all. Raises `LeaseLost` when the update is no longer this owner's (a fence: two replicas
    never both commit a change for one update)."""
    statement = (
        update(InboundUpdate)
        .where(InboundUpdate.update_id == update_id, InboundUpdate.status == PENDING, InboundUpdate.owner == owner)
        .values(replies=sealed, replies_from=replies_from)
    )
    if await _count(session, statement) == 1:
        return
    row = await session.get(InboundUpdate, update_id)
    if row is not None:  # taken over, or already done by another; no row: handled in memory, nothing to fence
        raise LeaseLost(update_id)


async def forget_done(session: AsyncSession, now: datetime) -> int:
    """Remove done updates older than `KEEP_DONE`, in the caller's unit of work (the retention purge)."""
    statement = delete(InboundUpdate).where(InboundUpdate.status == DONE, InboundUpdate.done_at < now - KEEP_DONE)
    return await _count(session, statement)


async def _count(session: AsyncSession, statement: Any) -> int:
    result = cast(CursorResult[Any], await session.execute(statement))
    return result.rowcount
