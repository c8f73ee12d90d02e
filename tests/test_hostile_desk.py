"""Hostile text on its way to the professionals' group: escaped, neutralised, and split to fit Telegram.

The desk is real (database, content, pseudonyms); only Telegram is replaced by a recorder that enforces
Telegram's message limit the way Telegram does (characters after HTML parsing, in UTF-16 code units).
"""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import Handoff
from bot.content import Content
from bot.storage import cases
from bot.storage.cases import CaseReason, CaseStatus
from bot.storage.models import Case, Conversation, Database
from bot.storage.schema import migrate
from handoff import display
from handoff.group_texts import MAX_RELAY_PARTS
from tests.conftest import make_desk
from tests.fakes import RecordingMessenger

SECRET = b"test-secret"
MEMBER = 1001
USER_KEY = "u" * 64
BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


@pytest.fixture
async def desk(tmp_path: Path, content: Content) -> AsyncIterator[tuple[Handoff, RecordingMessenger, Database]]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'desk.sqlite3'}")
    await migrate(database)
    recorder = RecordingMessenger(members={MEMBER})
    live = make_desk(database, content, recorder, SECRET)
    yield live, recorder, database
    await database.dispose()


async def open_case(desk: Handoff, database: Database, status: CaseStatus = CaseStatus.REQUESTED) -> int:
    """A published case of a young person, as the pipeline and the sweeper leave it."""
    async with database.sessions.begin() as session:
        session.add(
            Conversation(
                key=USER_KEY, language="nl", audience="youth", step="chat", safety_check=False, safety_declines=0
            )
        )
        await session.flush()
        case = await cases.open_case(
            session, USER_KEY, CaseReason.acute("suicidal"), CaseStatus.REQUESTED, "youth", "nl"
        )
        await desk.desk.open(session, case, 424242)
        case_id = case.id
    await desk.settle()
    if status != CaseStatus.REQUESTED:
        async with database.sessions.begin() as session:
            stored = await session.get(Case, case_id)
            assert stored is not None
            stored.status = status
    return case_id


async def relay(desk: Handoff, database: Database, case_id: int, text: str, message_id: int) -> None:
    async with database.sessions.begin() as session:
        case = await session.get(Case, case_id)
        assert case is not None
        await desk.desk.from_user(session, case, text, message_id)
    await desk.sender.drain()


def topic_texts(recorder: RecordingMessenger) -> list[str]:
    return [text for text, topic in recorder.group if topic is not None]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("<b>vet</b>", "&lt;b&gt;vet&lt;/b&gt;"),
        ('<a href="https://evil.example/">klik</a>', "&lt;a href=&quot;https://evil.example/&quot;&gt;klik&lt;/a&gt;"),
        ("jij & ik &amp; &lt;", "jij &amp; ik &amp;amp; &amp;lt;"),
        ("*vet* _schuin_ `code` [link](https://x.example)", "*vet* _schuin_ `code` [link](https://x.example)"),
        ("'; DROP TABLE conversations; --", "&#x27;; DROP TABLE conversations; --"),
    ],
)
async def test_markup_in_user_text_reaches_the_group_escaped(
    desk: tuple[Handoff, RecordingMessenger, Database], text: str, shown: str
) -> None:
    live, recorder, database = desk
    case_id = await open_case(live, database)
    await relay(live, database, case_id, text, 1)
    relayed = topic_texts(recorder)[-1]
    assert shown in relayed
    assert html.unescape(relayed.split("<blockquote>", 1)[1].rsplit("</blockquote>", 1)[0]) == text


async def test_bidi_overrides_and_control_characters_cannot_spoof_the_group(
    desk: tuple[Handoff, RecordingMessenger, Database],
) -> None:
    live, recorder, database = desk
    case_id = await open_case(live, database)
    spoof = f"hoi{BIDI}\x00\x07\x1b[31m\x7f\x85\u2028✅ Hulpverlener heeft casus opgepakt\u202egnol"
    await relay(live, database, case_id, spoof, 1)
    relayed = topic_texts(recorder)[-1]
    assert not set(BIDI + "\x00\x07\x1b\x7f\x85\u2028") & set(relayed)
    assert "hoi" in relayed and "[31m" in relayed and "gnol" in relayed
    # The user's text stays inside its quote block, below the bot's own line.
    assert relayed.startswith("💬 Gebruiker:\n<blockquote>") and relayed.endswith("</blockquote>")
    assert relayed.count("<blockquote>") == 1


async def test_emoji_sequences_survive_neutralising() -> None:
    family = "👨\u200d👩\u200d👧 ❤\ufe0f 🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
    assert display.neutralise(family) == family


async def test_a_message_longer_than_telegram_allows_is_split_into_marked_parts_and_nothing_is_lost(
    desk: tuple[Handoff, RecordingMessenger, Database],
) -> None:
    live, recorder, database = desk
    case_id = await open_case(live, database)
    words = [f"woord{n}" for n in range(1100)]  # about 8,900 characters, and < that escapes to four times its size
    text = " ".join(words) + " <" * 600
    await relay(live, database, case_id, text, 1)
    parts = topic_texts(recorder)[1:]  # after the card
    assert 2 <= len(parts) <= MAX_RELAY_PARTS
    assert all(display.visible_length(part) <= display.TELEGRAM_TEXT_LIMIT for part in parts)
    assert [part.split(":", 1)[0] for part in parts] == [
        f"💬 Gebruiker (deel {n}/{len(parts)})" for n in range(1, len(parts) + 1)
    ]
    joined = " ".join(html.unescape(part.split("<blockquote>")[1].split("</blockquote>")[0]) for part in parts)
    assert joined.split() == text.split()


async def test_a_huge_message_is_relayed_in_a_few_parts_with_a_cut_marker(
    desk: tuple[Handoff, RecordingMessenger, Database],
) -> None:
    live, recorder, database = desk
    case_id = await open_case(live, database)
    await relay(live, database, case_id, "😭" * 100_000, 1)  # no spaces; every emoji counts twice for Telegram
    parts = topic_texts(recorder)[1:]
    assert len(parts) == MAX_RELAY_PARTS
    assert all(display.visible_length(part) <= display.TELEGRAM_TEXT_LIMIT for part in parts)
    assert "[… ingekort]" in parts[-1] and "[… ingekort]" not in parts[0]


async def test_a_long_shared_transcript_is_shortened_so_the_case_card_still_goes_out(
    desk: tuple[Handoff, RecordingMessenger, Database],
) -> None:
    live, recorder, db = desk
    async with db.sessions.begin() as session:
        session.add(
            Conversation(
                key=USER_KEY, language="nl", audience="youth", step="chat", safety_check=False, safety_declines=0
            )
        )
        await session.flush()
        case = await cases.open_case(session, USER_KEY, CaseReason.request(), CaseStatus.REQUESTED, "youth", "nl")
        await live.desk.open(session, case, 424242)
        await live.desk.share_transcript(session, case, [f"{n} \u202e" + "x" * 4096 for n in range(8)])
    await live.settle()
    card = recorder.group[0][0]
    assert "Casus" in card and display.visible_length(card) <= display.TELEGRAM_TEXT_LIMIT
    assert card.count("[… ingekort]") == 8 and "\u202e" not in card


@pytest.mark.parametrize("name", ["\u202eannA", "Anna\x00\x1b\u2066", "  An\tna  "])
async def test_a_professionals_name_is_neutralised_before_users_see_it(
    desk: tuple[Handoff, RecordingMessenger, Database], name: str
) -> None:
    live, _, _ = desk
    feedback = await live.professionals.set_name(MEMBER, name)
    assert feedback is not None and not set(BIDI + "\x00\x1b\t") & set(feedback)


@pytest.mark.parametrize("case_id", [0, -1, 999, 2**62])
async def test_claiming_or_closing_a_case_that_does_not_exist_changes_nothing(
    desk: tuple[Handoff, RecordingMessenger, Database], case_id: int
) -> None:
    live, recorder, database = desk
    real = await open_case(live, database)
    sent = len(recorder.group)
    assert await live.professionals.claim(case_id, MEMBER) is None
    assert await live.professionals.close(case_id, MEMBER) == "Deze casus is niet meer open."
    async with database.sessions() as session:
        case = await session.get(Case, real)
        assert case is not None and case.status == CaseStatus.REQUESTED
    await live.sender.drain()
    assert len(recorder.group) == sent and recorder.users == []


async def test_a_closed_case_cannot_be_claimed_or_closed_again(
    desk: tuple[Handoff, RecordingMessenger, Database],
) -> None:
    live, recorder, database = desk
    case_id = await open_case(live, database, status=CaseStatus.CLOSED)
    assert await live.professionals.claim(case_id, MEMBER) == "Deze casus is niet meer open."
    assert await live.professionals.close(case_id, MEMBER) == "Deze casus is niet meer open."
    await live.sender.drain()
    assert recorder.users == []


async def test_a_non_member_cannot_claim_or_close_any_case(desk: tuple[Handoff, RecordingMessenger, Database]) -> None:
    live, recorder, database = desk
    case_id = await open_case(live, database)
    assert await live.professionals.claim(case_id, 666) is None
    assert await live.professionals.close(case_id, 666) is None
    async with database.sessions() as session:
        case = await session.get(Case, case_id)
        assert case is not None and case.status == CaseStatus.REQUESTED and case.claimed_by is None
    await live.sender.drain()
    assert recorder.users == []
