"""What the desk writes in the professionals' group and to users about professionals: case cards, topic names,
reason labels, relayed messages and transcripts. Texts come from responses/handoff.yml; user text is neutralised
and escaped here, and shortened to fit Telegram's limit."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime

from bot.content import Content
from bot.storage.cases import reason_of
from bot.storage.models import Case, utcnow
from handoff import display
from handoff.hours import AMSTERDAM

# A message longer than Telegram allows is relayed in at most this many parts (Telegram itself caps a user's message
# at 4,096 characters, so this only bites for other channels); the last part then ends with a marker.
MAX_RELAY_PARTS = 4
# Each line of a shared transcript keeps at least this much when the case card has to be shortened to fit.
MIN_TRANSCRIPT_LINE = 80


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=utcnow().tzinfo)


def minutes_since(moment: datetime, now: datetime) -> int:
    return int((now - aware(moment)).total_seconds() // 60)


class GroupTexts:
    def __init__(self, content: Content) -> None:
        self._content = content

    def text(self, *path: str) -> str:
        return self._content.group(*path)

    def reason(self, case: Case) -> str:
        return self._content.group("reason", reason_of(case).detail)

    def urgency(self, case: Case) -> str:
        return self._content.group("urgency", "urgent" if case.urgent else "normal")

    def topic_name(self, case: Case) -> str:
        return self._content.group("topic_name").format(
            urgency=self.urgency(case),
            pseudonym=case.pseudonym,
            audience=self._content.group("audience", case.audience or "unknown"),
            language=case.language,
        )

    def card(self, case: Case, transcript: Sequence[str] | None) -> str:
        """The case card; a shared transcript is shortened as far as needed for the card to fit in one message."""

        def card(note: str) -> str:
            return self._content.group("card").format(
                pseudonym=case.pseudonym,
                reason=html.escape(self.reason(case)),
                risk=case.risk,
                opened=aware(case.created_at).astimezone(AMSTERDAM).strftime("%d-%m-%Y %H:%M"),
                audience=self._content.group("audience", case.audience or "unknown"),
                language=case.language,
                transcript_note=note,
            )

        if not transcript:
            return card(self._content.group("transcript_none"))
        room = display.TELEGRAM_TEXT_LIMIT - display.visible_length(card(""))
        return card(self.transcript(transcript, room))

    def alert(self, case: Case) -> str:
        alert = self._content.group("alert_urgent" if case.urgent else "alert_normal")
        reason = html.escape(self.reason(case))
        return alert.format(pseudonym=case.pseudonym, reason=reason, topic=html.escape(self.topic_name(case)))

    def realert(self, case: Case, now: datetime) -> str:
        reason = html.escape(self.reason(case))
        waited = minutes_since(case.created_at, now)
        return self._content.group("realert").format(pseudonym=case.pseudonym, reason=reason, minutes=waited)

    def list_item(self, case: Case, now: datetime) -> str:
        return self._content.group("list_item").format(
            urgency=self.urgency(case),
            pseudonym=case.pseudonym,
            reason=self.reason(case),
            minutes=minutes_since(case.created_at, now),
        )

    def flag(self, category: str) -> str:
        return self._content.group("flag").format(reason=html.escape(self._content.group("reason", category)))

    def transcript(self, lines: Sequence[str], room: int = display.TELEGRAM_TEXT_LIMIT) -> str:
        """The user's recent messages, neutralised and escaped; each line is shortened (with a marker) as far as
        needed to keep the whole within `room` characters as Telegram counts them."""
        header = self._content.group("transcript_header")
        lines = [display.neutralise(line) for line in lines]
        bullets = "• " * len(lines) + "\n" * len(lines)
        share = (room - display.visible_length(header) - display.units(bullets)) // max(len(lines), 1)
        marker = self._content.group("cut_marker")
        body = "\n".join(
            f"• {html.escape(display.truncate(line, max(share, MIN_TRANSCRIPT_LINE), marker))}" for line in lines
        )
        return f"{header}\n{body}"

    def relayed(self, text: str) -> list[str]:
        """The group messages that carry a user's text: neutralised, escaped, and split to fit Telegram."""
        text = display.neutralise(text)
        whole = self._content.group("user_message").format(text=html.escape(text))
        if display.visible_length(whole) <= display.TELEGRAM_TEXT_LIMIT:
            return [whole]
        template = self._content.group("user_message_part")
        frame = template.format(text="", part=MAX_RELAY_PARTS, parts=MAX_RELAY_PARTS)
        room = display.TELEGRAM_TEXT_LIMIT - display.visible_length(frame)
        pieces = display.split(text, room)
        if len(pieces) > MAX_RELAY_PARTS:
            marker = self._content.group("cut_marker")
            pieces = [
                *pieces[: MAX_RELAY_PARTS - 1],
                display.truncate(" ".join(pieces[MAX_RELAY_PARTS - 1 :]), room, marker),
            ]
        return [
            template.format(text=html.escape(piece), part=number, parts=len(pieces))
            for number, piece in enumerate(pieces, start=1)
        ]

    def who(self, case: Case) -> str:
        """How the user sees the professional: the name they chose, or just their role."""
        name = case.claimed_name
        if not name or name == self._content.group("default_name"):
            return self._content.ui("professional_unnamed", case.language)
        return self._content.ui("professional_named", case.language).format(name=name)

    def to_user(self, case: Case, key: str, suffix: str = "", **values: str) -> str:
        """A text for the user of `case`, in their language (responses/ui.yml)."""
        text = self._content.ui(key, case.language).format(**values)
        return f"{text}\n\n{suffix}" if suffix else text

    def day_and_night_lines(self, case: Case) -> str:
        return self._content.ui("day_and_night_lines", case.language, case.audience or "youth")
