"""`make scale-test`: proof on this machine that webhook replicas lose and double nothing when one of them dies.

On loopback: three bot processes in webhook mode (`python -m bot webhook`) behind nginx, one PostgreSQL database,
two Rasa servers behind nginx too (the bots' RASA_URL is nginx's NLU proxy), and the Bot API stand-in in this
process delivering updates by webhook through nginx as Telegram does (a non-2xx answer is retried; one chat's
updates one after another). 200 users each write a few messages (a quarter of them one acute message) and wait for
the bot's replies before writing on; midway one bot process is killed with SIGKILL.

What counts:
* lost: a message that got no reply at all within LOST_AFTER seconds;
* answered twice: a message one of whose replies came again word for word (each script is first run once, alone,
  to learn how many replies each of its messages gets; more replies, each different, is another reading under load);
  judged only up to the first loss in a conversation, since after a loss the conversation takes another course;
* sent again after the takeover: such a repeat after the killed replica's lease ran out, of a reply the chat got
  before the kill (it sent the message and died before counting it: `RESENT_AT_MOST`), counted apart;
* crisis reply: from the stand-in's first delivery of an acute message to the first reply with the crisis lines.

Exit status 1 when a message was lost or answered twice, more were sent again than `RESENT_AT_MOST`, or a check
failed (a request with a wrong secret token answered, users split over several pseudonyms); 2 when the set-up could
not be started. Every child process is stopped on the way out (also after an error or Ctrl-C).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx
from sqlalchemy import text as sql
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from bot.channels.telegram.context import CHANNEL
from bot.channels.telegram.inbound import TICK_SECONDS, URGENT_LEASE
from bot.config import ROOT
from bot.pseudonym import Pseudonymiser
from standin.bot_api import SECRET_HEADER, Call, StandIn, text_update

USERS = 200
LOST_AFTER = 60.0
"""Seconds without any reply after which a message counts as lost (a journal's takeover needs up to 30 s)."""
QUIET = 2.5
"""Seconds without a further reply that end a message's reply burst (once it has as many as on a quiet system):
under load the bot may say more than alone (an NLU timeout answered from the safety net), and the last reply may
come seconds after the one before; a reply that comes after the user wrote on counts with the next message."""
RESENT_AT_MOST = 0.05
"""A replica killed between a send and its count in the journal has that message sent again after the takeover
(Telegram's sendMessage has no idempotency key, so no design closes the window, only narrows it; crisis lines above
all, which are sent before anything is recorded, on purpose): the price of losing nothing. Such a repeat is told
apart by its times (a copy before the kill, to this message or an earlier one, and the repeat after the dead
replica's lease ran out) and counted on its own; more than this share of the messages means the takeover re-sends
more than that window explains."""
DOUBLED_AT_MOST = 0.01
"""Any other repeat is a message handled twice, or a reply that came seconds late and so counts with the next message
(while no role is chosen, every answer ends with the same reminder). A handful is that noise; more than this share
of the messages means the journal is broken."""
TAKEOVER_AFTER = 10.0
"""Seconds after the kill before which no taken-over update can be answered (the lease is 20 s, renewed every 3 s):
a repeat sooner than this is not a takeover's."""
URGENT_TAKEOVER_AFTER = URGENT_LEASE.total_seconds() - TICK_SECONDS
"""The same for an acute message, whose lease is 7 s."""
SETTLE = 3.0
"""After the last user: seconds without any reply (and nothing pending) before the replies are counted."""
START_TIMEOUT = 180.0
CRISIS_MARK = "113"
"""The crisis lines reply names 113 Zelfmoordpreventie (responses/crisis.yml)."""
WEBHOOK_PATH = "/telegram"
TOKEN = "123456:SCALE-TEST"
LEARNING_CHATS = 1_900_000
"""Chat ids of the users that learn the scripts (one per script); the load's users follow from LOAD_CHATS."""
LOAD_CHATS = 2_000_000
INTRUDER_CHAT = 1_999_999
"""The chat of the update sent with a wrong secret token: nothing may ever be sent to it."""
DEFAULT_DATABASE = "postgresql+asyncpg://bot:bot@127.0.0.1:5432/bot_scale"

ACUTE = frozenset({"ik wil niet meer leven", "i want to end it all, i cant do this anymore"})
SCRIPTS: tuple[tuple[str, ...], ...] = (
    ("hoe regel ik een bezoek aan de gevangenis", "hoe vertel ik het mijn kind", "ik schaam me zo", "dank je"),
    ("how do I visit my dad in prison", "i feel so alone", "ik wil niet meer leven", "oke"),
    ("mijn vader zit vast, wat moet ik doen", "wat kost de reis", "welke organisaties kunnen helpen", "bedankt"),
    ("hoe regel ik een bezoek aan de gevangenis", "ik schaam me zo", "dank je"),
    ("ik ben leerkracht, hoe praat ik met een leerling hierover", "welke organisaties kunnen helpen", "dank"),
    ("hi, my mum is in jail", "i want to end it all, i cant do this anymore", "thanks"),
    ("mijn vader zit vast, wat moet ik doen", "hoe vertel ik het mijn kind", "wat kost de reis"),
    ("how do I visit my dad in prison", "i feel so alone", "thanks"),
)
"""Two of eight scripts hold one acute message: a quarter of the users write one."""


@dataclass(frozen=True)
class Ports:
    rasa: tuple[int, ...]
    bots: tuple[int, ...]
    proxy: int
    nlu_proxy: int

    def all(self) -> list[int]:
        return [*self.rasa, *self.bots, self.proxy, self.nlu_proxy]


class SetupError(Exception):
    """The set-up could not be started (a port in use, a process that died, nothing answering in time)."""


# -- child processes ------------------------------------------------------------------------------------------


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self, lines: int = 15) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


@dataclass
class Fleet:
    """Every child process, each in a session of its own, so that stopping it also stops what it started."""

    folder: Path
    children: list[Child] = field(default_factory=list)

    def start(self, name: str, argv: Sequence[str], env: dict[str, str] | None = None) -> Child:
        log = self.folder / f"{name}.log"
        with log.open("wb") as handle:
            process = subprocess.Popen(
                list(argv), env=env, stdout=handle, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
            )
        child = Child(name, process, log)
        self.children.append(child)
        return child

    def kill(self, child: Child) -> None:
        """SIGKILL, as a crashing container or an OOM kill: no shutdown, nothing finished."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.process.pid, signal.SIGKILL)
        child.process.wait()

    def stop_all(self) -> None:
        running = [child for child in self.children if child.process.poll() is None]
        for child in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(child.process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in running:
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.process.pid, signal.SIGKILL)
                child.process.wait()


def check_ports_free(ports: Sequence[int]) -> None:
    for port in ports:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do: TIME_WAIT is no use
            try:
                probe.bind(("127.0.0.1", port))
            except OSError as error:
                raise SetupError(f"port {port} is in use; choose others (python -m bench.scale --help)") from error


async def wait_until_ready(child: Child, url: str, check: str = "ok", method: str = "GET") -> None:
    """Until `url` answers 200 (containing `check`); fails at once when the process died."""
    deadline = time.monotonic() + START_TIMEOUT
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            if child.process.poll() is not None:
                raise SetupError(f"{child.name} died at start:\n{child.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if method == "POST":
                    response = await client.post(url, json={"text": "hallo"})
                else:
                    response = await client.get(url)
                if response.status_code == 200 and check in response.text:
                    return
            await asyncio.sleep(0.25)
    raise SetupError(f"{child.name} did not answer {url} within {START_TIMEOUT:.0f} s:\n{child.tail()}")


# -- the database ---------------------------------------------------------------------------------------------


def database_url() -> str:
    """SCALE_DATABASE_URL; else the test server's (TEST_DATABASE_URL_PG) with a database of its own; else local."""
    given = os.environ.get("SCALE_DATABASE_URL", "").strip()
    if given:
        return given
    test = os.environ.get("TEST_DATABASE_URL_PG", "").strip()
    if test:
        return make_url(test).set(database="bot_scale").render_as_string(hide_password=False)
    return DEFAULT_DATABASE


async def recreate_database(url: str) -> None:
    name = make_url(url).database
    if not name or not name.replace("_", "").isalnum():
        raise SetupError(f"not a plain database name: {name!r}")
    engine = create_async_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await connection.execute(sql(f'CREATE DATABASE "{name}"'))
    except OSError as error:
        raise SetupError(
            f"PostgreSQL does not answer ({type(error).__name__}); bash .ci/postgres starts one"
        ) from error
    finally:
        await engine.dispose()


async def stored_keys(url: str) -> set[str]:
    """The user keys of every conversation in the database."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return {str(key) for key in (await connection.execute(sql("SELECT key FROM conversations"))).scalars()}
    finally:
        await engine.dispose()


# -- nginx ----------------------------------------------------------------------------------------------------


def nginx_config(folder: Path, ports: Ports) -> str:
    """As deploy/nginx (webhook path only, POST only, a refused replica skipped; NLU parse retried on the other
    Rasa), with fixed upstreams on loopback instead of Docker's DNS."""
    bots = "\n".join(f"        server 127.0.0.1:{port};" for port in ports.bots)
    rasa = "\n".join(f"        server 127.0.0.1:{port};" for port in ports.rasa)
    temp = "\n".join(
        f"    {kind}_temp_path {folder}/{kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{
    worker_connections 1024;
}}
http {{
    access_log off;
{temp}
    client_max_body_size 1m;
    upstream bots {{
{bots}
    }}
    upstream rasa {{
{rasa}
    }}
    server {{
        listen 127.0.0.1:{ports.proxy};
        location = {WEBHOOK_PATH} {{
            limit_except POST {{
                deny all;
            }}
            proxy_pass http://bots;
            proxy_http_version 1.1;
            proxy_connect_timeout 2s;
            proxy_read_timeout 30s;
            proxy_next_upstream error;
            proxy_next_upstream_tries 2;
        }}
        location / {{
            return 404;
        }}
    }}
    server {{
        listen 127.0.0.1:{ports.nlu_proxy};
        location = /model/parse {{
            limit_except POST {{
                deny all;
            }}
            proxy_pass http://rasa;
            proxy_connect_timeout 1s;
            proxy_read_timeout 5s;
            proxy_next_upstream error timeout http_502 http_503 non_idempotent;
            proxy_next_upstream_tries 2;
        }}
        location = / {{
            proxy_pass http://rasa;
        }}
        location / {{
            return 404;
        }}
    }}
}}
"""


def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if found is None:
        raise SetupError("nginx is not installed (bash .ci/nginx installs Debian's)")
    return found


# -- the users ------------------------------------------------------------------------------------------------


@dataclass
class Step:
    """One message a user sends, and what came of it."""

    chat: int
    text: str
    expected: int
    sent: float = 0.0
    update_id: int = 0
    replies: list[Call] = field(default_factory=list)

    @property
    def acute(self) -> bool:
        return self.text in ACUTE


class Replies:
    """Every sendMessage the stand-in received, per chat, with a wake-up for whoever waits on that chat."""

    def __init__(self, stand_in: StandIn) -> None:
        self.stand_in = stand_in
        self.by_chat: dict[int, list[Call]] = {}
        self.last: float = time.monotonic()
        self._seen = 0
        self._events: dict[int, asyncio.Event] = {}

    def event(self, chat: int) -> asyncio.Event:
        return self._events.setdefault(chat, asyncio.Event())

    def since(self, chat: int, moment: float) -> list[Call]:
        return [call for call in self.by_chat.get(chat, []) if call.at >= moment]

    def collect(self) -> None:
        with self.stand_in._condition:
            new = self.stand_in.calls[self._seen :]
            self._seen += len(new)
        for call in new:
            if call.method != "sendMessage" or not isinstance(call.params.get("chat_id"), int):
                continue
            chat = int(call.params["chat_id"])
            self.by_chat.setdefault(chat, []).append(call)
            self.last = max(self.last, call.at)
            self.event(chat).set()

    async def run(self) -> None:
        while True:
            self.collect()
            await asyncio.sleep(0.01)

    async def wait(self, chat: int, seconds: float) -> None:
        event = self.event(chat)
        event.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), seconds)


def different(calls: Sequence[Call]) -> int:
    """How many different replies: a text that came again word for word counts once."""
    return len({str(call.params.get("text")) for call in calls})


def user(chat: int) -> dict[str, Any]:
    return {"id": chat, "is_bot": False, "first_name": "U", "language_code": "nl"}


async def send_and_wait(stand_in: StandIn, replies: Replies, step: Step, burst: int | None) -> None:
    """Send one message and wait for its replies: all `burst` of them (at most LOST_AFTER seconds), or, with the
    burst not known yet, until they stop for QUIET seconds. A reply that came twice word for word counts once: a
    reply the takeover sent again does not stand in for the one still to come, which would otherwise arrive after
    the user wrote on and be counted with the next message as that message answered twice."""
    step.sent = time.monotonic()
    step.update_id = stand_in.push(text_update(step.text, user(step.chat)))
    while True:
        got = replies.since(step.chat, step.sent)
        now = time.monotonic()
        if now - step.sent >= LOST_AFTER:
            return
        # Once the burst is complete (or, while learning, once replies came), until they stop for QUIET seconds:
        # so that a late reply under load is counted with the message it answers, not with the next.
        complete = got and (burst is None or different(got) >= burst)
        if complete and now - got[-1].at >= QUIET:
            return
        limit = LOST_AFTER - (now - step.sent)
        if complete:
            limit = QUIET - (now - got[-1].at)
        await replies.wait(step.chat, max(0.01, limit))


async def learn_scripts(stand_in: StandIn, replies: Replies, first_chat: int) -> list[list[int]]:
    """How many replies each message of each script gets on a quiet system (one user per script, at once)."""

    async def one(chat: int, script: Sequence[str]) -> list[int]:
        counts: list[int] = []
        for message in script:
            step = Step(chat, message, expected=0)
            await send_and_wait(stand_in, replies, step, burst=None)
            got = replies.since(chat, step.sent)
            if not got:
                raise SetupError(f"no reply while learning the scripts (to message {len(counts) + 1} of a script)")
            if step.acute and CRISIS_MARK not in str(got[0].params.get("text")):
                raise SetupError("an acute message's first reply is not the crisis lines while learning the scripts")
            counts.append(different(got))  # as the users will count them
        return counts

    return list(await asyncio.gather(*(one(first_chat + n, script) for n, script in enumerate(SCRIPTS))))


@dataclass
class Load:
    steps: list[list[Step]]
    started: float = 0.0
    killed_at: float | None = None

    @property
    def total(self) -> int:
        return sum(len(conversation) for conversation in self.steps)


async def run_users(stand_in: StandIn, replies: Replies, counts: list[list[int]], first_chat: int, kill: Any) -> Load:
    """200 users at once, each writing its script and waiting for the replies; `kill()` when half is sent."""
    chooser = random.Random(11)
    load = Load(
        [
            [
                Step(first_chat + n, text, expected)
                for text, expected in zip(SCRIPTS[n % len(SCRIPTS)], counts[n % len(SCRIPTS)], strict=True)
            ]
            for n in range(USERS)
        ]
    )
    half = load.total // 2
    sent = 0

    async def conversation(steps: list[Step]) -> None:
        nonlocal sent
        await asyncio.sleep(chooser.uniform(0, 1.0))
        for step in steps:
            sent += 1
            if sent == half:
                load.killed_at = time.monotonic()
                kill()
            await send_and_wait(stand_in, replies, step, burst=step.expected)
            if different(replies.since(step.chat, step.sent)) < step.expected:
                return  # waited LOST_AFTER in vain: the rest would not be judged, and would only make the run longer
            await asyncio.sleep(chooser.uniform(0, 0.3))

    load.started = time.monotonic()
    await asyncio.gather(*(conversation(steps) for steps in load.steps))
    return load


async def settle(stand_in: StandIn, replies: Replies) -> None:
    """Until nothing is pending and no reply came for SETTLE seconds (at most LOST_AFTER)."""
    deadline = time.monotonic() + LOST_AFTER
    while time.monotonic() < deadline:
        replies.collect()
        if stand_in.pending_updates == 0 and time.monotonic() - replies.last >= SETTLE:
            return
        await asyncio.sleep(0.1)


# -- the figures ----------------------------------------------------------------------------------------------


@dataclass
class Figures:
    sent: int = 0
    answered: int = 0
    lost: int = 0
    short: int = 0
    doubled: int = 0
    """Messages handled twice: a reply sent again word for word, not explained by the kill."""
    doubled_examples: list[Step] = field(default_factory=list)
    resent: int = 0
    """Messages with a reply sent again by the replica that took over from the killed one (the send-to-count
    window)."""
    resent_examples: list[Step] = field(default_factory=list)
    more: int = 0
    unjudged: int = 0
    crisis: list[float] = field(default_factory=list)
    acute_sent: int = 0
    seconds: float = 0.0
    replies: int = 0
    first_replies: list[float] = field(default_factory=list)

    def peak(self, window: float = 10.0) -> float:
        """Messages answered (first reply) a second in the busiest `window` seconds."""
        ordered = sorted(self.first_replies)
        best, start = 0, 0
        for end, moment in enumerate(ordered):
            while moment - ordered[start] > window:
                start += 1
            best = max(best, end - start + 1)
        return best / window


def attribute(load: Load, replies: Replies) -> None:
    """Each reply belongs to the latest message its user sent before it."""
    for conversation in load.steps:
        steps = [step for step in conversation if step.sent]
        calls = replies.by_chat.get(conversation[0].chat, [])
        for step, following in zip(steps, [*steps[1:], None], strict=True):
            end = following.sent if following is not None else float("inf")
            step.replies = [call for call in calls if step.sent <= call.at < end]


def repeated(replies: list[Call]) -> bool:
    """A message answered twice: one of its replies sent again, word for word (a second handling of the update, or
    a message re-sent after a takeover). More replies than on a quiet system, each different, is not that: under
    load the NLU service may time out and the bot answers from the safety net and the menu instead."""
    texts = [str(call.params.get("text")) for call in replies]
    return len(set(texts)) < len(texts)


def resent_after_takeover(
    replies: list[Call], killed_at: float | None, said_before: frozenset[str] = frozenset(), acute: bool = False
) -> bool:
    """Every repeated reply is one the killed replica could have sent and not counted, sent again once its lease
    could have run out: its first copy came before the kill, or the chat got the same text before the kill in
    answer to an earlier message (the taken-over update's last reply, coming only now, after the user wrote on, so
    counted with this message: while no role is chosen every answer ends with the same reminder)."""
    if killed_at is None:
        return False
    first: dict[str, float] = {}
    for call in replies:
        text = str(call.params.get("text"))
        if text not in first:
            first[text] = call.at
            continue
        takeover = call.at >= killed_at + (URGENT_TAKEOVER_AFTER if acute else TAKEOVER_AFTER)
        if not (takeover and (first[text] < killed_at or text in said_before)):
            return False
    return True


def figures(load: Load, stand_in: StandIn) -> Figures:
    first_delivery: dict[int, float] = {}
    for delivery in stand_in.deliveries:
        first_delivery[delivery.update_id] = min(delivery.started, first_delivery.get(delivery.update_id, 1e18))
    result = Figures()
    last_reply = load.started
    killed_at = load.killed_at if load.killed_at is not None else float("inf")
    for conversation in load.steps:
        disturbed = False
        said_before: frozenset[str] = frozenset()  # what the chat got before the kill, to its earlier messages
        for step in (step for step in conversation if step.sent):
            result.sent += 1
            result.replies += len(step.replies)
            if step.replies:
                result.answered += 1
                result.first_replies.append(step.replies[0].at)
                last_reply = max(last_reply, step.replies[-1].at)
            else:
                result.lost += 1
            twice = repeated(step.replies)
            resent = twice and resent_after_takeover(step.replies, load.killed_at, said_before, step.acute)
            if disturbed:
                result.unjudged += 1
            elif resent:
                result.resent += 1
                result.resent_examples.append(step)
            elif twice:
                result.doubled += 1
                result.doubled_examples.append(step)
            elif len(step.replies) > step.expected:
                result.more += 1
            elif 0 < len(step.replies) < step.expected:
                result.short += 1
            # A reply sent again after the takeover is not another course of the conversation: what follows is
            # judged when the burst is otherwise whole.
            whole = different(step.replies) if resent else len(step.replies)
            disturbed = disturbed or whole != step.expected
            said_before |= {str(call.params.get("text")) for call in step.replies if call.at < killed_at}
            if step.acute:
                result.acute_sent += 1
                crisis = next((c for c in step.replies if CRISIS_MARK in str(c.params.get("text"))), None)
                if crisis is not None and step.update_id in first_delivery:
                    result.crisis.append(crisis.at - first_delivery[step.update_id])
    result.seconds = max(last_reply - load.started, 1e-3)
    return result


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def print_figures(result: Figures, load: Load, stand_in: StandIn, bots: int) -> None:
    failed = [d for d in stand_in.deliveries if not d.accepted]
    killed = (
        "" if load.killed_at is None else f", one of {bots} bots SIGKILLed after {load.killed_at - load.started:.1f} s"
    )
    print(f"Scale test: {USERS} users, {bots} webhook replicas behind nginx, 2 Rasa behind nginx, PostgreSQL{killed}")
    print(f"  messages sent            {result.sent}")
    print(f"  answered                 {result.answered}")
    print(f"  lost (no reply in {LOST_AFTER:.0f} s)  {result.lost}")
    print(f"  answered twice           {result.doubled}   (at most {DOUBLED_AT_MOST:.1%} of the messages)")
    print(
        f"  sent again after takeover {result.resent}   (sent by the killed replica before it could count them;"
        f" at most {RESENT_AT_MOST:.0%} of the messages)"
    )
    print(f"  more replies than alone  {result.more}   (each different: another reading under load, not a repeat)")
    print(
        f"  fewer replies than alone {result.short}"
        f"   (not judged after a loss in the same conversation: {result.unjudged})"
    )
    if result.crisis:
        p50, p99 = statistics.median(result.crisis), percentile(result.crisis, 0.99)
        got = f"{len(result.crisis)} of {result.acute_sent}"
        print(f"  crisis reply             p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms ({got} acute messages)")
    print(
        f"  throughput               {result.sent / result.seconds:.1f} messages/s,"
        f" {result.replies / result.seconds:.1f} replies/s ({result.seconds:.1f} s, first message to last reply);"
        f" busiest 10 s: {result.peak():.1f} messages/s"
    )
    print(f"  webhook POSTs            {len(stand_in.deliveries)}, not accepted {len(failed)} (retried)")
    killed_at = load.killed_at if load.killed_at is not None else load.started
    for label, steps in (("answered twice", result.doubled_examples), ("sent again", result.resent_examples)):
        for step in steps[:5]:  # the scripts' own texts, no user's
            said = [
                f"{str(call.params.get('text'))[:40]!r} {call.at - killed_at:+.1f} s".replace("\n", " ")
                for call in step.replies
            ]
            print(f"  {label}: {step.text[:40]!r} (expected {step.expected}) -> {', '.join(said)} (from the kill)")


# -- the run --------------------------------------------------------------------------------------------------


def bot_env(
    index: int, port: int, ports: Ports, stand_in: StandIn, folder: Path, secrets_: dict[str, str], url: str
) -> dict[str, str]:
    data = folder / f"bot{index}"
    data.mkdir(exist_ok=True)
    return {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": stand_in.base_url,
        "DATABASE_URL": url,
        "RASA_URL": f"http://127.0.0.1:{ports.nlu_proxy}",
        "NLU_TIMEOUT": "5",
        "PSEUDONYM_SECRET": secrets_["pseudonym"],
        "WEBHOOK_SECRET": secrets_["webhook"],
        "WEBHOOK_LISTEN": f"127.0.0.1:{port}",
        "WEBHOOK_PATH": WEBHOOK_PATH,
        "WEBHOOK_URL": f"http://127.0.0.1:{ports.proxy}{WEBHOOK_PATH}",
        "DATA_DIR": str(data),
        "HANDOFF_CHAT_ID": "",
        "LOG_LEVEL": "WARNING",
    }


async def start_all(
    fleet: Fleet, ports: Ports, stand_in: StandIn, url: str, rasa: str, secrets_: dict[str, str]
) -> list[Child]:
    """Database, 2 Rasa, nginx, 3 bots; returns the bots once every one is ready (/readyz) behind nginx."""
    model = ROOT / "models" / "nlu.tar.gz"
    if not model.exists():
        raise SetupError("no NLU model: run make train")
    rasa_children = [
        fleet.start(f"rasa{n}", [rasa, "run", "--enable-api", "-m", str(model), "-i", "127.0.0.1", "-p", str(port)])
        for n, port in enumerate(ports.rasa)
    ]
    await recreate_database(url)
    env = {**os.environ, "DATABASE_URL": url}
    migrated = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "migrate", env=env, cwd=ROOT, stdout=subprocess.DEVNULL
    )
    if await migrated.wait() != 0:
        raise SetupError("python -m bot migrate failed")
    bots = [
        fleet.start(
            f"bot{n}",
            [sys.executable, "-m", "bot", "webhook"],
            bot_env(n, port, ports, stand_in, fleet.folder, secrets_, url),
        )
        for n, port in enumerate(ports.bots)
    ]
    await asyncio.gather(
        *(
            wait_until_ready(child, f"http://127.0.0.1:{port}/model/parse", "intent", "POST")
            for child, port in zip(rasa_children, ports.rasa, strict=True)
        )
    )
    # Only now: nginx would mark a Rasa that still loads as down for 10 s (fail_timeout).
    folder = fleet.folder / "nginx"
    folder.mkdir()
    (folder / "nginx.conf").write_text(nginx_config(folder, ports))
    nginx = fleet.start(
        "nginx", [nginx_binary(), "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", str(folder / "error.log")]
    )
    await wait_until_ready(nginx, f"http://127.0.0.1:{ports.nlu_proxy}/", "Rasa")
    await asyncio.gather(
        *(
            wait_until_ready(child, f"http://127.0.0.1:{port}/readyz", "true")
            for child, port in zip(bots, ports.bots, strict=True)
        )
    )
    return bots


async def wrong_secret_refused(ports: Ports, chat: int) -> int:
    """POST an acute message through nginx with a wrong secret token; the status it got."""
    update = {**text_update("ik wil niet meer leven", user(chat)), "update_id": 10**9}
    async with httpx.AsyncClient(timeout=10.0) as client:
        response = await client.post(
            f"http://127.0.0.1:{ports.proxy}{WEBHOOK_PATH}", json=update, headers={SECRET_HEADER: "wrong-secret"}
        )
    return response.status_code


async def webhook_info(stand_in: StandIn) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        info: dict[str, Any] = (await client.post(f"{stand_in.base_url}/bot{TOKEN}/getWebhookInfo")).json()["result"]
    return info


async def scale_test(fleet: Fleet, ports: Ports, stand_in: StandIn, rasa: str, kill_one: bool = True) -> int:
    url = database_url()
    started = time.monotonic()
    secrets_ = {"pseudonym": secrets.token_urlsafe(32), "webhook": secrets.token_urlsafe(24)}
    bots = await start_all(fleet, ports, stand_in, url, rasa, secrets_)
    info = await webhook_info(stand_in)
    print(f"Started in {time.monotonic() - started:.1f} s; the stand-in delivers to {info['url']}")
    replies = Replies(stand_in)
    collector = asyncio.create_task(replies.run())
    try:
        refused = await wrong_secret_refused(ports, INTRUDER_CHAT)
        learning = time.monotonic()
        counts = await learn_scripts(stand_in, replies, LEARNING_CHATS)
        print(f"Replies per message on a quiet system, per script ({time.monotonic() - learning:.1f} s): {counts}")
        victim = bots[len(bots) // 2]
        kill = (lambda: fleet.kill(victim)) if kill_one else (lambda: None)
        load = await run_users(stand_in, replies, counts, LOAD_CHATS, kill)
        await settle(stand_in, replies)
        replies.collect()
    finally:
        collector.cancel()
    attribute(load, replies)
    result = figures(load, stand_in)
    print_figures(result, load, stand_in, len(bots))
    pending = (await webhook_info(stand_in))["pending_update_count"]
    intruder_answered = len(replies.by_chat.get(INTRUDER_CHAT, []))
    print(f"  wrong secret token       HTTP {refused} through nginx, replies to it: {intruder_answered}")
    # Every replica must turn a Telegram user into the same key: a key no user has under the shared secret would
    # be a replica with another PSEUDONYM_SECRET (that user's conversation split in two).
    pseudonyms = Pseudonymiser(secrets_["pseudonym"].encode())
    wrote = {step.chat for conversation in load.steps for step in conversation if step.sent}
    known = {
        pseudonyms.key(CHANNEL, chat) for chat in wrote | set(range(LEARNING_CHATS, LEARNING_CHATS + len(SCRIPTS)))
    }
    keys = await stored_keys(url)
    strangers = len(keys - known)
    print(f"  conversations stored     {len(keys)}, under another pseudonym secret: {strangers}")
    print(f"  updates still pending    {pending}")
    print(f"Total {time.monotonic() - started:.1f} s")
    problems = []
    if result.lost or result.doubled > DOUBLED_AT_MOST * result.sent or result.resent > RESENT_AT_MOST * result.sent:
        problems.append(f"{result.lost} lost, {result.doubled} answered twice, {result.resent} sent again")
    if refused not in (401, 403) or intruder_answered:
        problems.append("a request with a wrong secret token was not refused")
    if strangers:
        problems.append("users were split over several pseudonyms")
    if problems:
        print("FAILED: " + "; ".join(problems))
        return 1
    twice = (
        "nothing answered twice" if not result.doubled else f"{result.doubled} answered twice (within the allowance)"
    )
    print(f"OK: nothing lost, {twice} ({result.resent} sent again after the takeover)")
    return 0


def parse_ports(raw: str) -> tuple[int, ...]:
    return tuple(int(part) for part in raw.split(","))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rasa", default=str(ROOT / ".venv-nlu" / "bin" / "rasa"), help="the rasa executable")
    parser.add_argument("--rasa-ports", type=parse_ports, default=(5013, 5014))
    parser.add_argument("--bot-ports", type=parse_ports, default=(8181, 8182, 8183))
    parser.add_argument("--proxy-port", type=int, default=8180, help="nginx: the webhook")
    parser.add_argument("--nlu-proxy-port", type=int, default=8190, help="nginx: the NLU service for the bots")
    parser.add_argument("--no-kill", action="store_true", help="kill no bot (to see what load alone does)")
    parser.add_argument("--keep", action="store_true", help="keep the folder with the logs and nginx's config")
    args = parser.parse_args(argv)
    ports = Ports(args.rasa_ports, args.bot_ports, args.proxy_port, args.nlu_proxy_port)
    folder = Path(tempfile.mkdtemp(prefix="scale-test-"))
    folder.chmod(0o755)  # nginx's worker (nobody, when started as root) must reach its temporary folders
    fleet = Fleet(folder)
    stand_in = StandIn()

    def stop_on_signal(number: int, _: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {number}")

    signal.signal(signal.SIGTERM, stop_on_signal)
    try:
        check_ports_free(ports.all())
        stand_in.start()
        return asyncio.run(scale_test(fleet, ports, stand_in, args.rasa, not args.no_kill))
    except SetupError as error:
        print(f"Scale test could not run: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("Scale test interrupted", file=sys.stderr)
        return 130
    finally:
        fleet.stop_all()
        stand_in.stop()
        if args.keep:
            print(f"Logs kept in {folder}", file=sys.stderr)
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
