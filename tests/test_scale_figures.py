"""The scale test's verdicts (bench/scale.py): a message without a reply is lost, a reply sent again word for word
is answered twice (more replies, each different, is another reading under load), what follows a loss in the same
conversation is not judged; its nginx configuration is valid."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from bench import scale
from bench.scale import Load, Ports, Replies, Step, figures, nginx_config, send_and_wait
from standin.bot_api import Call, Delivery, StandIn


def reply(at: float, text: str = "antwoord") -> Call:
    return Call("sendMessage", {"chat_id": 1, "text": text}, at=at)


def step(sent: float, expected: int, replies: list[Call], text: str = "hoe regel ik een bezoek") -> Step:
    return Step(chat=1, text=text, expected=expected, sent=sent, update_id=int(sent), replies=replies)


def judged(*conversations: list[Step]) -> tuple[int, int, int, int, int]:
    result = figures(Load(list(conversations), started=0.0), StandIn())
    return result.answered, result.lost, result.doubled, result.short, result.unjudged


def test_the_expected_replies_count_as_answered_once() -> None:
    burst = [reply(1.1, "antwoord"), reply(1.2, "menu")]
    assert judged([step(1, 2, burst), step(2, 1, [reply(2.1)])]) == (2, 0, 0, 0, 0)


def test_a_reply_burst_that_comes_twice_is_answered_twice() -> None:
    twice = [reply(1.1, "antwoord"), reply(1.2, "menu"), reply(1.5, "antwoord"), reply(1.6, "menu")]
    assert judged([step(1, 2, twice)]) == (1, 0, 1, 0, 0)


def test_a_reply_sent_before_the_kill_and_again_after_the_takeover_is_counted_apart() -> None:
    # The killed replica sent "antwoord" 0.5 s before it died; the replica that took the update over, 19 s later.
    resent = [reply(99.5, "antwoord"), reply(119.0, "antwoord"), reply(119.1, "menu")]
    result = figures(Load([[step(99, 2, resent)]], started=0.0, killed_at=100.0), StandIn())
    assert (result.resent, result.doubled) == (1, 0)


def test_a_taken_over_last_reply_counted_with_the_next_message_is_sent_again() -> None:
    # The killed replica answered "hoi" with "antwoord" + "reminder" before it died, the reminder uncounted; the
    # replica that took over sent the reminder again 20 s later, after the user had written "dank je".
    before = step(95, 2, [reply(96.0, "antwoord"), reply(96.5, "reminder")])
    after = step(110, 2, [reply(119.0, "fijn"), reply(119.1, "reminder"), reply(120.0, "reminder")], text="dank je")
    result = figures(Load([[before, after]], started=0.0, killed_at=100.0), StandIn())
    assert (result.resent, result.doubled) == (1, 0)


def test_after_a_reply_sent_again_the_rest_of_its_burst_belongs_to_it_and_what_follows_is_judged() -> None:
    # The killed replica sent "antwoord" and died before counting it; the taking-over replica sent it again and then
    # the reminder: the user waited for the reminder before writing on, so "dank je" is judged on its own replies.
    taken_over = step(99, 2, [reply(99.5, "antwoord"), reply(119.0, "antwoord"), reply(123.0, "reminder")])
    after = step(127, 2, [reply(128.0, "fijn"), reply(128.1, "reminder")], text="dank je")
    result = figures(Load([[taken_over, after]], started=0.0, killed_at=100.0), StandIn())
    assert (result.resent, result.doubled, result.unjudged) == (1, 0, 0)


async def test_a_user_waits_for_the_reply_still_to_come_not_for_a_copy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scale, "QUIET", 0.3)
    stand_in = StandIn()
    replies = Replies(stand_in)
    message = Step(chat=7, text="hoe vertel ik het mijn kind", expected=2)

    async def bot() -> None:
        for text in ("antwoord", "antwoord", "reminder"):  # the answer, that answer sent again, the reminder
            await asyncio.sleep(0.5)
            replies.by_chat.setdefault(7, []).append(
                Call("sendMessage", {"chat_id": 7, "text": text}, at=time.monotonic())
            )
            replies.event(7).set()

    answering = asyncio.create_task(bot())
    await send_and_wait(stand_in, replies, message, burst=2)
    wrote_on = time.monotonic()
    await answering
    got = replies.since(7, message.sent)
    assert [str(call.params["text"]) for call in got] == ["antwoord", "antwoord", "reminder"]
    assert wrote_on >= got[-1].at + 0.3  # QUIET seconds after the reminder, not after the copy


def test_a_reply_repeated_after_the_kill_that_the_chat_never_got_before_it_is_answered_twice() -> None:
    before = step(95, 1, [reply(96.0, "antwoord")])
    after = step(110, 2, [reply(119.0, "fijn"), reply(119.1, "reminder"), reply(120.0, "reminder")], text="dank je")
    result = figures(Load([[before, after]], started=0.0, killed_at=100.0), StandIn())
    assert (result.resent, result.doubled) == (0, 1)


def test_a_repeat_too_soon_after_the_kill_for_a_takeover_is_answered_twice() -> None:
    soon = [reply(99.5, "antwoord"), reply(101.0, "antwoord")]
    result = figures(Load([[step(99, 1, soon)]], started=0.0, killed_at=100.0), StandIn())
    assert (result.resent, result.doubled) == (0, 1)


@pytest.mark.parametrize(("text", "resent"), [(sorted(scale.ACUTE)[0], True), ("hoe regel ik een bezoek", False)])
def test_only_an_acute_message_can_be_taken_over_five_seconds_after_the_kill(text: str, resent: bool) -> None:
    # An acute message's lease is 7 s (renewed every 3 s), any other's 20 s: a copy 5 s after the kill is a takeover's
    # for the crisis lines only; for an ordinary answer it is a second handling.
    again = [reply(99.5, "antwoord"), reply(105.0, "antwoord")]
    result = figures(Load([[step(99, 1, again, text)]], started=0.0, killed_at=100.0), StandIn())
    assert (result.resent, result.doubled) == ((1, 0) if resent else (0, 1))


def test_a_repeat_with_both_copies_after_the_kill_is_answered_twice() -> None:
    later = [reply(130.0, "antwoord"), reply(131.0, "antwoord")]
    result = figures(Load([[step(129, 1, later)]], started=0.0, killed_at=100.0), StandIn())
    assert (result.resent, result.doubled) == (0, 1)


def test_without_a_kill_every_repeat_is_answered_twice() -> None:
    twice = [reply(1.1, "antwoord"), reply(30.0, "antwoord")]
    result = figures(Load([[step(1, 1, twice)]], started=0.0), StandIn())
    assert (result.resent, result.doubled) == (0, 1)


def test_more_replies_each_different_are_not_answered_twice() -> None:
    other_reading = [reply(1.1, "antwoord"), reply(1.2, "menu"), reply(1.3, "wil je nog kiezen wie je bent?")]
    result = figures(Load([[step(1, 2, other_reading)]], started=0.0), StandIn())
    assert (result.doubled, result.more) == (0, 1)


def test_a_message_without_any_reply_is_lost_and_what_follows_is_not_judged() -> None:
    conversation = [step(1, 1, []), step(70, 2, [reply(71, "a"), reply(72, "b"), reply(73, "c")])]
    assert judged(conversation) == (1, 1, 0, 0, 1)


def test_a_burst_cut_short_is_counted_apart_from_lost() -> None:
    assert judged([step(1, 3, [reply(1.1)])]) == (1, 0, 0, 1, 0)


def test_messages_never_sent_are_not_counted() -> None:
    assert judged([step(1, 1, []), Step(chat=1, text="dank je", expected=1)]) == (0, 1, 0, 0, 0)


def test_the_crisis_reply_is_timed_from_the_first_delivery() -> None:
    stand_in = StandIn()
    acute = step(1.0, 2, [reply(1.9, "Bel 113"), reply(2.0)], text="ik wil niet meer leven")
    stand_in.deliveries.extend([Delivery(1, 1.2, 0.1, 502), Delivery(1, 1.5, 0.1, 200)])
    result = figures(Load([[acute]], started=0.0), stand_in)
    assert result.crisis == [pytest.approx(0.7)]


@pytest.mark.skipif(not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()), reason="nginx not installed")
def test_the_generated_nginx_configuration_is_valid(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    config = tmp_path / "nginx.conf"
    config.write_text(nginx_config(tmp_path, Ports((5013, 5014), (8181, 8182, 8183), 8180, 8190)))
    checked = subprocess.run(
        [nginx, "-t", "-q", "-p", str(tmp_path), "-c", str(config), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr
