"""The insights report: the counters for a range of ISO weeks, with every small number hidden.

Suppression (the rule the page, the CSV files and the /inzichten summary all share, because all three are made
from one `Report`):

* Primary: a count from 1 to `minimum - 1` is shown as "< 10" (for the default minimum of 10). Zero is shown.
* Complementary, in lines whose total can be worked out elsewhere. A week's messages are split three ways —
  by topic, by audience, by language — so the week's total is known as soon as one of those lines is shown in
  full, and "total minus the shown cells" would give away a single hidden count. In such a line, whenever cells
  are hidden, at least one more cell (the smallest shown one first) is hidden too, shown as "verborgen", and more
  until the hidden cells of the line together hold at least 2 x minimum. The difference then is a sum of at
  least two cells, one of them a large one, so no small count can be read off it (nor pinned by several small
  ones adding up to their maximum, e.g. 9 + 9 = 18). The crisis categories get the same rule. We chose this over
  "totals only" because the organisation wants to see the large topics even in a week with a few rare ones.
* No totals: no row or column sums are published, and weeks are never added up (a sum over weeks minus the
  shown weeks would reveal a hidden week). Charts plot shown counts only; hidden cells are left out.
* Time to claim: buckets are merged (from the shortest up) until each holds at least `minimum` cases, and only
  those merged buckets are shown; p50/p90 are estimated from them alone, so they reveal nothing the merged
  buckets do not. A week with fewer than `minimum` claims shows no times at all.
* Helpfulness: a 👍/👎 share is given only when both counts are shown exactly.

By default only weeks that are over are reported: a week still running would change between two reports, and
the difference would be a few people's messages.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.insights.recorder import AMSTERDAM, CLAIM_BUCKETS, HANDOFF_KIND, Kind
from bot.storage.models import InsightCount

LABELS_FILE = Path(__file__).with_name("labels.yml")
MESSAGE_KINDS = (Kind.TOPIC, Kind.UNSURE, Kind.OUT_OF_SCOPE)
HANDOFF_KINDS = tuple(kind.value for kind in HANDOFF_KIND.values())
HIDDEN = "verborgen"


@cache
def labels() -> dict[str, dict[str, str]]:
    with LABELS_FILE.open(encoding="utf-8") as handle:
        loaded: dict[str, dict[str, str]] = yaml.safe_load(handle)
    return loaded


def label(group: str, key: str) -> str:
    return labels()[group].get(key, key)


@dataclass(frozen=True)
class Count:
    """A published count: `value` is None when hidden; `shown` is what every output prints."""

    value: int | None
    shown: str


@dataclass
class Line:
    """One week's cells of one table, in row order."""

    cells: dict[str, Count] = field(default_factory=dict)


@dataclass
class Table:
    """Rows x weeks, already protected. `name` is the CSV file name; `title` the Dutch heading."""

    name: str
    title: str
    row_header: str
    rows: list[str]
    row_labels: dict[str, str]
    weeks: list[str]
    lines: dict[str, Line]
    """Per week."""

    def cell(self, row: str, week: str) -> Count:
        return self.lines[week].cells.get(row, Count(0, "0"))


@dataclass(frozen=True)
class ClaimTimes:
    """One week's time to claim: merged buckets (each holding at least the minimum) and p50/p90 in minutes."""

    week: str
    buckets: tuple[tuple[str, int], ...]
    p50: Estimate | None
    p90: Estimate | None


@dataclass(frozen=True)
class Estimate:
    minutes: float
    open_ended: bool
    """True when the estimate falls in the last, open bucket: the time is then "more than `minutes`"."""


@dataclass(frozen=True)
class Feedback:
    week: str
    answer: str
    up: Count
    down: Count

    @property
    def down_share(self) -> float | None:
        """The share of 👎, only when both counts are shown exactly."""
        if self.up.value is None or self.down.value is None or self.up.value + self.down.value == 0:
            return None
        return self.down.value / (self.up.value + self.down.value)


@dataclass
class Report:
    weeks: list[str]
    minimum: int
    tables: list[Table]
    claim_times: list[ClaimTimes]
    feedback: list[Feedback]

    def table(self, name: str) -> Table:
        return next(table for table in self.tables if table.name == name)


# -- weeks -----------------------------------------------------------------------------------------------------


def week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def monday(week: str) -> date:
    year, number = week.split("-W")
    return date.fromisocalendar(int(year), int(number), 1)


def weeks_between(first: str, last: str) -> list[str]:
    start, end = monday(first), monday(last)
    return [week_of(start + timedelta(weeks=n)) for n in range((end - start).days // 7 + 1)]


def last_complete_weeks(count: int, now: datetime) -> list[str]:
    """The `count` weeks before the current one (in Dutch time): only weeks that are over."""
    this_monday = now.astimezone(AMSTERDAM).date() - timedelta(days=now.astimezone(AMSTERDAM).weekday())
    return [week_of(this_monday - timedelta(weeks=n)) for n in range(count, 0, -1)]


# -- suppression -----------------------------------------------------------------------------------------------


def protect(values: Mapping[str, int], minimum: int, complementary: bool) -> dict[str, Count]:
    """Hide small counts in one line (see the module docstring for the rule and why)."""
    small = f"< {minimum}"
    primary = {key for key, value in values.items() if 0 < value < minimum}
    secondary: set[str] = set()
    if complementary and primary:
        shown = sorted((value, key) for key, value in values.items() if value >= minimum)
        hidden_sum = sum(values[key] for key in primary)
        while shown and (hidden_sum < 2 * minimum or not secondary):
            value, key = shown.pop(0)
            secondary.add(key)
            hidden_sum += value
    result: dict[str, Count] = {}
    for key, value in values.items():
        if key in primary:
            result[key] = Count(None, small)
        elif key in secondary:
            result[key] = Count(None, HIDDEN)
        else:
            result[key] = Count(value, str(value))
    return result


def merge_buckets(counts: Sequence[int], minimum: int) -> list[tuple[int, int, int]]:
    """Adjacent claim-time buckets merged until each holds at least `minimum`: (first index, last index, count).
    Empty when all of them together hold fewer."""
    groups: list[tuple[int, int, int]] = []
    start, total = 0, 0
    for index, count in enumerate(counts):
        total += count
        if total >= minimum:
            groups.append((start, index, total))
            start, total = index + 1, 0
    if total and groups:  # a small rest joins the group before it
        first, _, count = groups.pop()
        groups.append((first, len(counts) - 1, count + total))
    elif total:
        return []
    return groups


def bucket_range(first: int, last: int) -> str:
    lower = CLAIM_BUCKETS[first][1].split("-")[0].rstrip("+")
    if last == len(CLAIM_BUCKETS) - 1:
        return f"{lower}+"
    return f"{lower}-{CLAIM_BUCKETS[last + 1][0]:g}"


def percentile(groups: Sequence[tuple[int, int, int]], share: float) -> Estimate | None:
    """The time under which `share` of the cases were claimed, interpolated within a merged bucket."""
    total = sum(count for _, _, count in groups)
    if not total:
        return None
    rank, seen = share * total, 0
    for first, last, count in groups:
        lower = CLAIM_BUCKETS[first][0]
        if seen + count >= rank:
            if last == len(CLAIM_BUCKETS) - 1:
                return Estimate(lower, open_ended=True)
            upper = CLAIM_BUCKETS[last + 1][0]
            return Estimate(lower + (upper - lower) * (rank - seen) / count, open_ended=False)
        seen += count
    return None


# -- building the report ---------------------------------------------------------------------------------------

Raw = dict[tuple[str, str, str, str, str], int]
"""(week, kind, key, audience, language) -> count."""


async def load(session: AsyncSession, weeks: Sequence[str]) -> Raw:
    query = select(
        InsightCount.week,
        InsightCount.kind,
        InsightCount.key,
        InsightCount.audience,
        InsightCount.language,
        InsightCount.tally,
    ).where(InsightCount.week.in_(list(weeks)))
    rows = (await session.execute(query)).all()
    return {(row[0], row[1], row[2], row[3], row[4]): int(row[5]) for row in rows}


def build(raw: Raw, weeks: Sequence[str], minimum: int) -> Report:
    """Everything the outputs show, protected once, here."""
    weeks = list(weeks)

    def sums(kinds: Iterable[str], by: int, rename: Mapping[str, str] | None = None) -> dict[str, dict[str, int]]:
        wanted = set(kinds)
        result: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for (week, kind, key, audience, language), count in raw.items():
            if kind in wanted:
                row = (week, kind, key, audience, language)[by]
                result[week][(rename or {}).get(row, row)] += count
        return result

    message_kinds = [kind.value for kind in MESSAGE_KINDS]
    topics = sums(message_kinds, 2)
    for (week, kind, _, _, _), count in raw.items():  # unsure and out_of_scope have no key: their kind is the row
        if kind in (Kind.UNSURE.value, Kind.OUT_OF_SCOPE.value):
            topics[week][""] -= count
            topics[week][kind] += count
            if not topics[week][""]:
                del topics[week][""]
    tables = [
        _table("onderwerpen", "Vragen per onderwerp", "onderwerp", "topic", topics, weeks, minimum, True),
        _table(
            "doelgroep", "Wie vroeg (doelgroep)", "doelgroep", "audience", sums(message_kinds, 3), weeks, minimum, True
        ),
        _table("taal", "In welke taal", "taal", "language", sums(message_kinds, 4), weeks, minimum, True),
        _table("crisis", "Crisis, per soort", "soort", "crisis", sums([Kind.CRISIS.value], 2), weeks, minimum, True),
        _table(
            "hulpverlener", "Hulpverlener gevraagd", "stap", "handoff", sums(HANDOFF_KINDS, 1), weeks, minimum, False
        ),
    ]
    return Report(weeks, minimum, tables, _claim_times(raw, weeks, minimum), _feedback(raw, weeks, minimum))


def _table(
    name: str,
    title: str,
    row_header: str,
    group: str,
    counts: Mapping[str, Mapping[str, int]],
    weeks: list[str],
    minimum: int,
    complementary: bool,
) -> Table:
    known = list(labels()[group])
    seen = {row for week in weeks for row in counts.get(week, {})}
    rows = [row for row in known if row in seen] + sorted(seen - set(known))
    lines = {
        week: Line(protect({row: counts.get(week, {}).get(row, 0) for row in rows}, minimum, complementary))
        for week in weeks
    }
    return Table(name, title, row_header, rows, {row: label(group, row) for row in rows}, weeks, lines)


def _claim_times(raw: Raw, weeks: list[str], minimum: int) -> list[ClaimTimes]:
    result = []
    index = {name: n for n, (_, name) in enumerate(CLAIM_BUCKETS)}
    for week in weeks:
        counts = [0] * len(CLAIM_BUCKETS)
        for (row_week, kind, key, _, _), count in raw.items():
            if row_week == week and kind == Kind.CLAIM_TIME.value and key in index:
                counts[index[key]] += count
        groups = merge_buckets(counts, minimum)
        buckets = tuple((bucket_range(first, last), count) for first, last, count in groups)
        result.append(ClaimTimes(week, buckets, percentile(groups, 0.5), percentile(groups, 0.9)))
    return result


def _feedback(raw: Raw, weeks: list[str], minimum: int) -> list[Feedback]:
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for (week, kind, key, _, _), count in raw.items():
        if kind in (Kind.FEEDBACK_UP.value, Kind.FEEDBACK_DOWN.value):
            counts[(week, key)][kind == Kind.FEEDBACK_DOWN.value] += count
    result = []
    for (week, answer), (up, down) in sorted(counts.items(), key=lambda item: (weeks.index(item[0][0]), item[0][1])):
        cells = protect({"up": up, "down": down}, minimum, complementary=False)
        result.append(Feedback(week, answer, cells["up"], cells["down"]))
    return result


async def report(session: AsyncSession, weeks: Sequence[str], minimum: int) -> Report:
    return build(await load(session, weeks), weeks, minimum)


# -- /inzichten ------------------------------------------------------------------------------------------------


async def summary(session: AsyncSession, week: str, minimum: int) -> str:
    """The week's counts for the professionals' group, in Dutch, with the same suppression as the page."""
    return summary_text(await report(session, [week], minimum), week)


def summary_text(built: Report, week: str) -> str:
    texts = labels()["summary"]

    def items(name: str) -> str:
        table = built.table(name)
        parts = [f"{table.row_labels[row]} {table.cell(row, week).shown}" for row in table.rows]
        return " · ".join(parts) or texts["nothing"]

    lines = [
        texts["header"].format(week=week, minimum=built.minimum),
        texts["topics"].format(items=items("onderwerpen")),
        texts["audience"].format(items=items("doelgroep")),
        texts["crisis"].format(items=items("crisis")),
        texts["handoff"].format(items=items("hulpverlener")),
    ]
    times = next(times for times in built.claim_times if times.week == week)
    if times.p50 is not None and times.p90 is not None:
        lines.append(texts["claim_time"].format(p50=_minutes(times.p50), p90=_minutes(times.p90)))
    else:
        lines.append(texts["claim_time_few"])
    worst = sorted(
        (item for item in built.feedback if item.week == week and item.down_share is not None),
        key=lambda item: -(item.down_share or 0.0),
    )[:3]
    if worst:
        lines.append(
            texts["feedback"].format(items=" · ".join(f"{i.answer} {i.down.shown}👎/{i.up.shown}👍" for i in worst))
        )
    else:
        lines.append(texts["feedback_none"])
    return "\n".join(lines)


def _minutes(estimate: Estimate) -> str:
    texts = labels()["summary"]
    if estimate.open_ended:
        return texts["at_least"].format(minutes=f"{estimate.minutes:.0f}")
    return texts["minutes"].format(minutes=f"{estimate.minutes:.0f}")


def as_rows(table: Table) -> list[list[Any]]:
    """The table as CSV rows: a header, then one row per row key with what is shown per week."""
    header: list[Any] = [table.row_header, *table.weeks]
    return [
        header,
        *([table.row_labels[row], *(table.cell(row, week).shown for week in table.weeks)] for row in table.rows),
    ]
