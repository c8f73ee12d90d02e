"""What the bot sends, independent of the channel: text plus buttons (each with an action string)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Button:
    label: str
    action: str


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()
    urgent: bool = False
    """Crisis lines: sent before ordinary replies that are waiting for Telegram's rate limit."""


@dataclass(frozen=True)
class Sender:
    """Who wrote: a pseudonymous key, Telegram's language code, and (Telegram only) the chat to answer in.

    The chat id never leaves the channel and the handoff desk, which stores it encrypted while a case is open.
    """

    key: str
    language_code: str | None = None
    chat_id: int | None = None
