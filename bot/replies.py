"""What the bot sends, independent of the channel: text plus buttons (each with an action string); and the hook by
which a channel keeps the replies of a unit of work in that unit of work (`keeping`)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession


@dataclass(frozen=True)
class Button:
    label: str
    action: str


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()
    urgent: bool = False
    """Crisis lines, or the fallback with the numbers to call: sent before anything else waiting to go out."""
    in_place: bool = False
    """A short acknowledgement of a one-tap button (answer feedback): shown on the pressed message rather than as a
    new one; Telegram shows it as a notice and takes the feedback buttons off that message."""


@dataclass(frozen=True)
class Sender:
    """Who wrote: a pseudonymous key, Telegram's language code, and (Telegram only) the chat to answer in.

    The chat id never leaves the channel and the handoff desk, which stores it encrypted while a case is open.
    """

    key: str
    language_code: str | None = None
    chat_id: int | None = None


def encode(replies: list[Reply]) -> str:
    """Replies as JSON, to be kept (sealed) and sent later by another process."""
    items = [
        {"text": reply.text, "buttons": [[button.label, button.action] for button in reply.buttons]}
        | {"urgent": reply.urgent, "in_place": reply.in_place}
        for reply in replies
    ]
    return json.dumps(items, separators=(",", ":"))


def decode(kept: str) -> list[Reply]:
    items: list[dict[str, Any]] = json.loads(kept)
    return [
        Reply(
            str(item["text"]),
            tuple(Button(str(label), str(action)) for label, action in item["buttons"]),
            bool(item["urgent"]),
            bool(item["in_place"]),
        )
        for item in items
    ]


KeepReplies = Callable[["AsyncSession", list[Reply]], Awaitable[None]]
"""Writes the replies a unit of work decided on into that unit of work (the channel's journal of the update)."""

_KEEPER: ContextVar[KeepReplies | None] = ContextVar("keep_replies", default=None)


async def keep(session: AsyncSession, replies: list[Reply]) -> None:
    """Called by the pipeline at the end of each unit of work, before it commits. Without a channel that keeps
    replies (polling, the console, tests), nothing happens."""
    keeper = _KEEPER.get()
    if keeper is not None:
        await keeper(session, replies)


@contextlib.contextmanager
def keeping(keeper: KeepReplies) -> Iterator[None]:
    """Units of work run inside keep their replies through `keeper`."""
    token = _KEEPER.set(keeper)
    try:
        yield
    finally:
        _KEEPER.reset(token)
