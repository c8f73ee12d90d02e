"""A property of the whole pipeline, tried on 1,000 random messages: whatever a user types, the bot answers
sensibly and never echoes what it cannot show.

The pipeline, the safety net and a SQLite database are real; the NLU answers are made up from the text (any
intent, any confidence), so every path the model could open is walked. A few users carry state from one message to
the next (offers, safety checks, asking for a person), so messages also land in the middle of conversations.
"""

from __future__ import annotations

import asyncio
import unicodedata
import zlib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.content import Content
from bot.conversation.flood import FloodGuard
from bot.conversation.pipeline import Pipeline
from bot.replies import Reply, Sender
from bot.storage import cases
from bot.storage.cases import CaseStatus
from bot.storage.models import Case, Database
from bot.storage.schema import migrate
from bot.understanding.understander import Understander
from handoff.desk import OfflineDesk
from safety.risk import SafetyNet
from tests.conftest import scripted_nlu

INTENTS = (
    "visit",
    "contact",
    "explain_to_child",
    "stigma",
    "feelings",
    "feelings_overwhelmed",
    "peer_support",
    "practical",
    "for_professionals",
    "talk_to_human",
    "crisis_suicidal",
    "crisis_violence",
    "privacy",
    "greet",
    "goodbye",
    "thanks",
    "out_of_scope",
    "an_intent_nobody_trained",
)
PHRASES = (
    "ik wil niet meer leven",
    "ik slaap al weken niet",
    "ja",
    "nee",
    "het gaat",
    "bezoek",
    "kan ik iemand spreken",
)
# Characters a reply must never contain: C0/C1 controls (but the line break) and bidirectional controls.
BIDI = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
CALLBACK_DATA_LIMIT = 64  # bytes, Telegram's limit on a button's callback data


def made_up_nlu(text: str) -> list[tuple[str, float]]:
    """Any intent at any confidence, but the same for the same text."""
    digest = zlib.crc32(text.encode("utf-8", "surrogatepass"))
    first = INTENTS[digest % len(INTENTS)]
    second = INTENTS[(digest // 7) % len(INTENTS)]
    confidence = (digest % 1000) / 1000
    return [(first, confidence), (second, confidence / 2)]


def long_texts() -> st.SearchStrategy[str]:
    return st.builds(
        lambda piece, times: (piece * times)[:100_000], st.text(min_size=1, max_size=12), st.integers(300, 20_000)
    )


MESSAGES = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "Mn"]), max_size=50),
    st.lists(
        st.sampled_from(["😭", "🙂", "👨\u200d👩\u200d👧", "❤\ufe0f", "🏳️\u200d🌈", "\u202e", " "]), max_size=40
    ).map("".join),
    st.builds(lambda a, p, b: f"{a} {p} {b}", st.text(max_size=30), st.sampled_from(PHRASES), st.text(max_size=30)),
    st.builds(lambda name, rest: f"/{name} {rest}", st.text(max_size=40), st.text(max_size=40)),
    st.sampled_from(["", " ", "\n", "/", "/start", "/hulp", "/stop", "'; DROP TABLE conversations; --", "<b>&amp;"]),
    long_texts(),
)


def check_reply(reply: Reply) -> None:
    assert reply.text.strip(), "a reply without text"
    shown = reply.text + "".join(button.label for button in reply.buttons)
    assert not BIDI & set(shown), "a reply with a bidirectional control"
    assert all(ch == "\n" or unicodedata.category(ch) != "Cc" for ch in shown), "a reply with a control character"
    for button in reply.buttons:
        assert button.label.strip() and button.action
        assert len(button.action.encode()) <= CALLBACK_DATA_LIMIT


class World:
    """One pipeline on one database for all examples, driven from a private event loop."""

    def __init__(self, folder: Path, safety_net: SafetyNet, content: Content) -> None:
        self.loop = asyncio.new_event_loop()
        self.database = Database(f"sqlite+aiosqlite:///{folder / 'property.sqlite3'}")
        self.loop.run_until_complete(migrate(self.database))
        understander = Understander(safety_net, scripted_nlu(made_up_nlu), 0.45, 0.5)
        no_brake = FloodGuard(10**9, 1.0)  # floods have their own tests; here every message must be answered
        self.pipeline = Pipeline(understander, content, self.database, OfflineDesk(), flood=no_brake)

    async def in_handoff(self, sender: Sender) -> bool:
        async with self.database.sessions() as session:
            return await cases.latest(session, sender.key, cases.LIVE) is not None

    async def say(self, sender: Sender, text: str) -> tuple[bool, list[Reply]]:
        live = await self.in_handoff(sender)
        if text.startswith("/"):
            name, _, argument = text[1:].partition(" ")
            return live, await self.pipeline.command(sender, name, argument)
        return live, await self.pipeline.text(sender, text)

    async def professional_leaves(self, sender: Sender) -> None:
        """Close the user's open case, as a professional would, so the next message is the bot's again."""
        async with self.database.sessions.begin() as session:
            for case in (await session.scalars(select(Case).where(Case.user_key == sender.key))).all():
                case.status = CaseStatus.CLOSED

    def close(self) -> None:
        self.loop.run_until_complete(self.database.dispose())
        self.loop.close()


def test_every_message_gets_a_sensible_reply(tmp_path: Path, safety_net: SafetyNet, content: Content) -> None:
    world = World(tmp_path, safety_net, content)
    users = [Sender(f"{n}" * 64, language) for n, language in enumerate(("nl", "en", None, "ar"))]
    seen = {"answered": 0, "in_handoff": 0}

    @settings(
        max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
    )
    @given(user=st.sampled_from(users), text=MESSAGES, stay=st.booleans())
    def one_message(user: Sender, text: str, stay: bool) -> None:
        if not stay:  # half the time a handoff a user is in ends first, so both states keep being tried
            world.loop.run_until_complete(world.professional_leaves(user))
        live, replies = world.loop.run_until_complete(world.say(user, text))
        for reply in replies:
            check_reply(reply)
        if live:
            seen["in_handoff"] += 1  # a professional has been asked: the bot may stay quiet
        else:
            assert replies, f"no reply to {text[:80]!r}"
            seen["answered"] += 1

    try:
        one_message()
        assert seen["answered"] >= 400  # the property was tried on conversations with the bot, not only on handoffs
    finally:
        world.close()
