"""Making text safe to show to someone else, and fitting it into Telegram's messages.

What a user writes reaches professionals (and what a professional calls themselves reaches users). Control
characters and bidirectional overrides (U+202E and friends) could make that text look like something else — a
reversed case card, a fake "claimed by" line — so they are taken out first. Telegram takes at most 4,096
characters per message, counted in UTF-16 code units after HTML is parsed, so longer text is split.
"""

from __future__ import annotations

import html
import re

TELEGRAM_TEXT_LIMIT = 4096
"""Telegram's maximum message length, in UTF-16 code units after entities (HTML) are parsed."""

# Bidirectional embeddings, overrides, isolates and marks, and the deprecated format controls next to them.
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u206a\u206b\u206c\u206d\u206e\u206f"
_ANNOTATIONS = "\ufff9\ufffa\ufffb"
_DROP = {ord(char): None for char in _BIDI + _ANNOTATIONS}
_DROP.update({code: None for code in (*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)) if code not in (0x09, 0x0A)})
_NEUTRAL: dict[int, str | None] = {**_DROP, 0x09: " ", 0x2028: "\n", 0x2029: "\n"}
_TAG = re.compile(r"<[^>]*>")
# Look back at most this share of a piece for a line break or space to cut at.
_CUT_WINDOW = 4


def neutralise(text: str) -> str:
    """`text` without control characters and bidirectional controls; line breaks stay, tabs become spaces.

    Joiners (U+200D, used in emoji such as 👨‍👩‍👧) and variation selectors stay: they cannot reorder text.
    """
    return text.replace("\r\n", "\n").replace("\r", "\n").translate(_NEUTRAL)


def units(text: str) -> int:
    """The length Telegram counts: UTF-16 code units (an emoji outside the BMP counts twice)."""
    return len(text.encode("utf-16-le")) // 2


def visible_length(html_text: str) -> int:
    """The length of an HTML message as Telegram counts it: without tags, with entities as one character."""
    return units(html.unescape(_TAG.sub("", html_text)))


def _fit(text: str, limit: int) -> int:
    """The longest prefix of `text` (in characters) that fits in `limit` UTF-16 units."""
    used = 0
    for index, char in enumerate(text):
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            return index
    return len(text)


def _cut(text: str, limit: int) -> int:
    """Where to cut `text` so the first piece fits: at a line break or space near the end, else hard."""
    end = max(_fit(text, limit), 1)
    if end >= len(text):
        return end
    floor = end - end // _CUT_WINDOW
    for separator in ("\n", " "):
        at = text.rfind(separator, floor, end)
        if at > 0:
            return at + 1
    return end


def split(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Pieces of `text`, each at most `limit` UTF-16 units, cut at a line break or space where one is near.

    Whitespace at the cuts is dropped; nothing else is. Always at least one piece.
    """
    pieces: list[str] = []
    rest = text
    while units(rest) > limit:
        cut = _cut(rest, limit)
        piece, rest = rest[:cut].rstrip(), rest[cut:].lstrip()
        if piece:
            pieces.append(piece)
    if rest or not pieces:
        pieces.append(rest)
    return pieces


def truncate(text: str, limit: int, marker: str) -> str:
    """`text` if it fits in `limit` UTF-16 units, else its beginning followed by a space and `marker`."""
    if units(text) <= limit:
        return text
    room = max(limit - units(marker) - 1, 1)
    return text[: _cut(text, room)].rstrip() + " " + marker
