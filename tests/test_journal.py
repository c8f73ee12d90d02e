"""The inbound journal on SQLite and PostgreSQL: an update is acted on once, a dead replica's work is taken over
once, and a done update keeps only its id and time, for a day."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from bot.storage import journal
from bot.storage.models import Database, InboundUpdate, utcnow
from bot.storage.retention import Retention

NOW = datetime(2026, 6, 1, 12, 0, 30, 123456, tzinfo=utcnow().tzinfo)
LEASE = timedelta(seconds=20)


async def row(database: Database, update_id: int) -> InboundUpdate | None:
    async with database.sessions() as session:
        found: InboundUpdate | None = await session.get(InboundUpdate, update_id)
        return found


async def test_the_first_copy_of_an_update_is_stored_and_a_second_is_not(database: Database) -> None:
    assert await journal.record(database, 7, "sealed", "replica-a", NOW, LEASE)
    assert not await journal.record(database, 7, "sealed again", "replica-b", NOW, LEASE)
    stored = await row(database, 7)
    assert stored is not None
    assert (stored.status, stored.payload, stored.owner) == ("pending", "sealed", "replica-a")


async def test_two_replicas_storing_the_same_update_at_once_get_one_row(database: Database) -> None:
    results = await asyncio.gather(
        *(journal.record(database, 8, "sealed", f"replica-{n}", NOW, LEASE) for n in range(4))
    )
    assert sorted(results) == [False, False, False, True]


async def test_a_finished_update_loses_its_payload_and_keeps_its_id_and_second(database: Database) -> None:
    await journal.record(database, 9, "sealed", "replica-a", NOW, LEASE)
    assert await journal.finish(database, [9], NOW + timedelta(seconds=2)) == 1
    stored = await row(database, 9)
    assert stored is not None
    assert (stored.status, stored.payload, stored.owner, stored.lease_until) == ("done", None, None, None)
    assert stored.done_at is not None and stored.done_at.microsecond == 0
    assert not await journal.record(database, 9, "redelivered", "replica-b", NOW, LEASE)  # still recognised


async def test_only_updates_whose_lease_ran_out_are_taken_over_oldest_first(database: Database) -> None:
    for update_id in (12, 11):
        await journal.record(database, update_id, f"sealed {update_id}", "dead", NOW - 2 * LEASE, LEASE)
    await journal.record(database, 13, "sealed 13", "alive", NOW, LEASE)
    await journal.record(database, 14, "sealed 14", "dead", NOW - 2 * LEASE, LEASE)
    await journal.finish(database, [14], NOW)
    claimed = await journal.claim(database, "taker", NOW, LEASE)
    assert claimed == [journal.Claimed(11, "sealed 11"), journal.Claimed(12, "sealed 12")]
    assert await journal.claim(database, "another", NOW, LEASE) == []  # the new lease holds
    taken = await row(database, 11)
    assert taken is not None and taken.owner == "taker"


async def test_two_replicas_claiming_at_once_never_take_the_same_update(database: Database) -> None:
    for update_id in range(100, 130):
        await journal.record(database, update_id, "sealed", "dead", NOW - 2 * LEASE, LEASE)
    first, second = await asyncio.gather(
        journal.claim(database, "one", NOW, LEASE, limit=20), journal.claim(database, "two", NOW, LEASE, limit=20)
    )
    ids = [claimed.update_id for claimed in first + second]
    assert sorted(ids) == list(range(100, 130))


async def test_a_renewed_lease_is_not_taken_over_and_a_released_one_is_at_once(database: Database) -> None:
    await journal.record(database, 20, "sealed", "slow", NOW - LEASE, LEASE)
    assert await journal.renew(database, [20], "slow", NOW, LEASE) == 1
    assert await journal.renew(database, [20], "someone-else", NOW, LEASE) == 0
    assert await journal.claim(database, "taker", NOW + LEASE / 2, LEASE) == []
    assert await journal.release(database, [20], "slow", NOW) == 1
    assert await journal.claim(database, "taker", NOW, LEASE) == [journal.Claimed(20, "sealed")]


async def test_the_purge_forgets_done_updates_after_a_day_and_never_pending_ones(database: Database) -> None:
    for update_id in (30, 31, 32):
        await journal.record(database, update_id, "sealed", "replica", NOW - timedelta(days=3), LEASE)
    await journal.finish(database, [30], NOW - timedelta(hours=25))
    await journal.finish(database, [31], NOW - timedelta(hours=23))
    purged = await Retention(database, 30, 180, clock=lambda: NOW).purge()
    assert purged.updates == 1
    assert await row(database, 30) is None
    assert await row(database, 31) is not None  # still needed to recognise a redelivery
    assert await row(database, 32) is not None  # pending: its work is not done yet


async def test_the_count_of_sent_messages_is_handed_to_the_replica_that_takes_the_update_over(
    database: Database,
) -> None:
    await journal.record(database, 40, "sealed", "killed", NOW - 2 * LEASE, LEASE)
    await journal.count_sent(database, 40, 2)
    await journal.count_sent(database, 40, 1)  # a write that landed late never lowers the count
    assert await journal.claim(database, "taker", NOW, LEASE) == [journal.Claimed(40, "sealed", sent=2)]


async def test_an_update_whose_last_reply_went_out_is_handed_over_as_answered(database: Database) -> None:
    await journal.record(database, 42, "sealed", "killed", NOW - 2 * LEASE, LEASE)
    await journal.count_sent(database, 42, 2, replied=True)
    await journal.count_sent(database, 42, 2)  # a late write without the mark does not take it away
    assert await journal.claim(database, "taker", NOW, LEASE) == [journal.Claimed(42, "sealed", 2, replied=True)]


async def test_a_new_update_has_sent_nothing_and_a_done_one_is_no_longer_counted(database: Database) -> None:
    await journal.record(database, 41, "sealed", "replica", NOW, LEASE)
    stored = await row(database, 41)
    assert stored is not None and stored.sent == 0
    await journal.finish(database, [41], NOW)
    await journal.count_sent(database, 41, 3)
    done = await row(database, 41)
    assert done is not None and done.sent == 0


async def test_replies_are_kept_only_by_the_owner_of_the_update(database: Database) -> None:
    # A replica whose lease ran out and was taken over must not commit its unit of work: keeping fences it.
    assert await journal.record(database, 41, "sealed", "first", NOW, LEASE)
    async with database.sessions.begin() as session:
        await journal.keep_replies(session, 41, "first", "kept", 1)
    stored = await row(database, 41)
    assert stored is not None and stored.replies == "kept" and stored.replies_from == 1
    with pytest.raises(journal.LeaseLost):
        async with database.sessions.begin() as session:
            await journal.keep_replies(session, 41, "second", "other", 0)
    stored = await row(database, 41)
    assert stored is not None and stored.replies == "kept"
    async with database.sessions.begin() as session:  # no row: handled in memory, nothing to fence
        await journal.keep_replies(session, 42, "first", "kept", 0)
    assert await row(database, 42) is None
