"""Webhook replicas lose no update and act on none twice: real uvicorn servers on loopback, the real application,
the Bot API stand-in, the real NLU service, one database shared by the replicas (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import make_url

from bot import app
from bot.channels.telegram import inbound
from bot.channels.telegram.inbound import LEASE, URGENT_LEASE, PayloadSealer, strip_identities
from bot.channels.telegram.webhook import SECRET_HEADER, WebhookBot
from bot.replies import Reply, encode
from bot.storage import journal
from bot.storage.models import Database, InboundUpdate, utcnow
from standin.bot_api import USER, StandIn, text_update
from standin.faults import CuttableProxy, SlowNlu
from tests.conftest import make_settings

pytestmark = pytest.mark.integration

SECRET = "het-echte-geheim_42"
PSEUDONYM_SECRET = "replicas-share-this"
DANGER = "ik wil niet meer leven"


class Replicas:
    """Webhook processes on one database and one stand-in, as behind a load balancer."""

    def __init__(self, tmp_path: Path, stand_in: StandIn, rasa_url: str, database_url: str) -> None:
        self.rasa_url = rasa_url
        self.settings = make_settings(
            tmp_path,
            telegram_token="123456:TEST-TOKEN",
            telegram_api_base_url=stand_in.base_url,
            rasa_url=rasa_url,
            database_url=database_url,
            pseudonym_secret=PSEUDONYM_SECRET,
            webhook_listen="127.0.0.1:0",
            webhook_secret=SECRET,
        )
        self.stand_in = stand_in
        self.bots: list[WebhookBot] = []

    async def start(self, count: int = 1, tick: float = 0.2, lease: timedelta = LEASE) -> list[httpx.AsyncClient]:
        await app.migrate(self.settings)
        clients = []
        for _ in range(count):
            bot = WebhookBot(self.settings, journal_tick=tick, journal_lease=lease)
            await bot.start()
            self.bots.append(bot)
            clients.append(httpx.AsyncClient(base_url=f"http://127.0.0.1:{bot.port}"))
        return clients

    async def stop(self) -> None:
        for bot in self.bots:
            await bot.stop()

    def replies_to_user(self) -> list[str]:
        return [
            str(call.params["text"])
            for call in self.stand_in.calls_to("sendMessage")
            if call.params.get("chat_id") == USER["id"]
        ]

    async def row(self, update_id: int) -> InboundUpdate | None:
        database = Database(self.settings.database_url)
        try:
            async with database.sessions() as session:
                found: InboundUpdate | None = await session.get(InboundUpdate, update_id)
                return found
        finally:
            await database.dispose()

    async def wait_until_done(self, update_id: int, clients: list[httpx.AsyncClient], within: float = 15.0) -> None:
        """Until the update's row is done and no replica has anything left to handle."""
        deadline = asyncio.get_running_loop().time() + within
        while True:
            row = await self.row(update_id)
            if row is not None and row.status == journal.DONE and all([await idle(c) for c in clients]):
                return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"update {update_id} was not done in time")
            await asyncio.sleep(0.05)


def assert_answered_once(replies: list[str]) -> None:
    """The crisis lines and what follows them, each sent once."""
    assert len([reply for reply in replies if "0800-0113" in reply]) == 1
    assert len(set(replies)) == len(replies) >= 1


async def idle(client: httpx.AsyncClient) -> bool:
    return "bot_updates_pending 0.0" in (await client.get("/metrics")).text


async def metric(client: httpx.AsyncClient, name: str) -> str:
    for line in (await client.get("/metrics")).text.splitlines():
        if line.startswith(f"{name} "):
            return line.split()[1]
    raise AssertionError(f"{name} is not in /metrics")


@pytest.fixture
async def replicas(tmp_path: Path, stand_in: StandIn, rasa_url: str, database_url: str) -> AsyncIterator[Replicas]:
    running = Replicas(tmp_path, stand_in, rasa_url, database_url)
    yield running
    await running.stop()


def update(text: str, number: int) -> dict[str, Any]:
    return {**text_update(text), "update_id": number}


def post(client: httpx.AsyncClient, body: dict[str, Any]) -> Any:
    return client.post("/telegram", json=body, headers={SECRET_HEADER: SECRET})


async def test_the_same_update_posted_twice_is_answered_once(replicas: Replicas) -> None:
    [client] = await replicas.start()
    start = update("/start", 501)
    assert (await post(client, start)).status_code == 200
    assert (await post(client, start)).status_code == 200  # Telegram redelivers: acknowledged, not acted on
    await replicas.wait_until_done(501, [client])
    [welcome] = replicas.replies_to_user()
    assert "anoniem" in welcome
    assert await metric(client, "bot_updates_duplicate_total") == "1.0"
    await client.aclose()


async def test_two_replicas_given_the_same_update_answer_it_once(replicas: Replicas) -> None:
    first, second = await replicas.start(count=2)
    danger = update(DANGER, 502)
    responses = [await post(first, danger), await post(second, danger)]
    assert [response.status_code for response in responses] == [200, 200]
    await replicas.wait_until_done(502, [first, second])
    assert_answered_once(replicas.replies_to_user())
    for client in (first, second):
        await client.aclose()


async def test_a_handled_update_keeps_no_payload_and_a_waiting_one_no_names(replicas: Replicas) -> None:
    [client] = await replicas.start()
    await post(client, update("/start", 503))
    await replicas.wait_until_done(503, [client])
    row = await replicas.row(503)
    assert row is not None and (row.status, row.payload, row.owner) == ("done", None, None)
    stored = strip_identities(update("hallo", 504))  # what the journal keeps while an update waits
    for name in (USER["first_name"], USER["username"]):
        assert str(name) not in str(stored)
    assert stored["message"]["text"] == "hallo" and stored["message"]["from"]["id"] == USER["id"]
    await client.aclose()


async def test_an_update_a_dead_replica_left_is_taken_over_and_answered_once(replicas: Replicas) -> None:
    # As a replica killed after its 200 leaves it: pending, its lease run out, its owner gone.
    database = Database(replicas.settings.database_url)
    await app.migrate(replicas.settings)
    sealed = PayloadSealer(PSEUDONYM_SECRET.encode()).seal(strip_identities(update(DANGER, 505)))
    long_ago = utcnow() - 2 * LEASE
    assert await journal.record(database, 505, sealed, "killed-replica", long_ago, LEASE)
    await database.dispose()

    first, second = await replicas.start(count=2)  # both look for it every 0.2 s; one takes it
    await replicas.wait_until_done(505, [first, second])
    assert_answered_once(replicas.replies_to_user())
    taken = [await metric(client, "bot_updates_taken_over_total") for client in (first, second)]
    assert sorted(taken) == ["0.0", "1.0"]
    assert (await post(first, update(DANGER, 505))).status_code == 200  # Telegram's late redelivery
    await replicas.wait_until_done(505, [first, second])
    assert_answered_once(replicas.replies_to_user())
    for client in (first, second):
        await client.aclose()


async def test_a_taken_over_update_does_not_send_again_what_the_dead_replica_sent(replicas: Replicas) -> None:
    # The dead replica sent the crisis lines for this acute message (and counted them), then was killed.
    database = Database(replicas.settings.database_url)
    await app.migrate(replicas.settings)
    sealed = PayloadSealer(PSEUDONYM_SECRET.encode()).seal(strip_identities(update(DANGER, 511)))
    assert await journal.record(database, 511, sealed, "killed-replica", utcnow() - 2 * LEASE, LEASE)
    await journal.count_sent(database, 511, 1)
    await database.dispose()

    first, second = await replicas.start(count=2)
    await replicas.wait_until_done(511, [first, second])
    rest = replicas.replies_to_user()
    # What another user gets for the same message, from start to end: the crisis lines, then the rest.
    other = {**USER, "id": USER["id"] + 1}
    await post(first, {**text_update(DANGER, user=other), "update_id": 512})
    await replicas.wait_until_done(512, [first, second])
    whole = [str(call.params["text"]) for call in replicas.stand_in.calls_to("sendMessage")][len(rest) :]
    assert "0800-0113" in whole[0] and len(whole) >= 2
    assert rest == whole[1:]  # not the crisis lines again, but everything after them
    not_resent = [await metric(client, "bot_replies_not_resent_total") for client in (first, second)]
    assert sorted(not_resent) == ["0.0", "1.0"]
    row = await replicas.row(511)
    assert row is not None and row.status == journal.DONE
    for client in (first, second):
        await client.aclose()


async def test_an_update_whose_replies_all_went_out_before_its_replica_died_is_not_handled_again(
    replicas: Replicas,
) -> None:
    # Killed after its last reply, before the update was marked done: the journal says it was answered.
    database = Database(replicas.settings.database_url)
    await app.migrate(replicas.settings)
    sealed = PayloadSealer(PSEUDONYM_SECRET.encode()).seal(strip_identities(update(DANGER, 513)))
    assert await journal.record(database, 513, sealed, "killed-replica", utcnow() - 2 * LEASE, LEASE)
    await journal.count_sent(database, 513, 2, replied=True)
    await database.dispose()

    first, second = await replicas.start(count=2)
    await replicas.wait_until_done(513, [first, second])
    assert replicas.replies_to_user() == []
    taken = [await metric(client, "bot_updates_taken_over_total") for client in (first, second)]
    assert sorted(taken) == ["0.0", "1.0"]
    for client in (first, second):
        await client.aclose()


async def test_an_update_whose_unit_of_work_committed_gets_its_kept_replies_not_a_second_handling(
    replicas: Replicas,
) -> None:
    # Killed after its unit of work committed (the conversation changed, its replies kept with it) and after it sent
    # the crisis lines and the first reply: the taker-over sends the rest of what was decided, word for word.
    database = Database(replicas.settings.database_url)
    await app.migrate(replicas.settings)
    sealer = PayloadSealer(PSEUDONYM_SECRET.encode())
    assert await journal.record(
        database,
        515,
        sealer.seal(strip_identities(update("hoe werkt bezoek", 515))),
        "killed",
        utcnow() - 2 * LEASE,
        LEASE,
    )
    decided = [Reply("eerste antwoord"), Reply("tweede antwoord, nog niet verstuurd"), Reply("bedankt", in_place=True)]
    async with database.sessions.begin() as session:
        await journal.keep_replies(session, 515, "killed", sealer.seal_text(encode(decided)), replies_from=1)
    await journal.count_sent(database, 515, 2)  # the crisis lines, then "eerste antwoord"
    await database.dispose()

    first, second = await replicas.start(count=2)
    await replicas.wait_until_done(515, [first, second])
    assert replicas.replies_to_user() == ["tweede antwoord, nog niet verstuurd"]  # not handled again: no new answer
    row = await replicas.row(515)
    assert row is not None and row.status == journal.DONE and row.replies is None and row.payload is None
    for client in (first, second):
        await client.aclose()


async def test_a_lease_that_is_still_running_is_not_taken_over(replicas: Replicas) -> None:
    database = Database(replicas.settings.database_url)
    await app.migrate(replicas.settings)
    sealed = PayloadSealer(PSEUDONYM_SECRET.encode()).seal(strip_identities(update("/start", 506)))
    assert await journal.record(database, 506, sealed, "busy-replica", utcnow(), timedelta(hours=1))
    await database.dispose()
    [client] = await replicas.start()
    [bot] = replicas.bots
    assert bot.inbox is not None
    await bot.inbox.tick()  # what the loop does every few seconds, once more here
    row = await replicas.row(506)
    assert row is not None and (row.status, row.owner) == ("pending", "busy-replica")
    assert replicas.replies_to_user() == []
    await client.aclose()


async def test_work_that_outlasts_the_lease_keeps_it_and_is_not_done_twice(
    tmp_path: Path, stand_in: StandIn, database_url: str
) -> None:
    slow = SlowNlu(delay=2.5)  # the NLU service answers after 2.5 s; each lease lasts 1 s unless renewed
    await slow.start()
    running = Replicas(tmp_path, stand_in, slow.url, database_url)
    try:
        first, second = await running.start(count=2, lease=timedelta(seconds=1))
        await post(first, update("/start", 509))
        await running.wait_until_done(509, [first, second])
        await post(first, update("hoe regel ik een bezoek", 510))
        await running.wait_until_done(510, [first, second])
        assert len(slow.answered_at) == 1  # understood once: the other replica never took it over
        assert [await metric(client, "bot_updates_taken_over_total") for client in (first, second)] == ["0.0", "0.0"]
        assert len(running.replies_to_user()) == len(set(running.replies_to_user())) >= 2
        for client in (first, second):
            await client.aclose()
    finally:
        await running.stop()
        await slow.stop()


async def test_an_acute_message_is_leased_short_so_that_a_crash_delays_its_lines_seconds_not_a_lease(
    tmp_path: Path, stand_in: StandIn, database_url: str
) -> None:
    slow = SlowNlu(delay=2.5)  # each message is worked on for seconds: its lease can be read meanwhile
    await slow.start()
    running = Replicas(tmp_path, stand_in, slow.url, database_url)
    try:
        [client] = await running.start(tick=0.2)
        leased: dict[int, timedelta] = {}
        for number, text in ((521, "hoe regel ik een bezoek"), (522, DANGER)):
            await post(client, update(text, number))
            await asyncio.sleep(0.5)  # a few ticks: the lease as renewed, not only as first written
            row = await running.row(number)
            assert row is not None and row.status == journal.PENDING and row.lease_until is not None
            leased[number] = row.lease_until - row.received_at  # received_at is cut to the second
            await running.wait_until_done(number, [client])
        assert leased[521] >= LEASE
        assert leased[522] <= URGENT_LEASE + timedelta(seconds=2) < LEASE
        await client.aclose()
    finally:
        await running.stop()
        await slow.stop()


async def test_an_acute_message_handled_in_memory_and_taken_over_meanwhile_leaves_its_chat_answered(
    tmp_path: Path, stand_in: StandIn, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The journal's insert commits but answers after the timeout: the replica handles the acute message in memory,
    # while the row's short lease runs out and the other replica takes it over (times scaled down tenfold).
    monkeypatch.setattr(inbound, "URGENT_LEASE", timedelta(seconds=0.8))
    monkeypatch.setattr(inbound, "JOURNAL_SECONDS", 0.3)
    record = journal.record

    async def late_record(database: Database, update_id: int, *rest: Any) -> bool:
        stored = await record(database, update_id, *rest)
        if update_id == 530:
            await asyncio.sleep(1.0)
        return stored

    monkeypatch.setattr(journal, "record", late_record)
    slow = SlowNlu(delay=1.5)  # the in-memory work still runs when the lease is taken over
    await slow.start()
    running = Replicas(tmp_path, stand_in, slow.url, database_url)
    try:
        await app.migrate(running.settings)
        first, other = WebhookBot(running.settings, journal_tick=600), WebhookBot(running.settings, journal_tick=0.1)
        for bot in (first, other):
            await bot.start()
            running.bots.append(bot)
        assert first.inbox is not None and other.inbox is not None
        client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{first.port}", timeout=30)
        acute = asyncio.create_task(post(client, update(DANGER, 530)))
        await asyncio.sleep(0.6)
        assert (await post(client, update("hoe regel ik een bezoek", 531))).status_code == 200  # queued behind it
        assert (await acute).status_code == 200
        assert (first.inbox.in_memory, other.inbox.taken_over) == (1, 1)
        await running.wait_until_done(531, [client])  # the chat's next message is still answered here
        await running.wait_until_done(530, [client])  # by the replica that took it over
        replies = running.replies_to_user()
        assert "0800-0113" in replies[0] and len(set(replies)) == len(replies)  # the lines first, nothing twice
        assert "bezoek" in replies[-1]  # (under the check-in footer, which names 113 too)
        await client.aclose()
    finally:
        await running.stop()
        await slow.stop()


@pytest.mark.parametrize("headers", [{}, {SECRET_HEADER: "geraden"}])
async def test_a_request_without_the_right_secret_is_not_stored(replicas: Replicas, headers: dict[str, str]) -> None:
    [client] = await replicas.start()
    response = await client.post("/telegram", json=update(DANGER, 507), headers=headers)
    assert response.status_code == 403
    assert await replicas.row(507) is None
    assert replicas.replies_to_user() == []
    await client.aclose()


async def test_webhook_mode_refuses_to_start_without_a_pseudonym_secret(tmp_path: Path, stand_in: StandIn) -> None:
    settings = make_settings(
        tmp_path,
        telegram_token="123456:TEST-TOKEN",
        telegram_api_base_url=stand_in.base_url,
        pseudonym_secret=None,
        webhook_listen="127.0.0.1:0",
        webhook_secret=SECRET,
    )
    with pytest.raises(SystemExit, match="PSEUDONYM_SECRET must be set with webhook mode"):
        await WebhookBot(settings).start()
    assert not (tmp_path / "pseudonym.secret").exists()
    assert stand_in.calls == []


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_with_the_database_down_an_acute_message_gets_the_crisis_lines_before_the_200(
    tmp_path: Path, stand_in: StandIn, rasa_url: str, database_url: str
) -> None:
    url = make_url(database_url)
    proxy = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    proxied = url.set(port=proxy.listen_port).render_as_string(hide_password=False)
    running = Replicas(tmp_path, stand_in, rasa_url, proxied)
    try:
        [client] = await running.start()
        await proxy.cut()  # PostgreSQL is gone from here on
        response = await post(client, update(DANGER, 508))
        assert response.status_code == 200
        [lines] = running.replies_to_user()  # already sent when the 200 came: handled in memory, not queued
        assert "113" in lines
        assert await metric(client, "bot_updates_in_memory_total") == "1.0"
        await client.aclose()
    finally:
        await running.stop()
        await proxy.cut()
