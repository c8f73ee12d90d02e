"""The Bot API stand-in delivers updates by webhook as Telegram does, so the scale test (bench/scale.py) can trust
it: the secret in the header, a failed delivery tried again, one chat's updates one after another."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from standin.bot_api import SECRET_HEADER, StandIn, text_update

SECRET = "geheim_123"


class Receiver:
    """A webhook endpoint: records what arrives; answers each update's first `refuse_first` POSTs with 502."""

    def __init__(self, refuse_first: int = 0, hold_chat: int | None = None) -> None:
        self.received: list[tuple[int, int, str | None]] = []  # (update_id, chat id, secret header)
        self.attempts: dict[int, int] = {}
        self.refuse_first = refuse_first
        self.release = threading.Event()
        self.hold_chat = hold_chat
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                update: dict[str, Any] = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                number = int(update["update_id"])
                chat = int(update["message"]["chat"]["id"])
                if chat == receiver.hold_chat:
                    receiver.release.wait(5)
                with receiver.lock:
                    receiver.attempts[number] = receiver.attempts.get(number, 0) + 1
                    refused = receiver.attempts[number] <= receiver.refuse_first
                    if not refused:
                        receiver.received.append((number, chat, self.headers.get(SECRET_HEADER)))
                self.send_response(502 if refused else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/telegram"

    def wait_for(self, count: int) -> list[tuple[int, int, str | None]]:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.01)
        raise AssertionError(f"{len(self.received)} updates arrived, expected {count}")


def statuses_once_recorded(stand_in: StandIn, number: int, count: int) -> list[int]:
    """The statuses of an update's deliveries once the stand-in has recorded `count` of them: it records each when
    the receiver's answer is back, a moment after the receiver itself saw the POST."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        statuses = [d.status for d in stand_in.deliveries if d.update_id == number]
        if len(statuses) >= count:
            return statuses
        time.sleep(0.01)
    raise AssertionError(f"fewer than {count} deliveries of update {number} were recorded")


def call(stand_in: StandIn, method: str, **params: Any) -> dict[str, Any]:
    response = httpx.post(f"{stand_in.base_url}/bot123:TOKEN/{method}", json=params)
    answer: dict[str, Any] = response.json()
    return answer


def user(number: int) -> dict[str, Any]:
    return {"id": number, "is_bot": False, "first_name": "U", "language_code": "nl"}


def test_updates_arrive_by_post_with_the_secret_once_a_webhook_is_set(stand_in: StandIn) -> None:
    receiver = Receiver()
    assert call(stand_in, "setWebhook", url=receiver.url, secret_token=SECRET)["ok"]
    numbers = [stand_in.push(text_update("hallo", user(100 + n))) for n in range(5)]
    arrived = receiver.wait_for(5)
    assert sorted(number for number, _, _ in arrived) == numbers
    assert {secret for _, _, secret in arrived} == {SECRET}
    assert call(stand_in, "getWebhookInfo")["result"]["pending_update_count"] == 0


def test_a_refused_delivery_is_tried_again_until_accepted(stand_in: StandIn) -> None:
    receiver = Receiver(refuse_first=2)
    call(stand_in, "setWebhook", url=receiver.url, secret_token=SECRET)
    number = stand_in.push(text_update("hallo", user(7)))
    assert receiver.wait_for(1)[0][0] == number
    assert receiver.attempts[number] == 3
    assert statuses_once_recorded(stand_in, number, 3) == [502, 502, 200]


def test_one_chat_waits_for_its_previous_update_while_other_chats_go_on(stand_in: StandIn) -> None:
    receiver = Receiver(hold_chat=1)
    call(stand_in, "setWebhook", url=receiver.url, secret_token=SECRET)
    held_first = stand_in.push(text_update("een", user(1)))
    held_second = stand_in.push(text_update("twee", user(1)))
    other = stand_in.push(text_update("ander", user(2)))
    assert receiver.wait_for(1)[0][0] == other
    assert call(stand_in, "getWebhookInfo")["result"]["pending_update_count"] == 2
    receiver.release.set()
    assert [number for number, _, _ in receiver.wait_for(3)] == [other, held_first, held_second]


def test_polling_is_refused_while_a_webhook_is_set_and_gets_the_updates_back_after_delete(stand_in: StandIn) -> None:
    call(stand_in, "setWebhook", url="http://127.0.0.1:9/telegram", secret_token=SECRET)  # nothing listens
    number = stand_in.push(text_update("hallo"))
    refused = call(stand_in, "getUpdates")
    assert (refused["ok"], refused["error_code"]) == (False, 409)
    call(stand_in, "deleteWebhook")
    assert [update["update_id"] for update in call(stand_in, "getUpdates")["result"]] == [number]
