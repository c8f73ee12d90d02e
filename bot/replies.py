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
