"""Office hours of the professionals' team (`HANDOFF_HOURS`), in Europe/Amsterdam time.

Syntax: `always`, or one or more `DAYS HH:MM-HH:MM` separated by commas, where DAYS is a day (`mon`) or a range
(`mon-fri`): for example `mon-fri 09:00-17:00, sat 10:00-12:00`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SEGMENT = re.compile(r"^(?P<days>[a-z]{3}(?:-[a-z]{3})?)\s+(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})$")


@dataclass(frozen=True)
class _Window:
    days: frozenset[int]
    start: time
    end: time


class OfficeHours:
    def __init__(self, windows: tuple[_Window, ...] | None) -> None:
        self._windows = windows  # None: always open

    @classmethod
    def parse(cls, spec: str) -> OfficeHours:
        spec = spec.strip().lower()
        if spec in ("", "always", "24/7"):
            return cls(None)
        windows = []
        for segment in spec.split(","):
            match = _SEGMENT.match(segment.strip())
            if match is None:
                raise ValueError(f"HANDOFF_HOURS: cannot read {segment.strip()!r} (example: 'mon-fri 09:00-17:00')")
            first, _, last = match["days"].partition("-")
            if first not in DAYS or (last and last not in DAYS):
                raise ValueError(f"HANDOFF_HOURS: unknown day in {segment.strip()!r}")
            start_day, end_day = DAYS.index(first), DAYS.index(last or first)
            days = frozenset(range(start_day, end_day + 1))
            start, end = time.fromisoformat(match["start"].zfill(5)), time.fromisoformat(match["end"].zfill(5))
            if end <= start:
                raise ValueError(f"HANDOFF_HOURS: the end must come after the start in {segment.strip()!r}")
            windows.append(_Window(days, start, end))
        return cls(tuple(windows))

    @property
    def always(self) -> bool:
        return self._windows is None

    def is_open(self, moment: datetime) -> bool:
        if self._windows is None:
            return True
        local = moment.astimezone(AMSTERDAM)
        now = local.time()
        return any(local.weekday() in w.days and w.start <= now < w.end for w in self._windows)

    def next_opening(self, moment: datetime) -> datetime | None:
        """When the team is next online (None when always open), looking a week ahead."""
        if self._windows is None:
            return None
        local = moment.astimezone(AMSTERDAM)
        for offset in range(8):
            day = local.date() + timedelta(days=offset)
            starts = sorted(w.start for w in self._windows if day.weekday() in w.days)
            for start in starts:
                candidate = datetime.combine(day, start, AMSTERDAM)
                if candidate > local:
                    return candidate
        return None
