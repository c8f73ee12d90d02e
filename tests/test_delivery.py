"""A journaled update's messages are counted as they go out, and a replica that takes the update over sends only
those its dead owner had not: the real send path (`send_replies`) over the Bot API stand-in."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import pytest
from telegram import Update
from telegram.ext import Application, CallbackContext

from bot.channels.telegram.context import emitter, send_replies
from bot.channels.telegram.delivery import Delivery, current, delivering
from bot.channels.telegram.rate_limit import PriorityRateLimiter
from bot.replies import Reply
from handoff.display import TELEGRAM_TEXT_LIMIT
from standin.bot_api import StandIn, text_update

CRISIS = Reply("Bel 113 of 0800-0113 als het niet veilig is.", urgent=True)
ANSWER = Reply("Je kunt een bezoek aanvragen bij de inrichting.")
LONG = Reply(("Een lang antwoord. " * 300).strip())  # more than one Telegram message: sent in pieces


class Journal:
    """What an update's delivery stores, as the journal would keep it (never going back)."""

    def __init__(self) -> None:
        self.sent = 0
        self.replied = False
        self.writes: list[int] = []

    async def count_sent(self, sent: int, replied: bool) -> None:
        self.writes.append(sent)
        self.sent = max(self.sent, sent)
        self.replied = self.replied or replied


@pytest.fixture
async def telegram(stand_in: StandIn) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    builder = Application.builder().token("123456:TEST").base_url(f"{stand_in.base_url}/bot").updater(None)
    app = builder.rate_limiter(PriorityRateLimiter()).build()  # as in the bot: crisis lines in the fast lane
    await app.initialize()
    yield app
    await app.shutdown()


def sent_texts(stand_in: StandIn) -> list[str]:
    return [str(call.params["text"]) for call in stand_in.calls_to("sendMessage")]


async def handle(app: Application, delivery: Delivery | None, *replies: Reply) -> None:  # type: ignore[type-arg]
    """As a handler does: the crisis lines through `emit` at once, then the rest of the replies."""
    update = Update.de_json({**text_update("ik wil niet meer leven"), "update_id": 1}, app.bot)
    context = CallbackContext.from_update(update, app)
    first, *rest = replies
    if delivery is None:
        await emitter(update, context)(first)
        await send_replies(update, context, rest)
        return
    with delivering(delivery):
        await emitter(update, context)(first)
        await send_replies(update, context, rest)
    await delivery.settle()


async def test_every_message_of_a_journaled_update_is_sent_and_counted(
    telegram: Application,  # type: ignore[type-arg]
    stand_in: StandIn,
) -> None:
    journal = Journal()
    await handle(telegram, Delivery(0, journal.count_sent), CRISIS, ANSWER)
    assert sent_texts(stand_in) == [CRISIS.text, ANSWER.text]
    assert journal.sent == 2 and journal.replied


async def test_an_update_is_not_answered_while_only_its_crisis_lines_are_out(
    telegram: Application,  # type: ignore[type-arg]
    stand_in: StandIn,
) -> None:
    journal = Journal()
    update = Update.de_json({**text_update("ik wil niet meer leven"), "update_id": 1}, telegram.bot)
    context = CallbackContext.from_update(update, telegram)
    delivery = Delivery(0, journal.count_sent)
    with delivering(delivery):
        await emitter(update, context)(CRISIS)  # the pipeline goes on to its unit of work from here
    await delivery.settle()
    assert sent_texts(stand_in) == [CRISIS.text]
    assert (journal.sent, journal.replied) == (1, False)  # a replica taking it over still sends the rest


async def test_a_taken_over_update_does_not_send_the_crisis_lines_again_but_does_send_the_answer(
    telegram: Application,  # type: ignore[type-arg]
    stand_in: StandIn,
) -> None:
    journal = Journal()
    journal.sent = 1  # the dead replica sent the crisis lines, then died
    delivery = Delivery(journal.sent, journal.count_sent)
    await handle(telegram, delivery, CRISIS, ANSWER)
    assert sent_texts(stand_in) == [ANSWER.text]
    assert journal.sent == 2 and delivery.passed_over == 1


async def test_a_message_sent_in_pieces_is_counted_and_passed_over_per_piece(
    telegram: Application,  # type: ignore[type-arg]
    stand_in: StandIn,
) -> None:
    journal = Journal()
    await handle(telegram, Delivery(0, journal.count_sent), CRISIS, LONG)
    pieces = sent_texts(stand_in)[1:]
    assert len(pieces) >= 2 and all(len(piece) <= TELEGRAM_TEXT_LIMIT for piece in pieces)
    assert journal.sent == 1 + len(pieces)
    stand_in.calls.clear()

    await handle(telegram, Delivery(2, journal.count_sent), CRISIS, LONG)  # died after the first piece
    assert sent_texts(stand_in) == pieces[1:]


async def test_an_update_whose_messages_were_all_sent_sends_nothing_again(
    telegram: Application,  # type: ignore[type-arg]
    stand_in: StandIn,
) -> None:
    journal = Journal()
    journal.sent = 2  # killed after its last send, before the update was marked done
    await handle(telegram, Delivery(journal.sent, journal.count_sent), CRISIS, ANSWER)
    assert sent_texts(stand_in) == []
    assert (journal.sent, journal.replied) == (2, True)


async def test_without_a_journal_everything_is_sent_as_before(
    telegram: Application,  # type: ignore[type-arg]
    stand_in: StandIn,
) -> None:
    await handle(telegram, None, CRISIS, ANSWER)  # polling mode
    assert sent_texts(stand_in) == [CRISIS.text, ANSWER.text]
    assert current() is None


async def test_a_count_that_fails_is_logged_and_the_replies_still_go_out(
    telegram: Application,  # type: ignore[type-arg]
    stand_in: StandIn,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(_sent: int, _replied: bool) -> None:
        raise ConnectionError("the database is gone")

    with caplog.at_level(logging.WARNING):
        await handle(telegram, Delivery(0, broken), CRISIS, ANSWER)
    assert sent_texts(stand_in) == [CRISIS.text, ANSWER.text]
    assert "could not be counted (ConnectionError)" in caplog.text


async def test_a_count_that_hangs_does_not_hold_up_the_next_reply(
    telegram: Application,  # type: ignore[type-arg]
    stand_in: StandIn,
) -> None:
    database_answers = asyncio.Event()
    written: list[int] = []

    async def stalled(sent: int, _replied: bool) -> None:
        await database_answers.wait()
        written.append(sent)

    update = Update.de_json({**text_update("ik wil niet meer leven"), "update_id": 1}, telegram.bot)
    context = CallbackContext.from_update(update, telegram)
    delivery = Delivery(0, stalled)
    with delivering(delivery):
        await emitter(update, context)(CRISIS)
        await send_replies(update, context, [ANSWER])
    assert sent_texts(stand_in) == [CRISIS.text, ANSWER.text]  # both out while the first count still waits
    assert written == []
    database_answers.set()
    await delivery.settle()
    assert written[-1] == 2  # the two sends taken along, the count caught up
