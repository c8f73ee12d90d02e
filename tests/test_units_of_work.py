"""One user's unit of work (`Database.unit_of_work`): on SQLite the units of work of this process queue for the one
write lock, first come first served, instead of retrying in SQLite's busy handler; on PostgreSQL they run at once."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import update

from bot.storage import models
from bot.storage.models import Conversation, Database

UNITS = 8


async def _run_at_once(database: Database) -> list[tuple[int, str]]:
    """Start UNITS units of work one after another without waiting; each writes, then holds its transaction open
    for a moment (as a turn does while it decides its replies). Returns who entered and left, in order."""
    events: list[tuple[int, str]] = []

    async def unit(number: int) -> None:
        async with database.unit_of_work() as session:
            events.append((number, "in"))
            await session.execute(
                update(Conversation).where(Conversation.key == f"nobody-{number}").values(step="chat")
            )
            await asyncio.sleep(0.05)
            events.append((number, "out"))

    tasks = []
    for number in range(UNITS):
        tasks.append(asyncio.create_task(unit(number)))
        await asyncio.sleep(0)  # arrival order: 0 first
    await asyncio.gather(*tasks)
    return events


async def test_units_of_work_queue_on_sqlite_and_run_at_once_on_postgresql(database: Database) -> None:
    events = await _run_at_once(database)
    if database.engine.dialect.name == "sqlite":
        # one after another, in the order they came: never two inside at once
        assert events == [(n, side) for n in range(UNITS) for side in ("in", "out")]
    else:
        # row locks, not a database lock: every unit is inside before the first one leaves
        assert [side for _, side in events[:UNITS]] == ["in"] * UNITS


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # PostgreSQL has no queue
async def test_a_unit_of_work_that_waits_too_long_for_sqlite_fails_instead_of_waiting_for_ever(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind a unit of work that hangs (a send that does not come back), the next one gives up after
    SQLITE_QUEUE_SECONDS, so its user gets the "can't answer now" reply; the queue goes on once the first is done."""
    monkeypatch.setattr(models, "SQLITE_QUEUE_SECONDS", 0.1)
    release = asyncio.Event()

    async def hanging() -> None:
        async with database.unit_of_work():
            await release.wait()

    first = asyncio.create_task(hanging())
    await asyncio.sleep(0.01)
    with pytest.raises(TimeoutError):
        async with database.unit_of_work():
            pass
    release.set()
    await first
    async with database.unit_of_work() as session:  # the lock was not lost on the way
        assert session is not None
