"""A local stand-in for the Telegram Bot API, so the real python-telegram-bot stack can be tested over HTTP.

It serves the methods the bot calls with realistic JSON, records every call, and feeds updates to `getUpdates`
(long polling included) or, once `setWebhook` is called, delivers them by webhook as Telegram does: each update is
POSTed as JSON to the url with the secret token in a header; anything but a 2xx (or no answer within
`WEBHOOK_TIMEOUT`) is tried again after a short backoff; one chat's updates go one after another (the next only
after the previous got its 2xx), different chats' at once, up to `max_connections`. It runs in its own threads with
the standard library's HTTP server and client.
"""

from __future__ import annotations

import html
import itertools
import json
import re
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

BOT_ID = 7000001
BOT_USERNAME = "gezin_detentie_test_bot"
# Parameters python-telegram-bot JSON-encodes; every other value arrives as a plain string.
_JSON_PARAMETERS = {
    "chat_id",
    "offset",
    "limit",
    "timeout",
    "allowed_updates",
    "reply_markup",
    "commands",
    "scope",
    "message_id",
    "from_chat_id",
    "message_thread_id",
    "show_alert",
    "max_connections",
    "drop_pending_updates",
}
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_TIMEOUT = 10.0
"""Seconds a webhook POST may take before the stand-in gives up on it and tries again later."""
WEBHOOK_BACKOFF = (0.2, 0.5, 1.0, 2.0)
"""Seconds before the next attempt after the 1st, 2nd, 3rd and later failed attempts of one chat's update."""


# Telegram's limit on a message: 4,096 characters after entities are parsed, counted in UTF-16 code units.
TEXT_LIMIT = 4096
_TAG = re.compile(r"<[^>]*>")


def _too_long(params: dict[str, Any]) -> bool:
    text = str(params.get("text", ""))
    if params.get("parse_mode") == "HTML":
        text = html.unescape(_TAG.sub("", text))
    return len(text.encode("utf-16-le")) // 2 > TEXT_LIMIT


class _Refused(Exception):
    """The Bot API answers this request with an error, as Telegram would."""

    def __init__(self, description: str, code: int = 400, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.parameters = parameters


@dataclass
class Failure:
    """An error the stand-in answers instead of doing the call: a fault injected by a test."""

    method: str
    code: int
    description: str
    parameters: dict[str, Any] | None = None


class _TooMany(Exception):
    """Telegram's flood control: 429 with the seconds to wait."""

    def __init__(self, seconds: int) -> None:
        super().__init__(seconds)
        self.seconds = seconds


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """The bot hangs up on a long poll when it stops: that is not an error."""


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    """When the stand-in received it (time.monotonic), so latency needs no polling of `calls`."""


@dataclass(frozen=True)
class Webhook:
    url: str
    secret_token: str | None
    max_connections: int


@dataclass(frozen=True)
class Delivery:
    """One webhook POST of one update: when it started, how long it took, and the status (0: no answer)."""

    update_id: int
    started: float
    seconds: float
    status: int

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


def chat_of(update: dict[str, Any]) -> Hashable:
    """What Telegram keeps in order: the chat of the update's message, else its sender, else nothing."""
    for key, value in update.items():
        if key == "update_id" or not isinstance(value, dict):
            continue
        inner = value.get("message") if key == "callback_query" else None
        for holder in (value, inner or {}):
            chat = holder.get("chat")
            if isinstance(chat, dict):
                return ("chat", chat.get("id"))
        sender = value.get("from")
        if isinstance(sender, dict):
            return ("user", sender.get("id"))
    return ("alone", update.get("update_id"))


@dataclass
class StandIn:
    port: int = 0
    members: set[int] = field(default_factory=set)
    """Who is in the professionals' group (getChatMember answers "member" for them, "left" for others)."""
    group_members: dict[int, set[int]] = field(default_factory=dict)
    """With several professionals' groups: who is in which (by chat id); a chat not listed uses `members`."""
    calls: list[Call] = field(default_factory=list)
    refused: list[Call] = field(default_factory=list)
    """Requests Telegram would have refused (a message over 4,096 characters); they are not in `calls`."""
    listeners: list[Callable[[], None]] = field(default_factory=list)
    """Called (from the server's thread) after every recorded call: lets an asyncio test wait on an event."""
    failed: list[Call] = field(default_factory=list)
    """Requests answered with an injected failure (see `fail`); they are not in `calls`."""
    _failures: list[Failure] = field(default_factory=list)
    retry_after: list[int] = field(default_factory=list)
    """Seconds for the next sendMessage calls to be told to wait (429, as Telegram's flood control); one each."""
    _updates: list[dict[str, Any]] = field(default_factory=list)
    _condition: threading.Condition = field(default_factory=threading.Condition)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _server: ThreadingHTTPServer | None = None
    webhook: Webhook | None = None
    """Set by setWebhook, cleared by deleteWebhook; while set, updates are delivered by POST, not by getUpdates."""
    deliveries: list[Delivery] = field(default_factory=list)
    """Every webhook POST, in the order they finished."""
    _chats: dict[Hashable, deque[dict[str, Any]]] = field(default_factory=dict)
    """Updates waiting for webhook delivery, per chat, oldest first (a chat is dropped when empty)."""
    _in_flight: set[Hashable] = field(default_factory=set)
    _not_before: dict[Hashable, float] = field(default_factory=dict)
    _failures_in_row: dict[Hashable, int] = field(default_factory=dict)
    _workers: list[threading.Thread] = field(default_factory=list)
    _stopping: bool = False

    # -- test side -------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail(
        self, method: str, code: int, description: str, times: int = 1, parameters: dict[str, Any] | None = None
    ) -> None:
        """Answer the next `times` calls of `method` with this error, as Telegram would (e.g. 429 with
        parameters={"retry_after": 1}, 403 "Forbidden: bot was blocked by the user", 502 "Bad Gateway")."""
        with self._condition:
            self._failures.extend(Failure(method, code, description, parameters) for _ in range(times))

    @property
    def pending_updates(self) -> int:
        """Updates pushed but not yet fetched by the bot (polling) or not yet accepted with a 2xx (webhook)."""
        with self._condition:
            return len(self._updates) + sum(len(queue) for queue in self._chats.values())

    def push(self, update: dict[str, Any]) -> int:
        """Queue an update for the bot (as if a user did something); returns its update_id."""
        with self._condition:
            update["update_id"] = next(self._ids)
            if self.webhook is None:
                self._updates.append(update)
            else:
                self._chats.setdefault(chat_of(update), deque()).append(update)
            self._condition.notify_all()
            return int(update["update_id"])

    def calls_to(self, method: str) -> list[Call]:
        with self._condition:
            return [call for call in self.calls if call.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 15.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                found = [call for call in self.calls if call.method == method]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"{method} called {len(found)} times, expected {count}: {self.calls}")
                self._condition.wait(remaining)

    def start(self) -> None:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode()
                params = stand_in._params(self.headers.get("Content-Type") or "", body)
                method = self.path.rsplit("/", 1)[-1]
                try:
                    answer: dict[str, Any] = {"ok": True, "result": stand_in._answer(method, params)}
                    status = 200
                except _Refused as refusal:
                    answer = {"ok": False, "error_code": refusal.code, "description": str(refusal)}
                    if refusal.parameters:
                        answer["parameters"] = refusal.parameters
                    status = refusal.code
                except _TooMany as flood:
                    description = f"Too Many Requests: retry after {flood.seconds}"
                    answer = {"ok": False, "error_code": 429, "description": description}
                    answer["parameters"] = {"retry_after": flood.seconds}
                    status = 429
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = _QuietServer(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        with self._condition:
            self._stopping = True
            self._condition.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for worker in self._workers:
            worker.join(WEBHOOK_TIMEOUT + 1)

    # -- server side -----------------------------------------------------------------------------------------

    @staticmethod
    def _params(content_type: str, body: str) -> dict[str, Any]:
        if "json" in content_type:
            parsed: dict[str, Any] = json.loads(body or "{}")
            return parsed
        params: dict[str, Any] = {}
        for key, values in parse_qs(body, keep_blank_values=True).items():
            params[key] = json.loads(values[0]) if key in _JSON_PARAMETERS else values[0]
        return params

    def _answer(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getUpdates":
            if self.webhook is not None:
                raise _Refused("Conflict: can't use getUpdates method while webhook is active", 409)
            return self._get_updates(params)
        if method == "getWebhookInfo":
            return self._webhook_info()
        if method == "sendMessage" and _too_long(params):
            with self._condition:
                self.refused.append(Call(method, params))
            raise _Refused("Bad Request: message is too long")
        with self._condition:
            failure = next((f for f in self._failures if f.method == method), None)
            if failure is not None:
                self._failures.remove(failure)
                self.failed.append(Call(method, params))
        if failure is not None:
            raise _Refused(failure.description, failure.code, failure.parameters)
        with self._condition:
            flood = self.retry_after.pop(0) if method == "sendMessage" and self.retry_after else None
            if flood is not None:
                self.refused.append(Call(method, params))
        if flood is not None:
            raise _TooMany(flood)
        with self._condition:
            self.calls.append(Call(method, params))
            self._condition.notify_all()
        for listener in self.listeners:
            listener()
        if method == "setWebhook":
            self._set_webhook(params)
        if method == "deleteWebhook":
            self._delete_webhook(drop=str(params.get("drop_pending_updates")).lower() == "true")
        if method == "getMe":
            return {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "Steun bij detentie",
                "username": BOT_USERNAME,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
            }
        if method == "createForumTopic":
            return {"message_thread_id": next(self._ids) + 500, "name": params["name"], "icon_color": 7322096}
        if method == "getChatMember":
            user_id = int(params["user_id"])
            members = self.group_members.get(int(params.get("chat_id") or 0), self.members)
            status = "member" if user_id in members else "left"
            return {"status": status, "user": {"id": user_id, "is_bot": False, "first_name": "Pro"}}
        if method in ("sendMessage", "copyMessage"):
            chat_id = params.get("chat_id")
            thread = params.get("message_thread_id")
            return {
                **({"message_thread_id": thread, "is_topic_message": True} if thread else {}),
                "message_id": next(self._ids) + 1000,
                "date": int(time.time()),
                "chat": {
                    "id": chat_id,
                    "type": "private" if isinstance(chat_id, int) and chat_id > 0 else "supergroup",
                },
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "Steun bij detentie", "username": BOT_USERNAME},
                "text": params.get("text", ""),
            }
        return True

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        wait = min(float(params.get("timeout") or 0), 2.0)
        deadline = time.monotonic() + wait
        with self._condition:
            # As Telegram does: asking from an offset confirms, and forgets, every earlier update.
            self._updates = [update for update in self._updates if update["update_id"] >= offset]
            while True:
                ready = [update for update in self._updates if update["update_id"] >= offset]
                remaining = deadline - time.monotonic()
                if ready or remaining <= 0:
                    return ready
                self._condition.wait(remaining)

    # -- webhook delivery -----------------------------------------------------------------------------------

    def _set_webhook(self, params: dict[str, Any]) -> None:
        webhook = Webhook(
            url=str(params["url"]),
            secret_token=params.get("secret_token"),
            max_connections=int(params.get("max_connections") or 40),
        )
        with self._condition:
            if str(params.get("drop_pending_updates")).lower() == "true":
                self._updates.clear()
                self._chats.clear()
            for update in self._updates:  # what polling had not fetched yet now goes by webhook
                self._chats.setdefault(chat_of(update), deque()).append(update)
            self._updates.clear()
            self.webhook = webhook
            missing = webhook.max_connections - len(self._workers)
            for _ in range(max(0, missing)):
                worker = threading.Thread(target=self._deliver_forever, daemon=True)
                self._workers.append(worker)
                worker.start()
            self._condition.notify_all()

    def _delete_webhook(self, drop: bool) -> None:
        with self._condition:
            self.webhook = None
            waiting = sorted(
                (update for queue in self._chats.values() for update in queue), key=lambda u: int(u["update_id"])
            )
            self._chats.clear()
            self._updates.extend([] if drop else waiting)
            self._condition.notify_all()

    def _webhook_info(self) -> dict[str, Any]:
        with self._condition:
            webhook, pending = self.webhook, sum(len(queue) for queue in self._chats.values())
            last_error = next((d for d in reversed(self.deliveries) if not d.accepted), None)
            polled = len(self._updates)
        if webhook is None:
            return {"url": "", "has_custom_certificate": False, "pending_update_count": polled}
        info: dict[str, Any] = {
            "url": webhook.url,
            "has_custom_certificate": False,
            "pending_update_count": pending,
            "max_connections": webhook.max_connections,
        }
        if last_error is not None:
            info["last_error_date"] = int(time.time())
            info["last_error_message"] = f"Wrong response from the webhook: {last_error.status}"
        return info

    def _next_delivery(self) -> tuple[Webhook, Hashable, dict[str, Any]] | None:
        """Wait for a chat whose oldest update may go now (none of its updates in flight, no backoff running)."""
        with self._condition:
            while not self._stopping:
                now = time.monotonic()
                soonest: float | None = None
                if self.webhook is not None:
                    for chat, queue in self._chats.items():
                        if chat in self._in_flight or not queue:
                            continue
                        not_before = self._not_before.get(chat, 0.0)
                        if not_before <= now:
                            self._in_flight.add(chat)
                            return self.webhook, chat, queue[0]
                        soonest = not_before if soonest is None else min(soonest, not_before)
                self._condition.wait(None if soonest is None else soonest - now)
        return None

    def _deliver_forever(self) -> None:
        while (job := self._next_delivery()) is not None:
            webhook, chat, update = job
            started = time.monotonic()
            status = _post(webhook, update)
            with self._condition:
                self.deliveries.append(Delivery(int(update["update_id"]), started, time.monotonic() - started, status))
                self._in_flight.discard(chat)
                queue = self._chats.get(chat)
                if 200 <= status < 300:
                    self._failures_in_row.pop(chat, None)
                    self._not_before.pop(chat, None)
                    if queue and queue[0] is update:
                        queue.popleft()
                    if queue is not None and not queue:
                        del self._chats[chat]
                else:
                    failures = self._failures_in_row.get(chat, 0)
                    self._failures_in_row[chat] = failures + 1
                    backoff = WEBHOOK_BACKOFF[min(failures, len(WEBHOOK_BACKOFF) - 1)]
                    self._not_before[chat] = time.monotonic() + backoff
                self._condition.notify_all()


def _post(webhook: Webhook, update: dict[str, Any]) -> int:
    """POST one update as Telegram does; the HTTP status, or 0 when the webhook did not answer in time."""
    headers = {"Content-Type": "application/json"}
    if webhook.secret_token:
        headers[SECRET_HEADER] = webhook.secret_token
    request = urllib.request.Request(webhook.url, data=json.dumps(update).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (OSError, ValueError):
        return 0


# -- updates as Telegram sends them ----------------------------------------------------------------------------

USER: dict[str, Any] = {
    "id": 424242,
    "is_bot": False,
    "first_name": "Sanne",
    "username": "sanne_k",
    "language_code": "nl",
}


_MESSAGE_IDS = itertools.count(1)


def _message(chat: dict[str, Any], user: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "message_id": next(_MESSAGE_IDS),
        "date": int(time.time()),
        "chat": chat,
        "from": user,
        **fields,
    }


def private_chat(user: dict[str, Any]) -> dict[str, Any]:
    return {"id": user["id"], "type": "private", "first_name": user["first_name"], "username": user.get("username")}


def text_update(text: str, user: dict[str, Any] = USER, message_id: int | None = None) -> dict[str, Any]:
    fields: dict[str, Any] = {"text": text}
    if text.startswith("/"):
        fields["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    message = _message(private_chat(user), user, **fields)
    if message_id is not None:
        message["message_id"] = message_id
    return {"message": message}


def sticker_update(user: dict[str, Any] = USER) -> dict[str, Any]:
    sticker = {
        "file_id": "CAACAgIAAxkBAAE",
        "file_unique_id": "AgADx",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    return {"message": _message(private_chat(user), user, sticker=sticker)}


def button_update(data: str, user: dict[str, Any] = USER, markup: dict[str, Any] | None = None) -> dict[str, Any]:
    """A user presses a button; `markup`: the keyboard of the message it is on (as the bot sent it)."""
    message = _message(private_chat(user), {"id": BOT_ID, "is_bot": True, "first_name": "Steun"}, text="...")
    if markup is not None:
        message["reply_markup"] = markup
    return {
        "callback_query": {
            "id": str(int(time.time() * 1000)),
            "from": user,
            "chat_instance": "-5000",
            "data": data,
            "message": message,
        }
    }


def group_text_update(text: str, chat_id: int = -100555, user: dict[str, Any] = USER) -> dict[str, Any]:
    chat = {"id": chat_id, "type": "supergroup", "title": "Random group"}
    return {"message": _message(chat, user, text=text)}


GROUP_ID = -1009876543210
PROFESSIONALS_CHAT = {"id": GROUP_ID, "type": "supergroup", "title": "Team jeugdhulp", "is_forum": True}


def professional(user_id: int, first_name: str) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": first_name, "username": f"{first_name.lower()}_pro"}


def professionals_chat(chat_id: int = GROUP_ID, title: str = "Team jeugdhulp") -> dict[str, Any]:
    """A professionals' supergroup with topics (another one than the default, with several groups)."""
    return {"id": chat_id, "type": "supergroup", "title": title, "is_forum": True}


def topic_update(
    text: str,
    topic_id: int,
    user: dict[str, Any],
    message_id: int | None = None,
    chat: dict[str, Any] = PROFESSIONALS_CHAT,
) -> dict[str, Any]:
    """A professional writes in a case's forum topic."""
    fields: dict[str, Any] = {"text": text, "message_thread_id": topic_id, "is_topic_message": True}
    if text.startswith("/"):
        fields["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    message = _message(chat, user, **fields)
    if message_id is not None:
        message["message_id"] = message_id
    return {"message": message}


def group_button_update(
    data: str, user: dict[str, Any], topic_id: int, chat: dict[str, Any] = PROFESSIONALS_CHAT
) -> dict[str, Any]:
    """A professional presses a button on a case card (or sends the same data from another group)."""
    card = _message(chat, {"id": BOT_ID, "is_bot": True, "first_name": "Steun"}, text="Casus")
    card.update({"message_thread_id": topic_id, "is_topic_message": True})
    return {
        "callback_query": {
            "id": str(time.time_ns()),
            "from": user,
            "chat_instance": "-7000",
            "data": data,
            "message": card,
        }
    }


def edited_text_update(text: str, message_id: int, user: dict[str, Any] = USER) -> dict[str, Any]:
    """The user edits an earlier message of theirs (Telegram sends the whole message again, with edit_date)."""
    message = _message(private_chat(user), user, text=text, edit_date=int(time.time()))
    message["message_id"] = message_id
    return {"edited_message": message}


CHANNEL: dict[str, Any] = {"id": -1001111111111, "type": "channel", "title": "Some channel"}


def channel_post_update(text: str, chat: dict[str, Any] = CHANNEL) -> dict[str, Any]:
    """A post in a channel the bot is an administrator of (posts have no sender)."""
    return {"channel_post": {"message_id": next(_MESSAGE_IDS), "date": int(time.time()), "chat": chat, "text": text}}


def added_to_channel_update(chat: dict[str, Any] = CHANNEL, user: dict[str, Any] = USER) -> dict[str, Any]:
    """Someone made the bot an administrator of a channel."""
    bot = {"id": BOT_ID, "is_bot": True, "first_name": "Steun bij detentie", "username": BOT_USERNAME}
    return {
        "my_chat_member": {
            "chat": chat,
            "from": user,
            "date": int(time.time()),
            "old_chat_member": {"status": "left", "user": bot},
            "new_chat_member": {
                "status": "administrator",
                "user": bot,
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_delete_messages": False,
                "can_manage_video_chats": False,
                "can_restrict_members": False,
                "can_promote_members": False,
                "can_change_info": False,
                "can_invite_users": False,
                "can_post_messages": True,
                "can_post_stories": False,
                "can_edit_stories": False,
                "can_delete_stories": False,
            },
        }
    }


def inline_query_update(query: str, user: dict[str, Any] = USER) -> dict[str, Any]:
    """The user types "@bot <query>" in some other chat."""
    return {"inline_query": {"id": str(time.time_ns()), "from": user, "query": query, "offset": ""}}


def raw_button_update(
    data: str | None, user: dict[str, Any] = USER, chat: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A button press with any data (or none), on a message in `chat` (default: the user's private chat)."""
    message = _message(chat or private_chat(user), {"id": BOT_ID, "is_bot": True, "first_name": "Steun"}, text="...")
    query: dict[str, Any] = {"id": str(time.time_ns()), "from": user, "chat_instance": "-5000", "message": message}
    if data is not None:
        query["data"] = data
    return {"callback_query": query}
