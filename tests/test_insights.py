"""Anonymous insights: counters bumped in the caller's unit of work (SQLite and PostgreSQL), and a report, a page,
CSV files and a group summary in which no small count appears, exactly or worked out from the others."""

from __future__ import annotations

import asyncio
import csv
import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, select

from bot.config import ROOT
from bot.insights.recorder import HandoffEvent, Recorder, claim_bucket, iso_week
from bot.insights.report import build, load, merge_buckets, percentile, summary
from bot.storage.models import Database, InsightCount

MINIMUM = 10
WEEK, NEXT = "2026-W49", "2026-W50"
THURSDAY = datetime(2026, 12, 3, 14, 0, tzinfo=UTC)  # in 2026-W49
SECRET_KEY = "a" * 64  # what a user key looks like; it must never reach the counters

# (week, kind, key, audience, language) -> count: large and small counts, a few with distinctive small values.
SEED: dict[tuple[str, str, str, str, str], int] = {
    (WEEK, "topic", "visit", "parent", "nl"): 25,
    (WEEK, "topic", "visit", "youth", "nl"): 12,
    (WEEK, "topic", "contact", "parent", "nl"): 14,
    (WEEK, "topic", "feelings", "youth", "nl"): 3,
    (WEEK, "topic", "stigma", "parent", "en"): 7,
    (WEEK, "topic", "practical", "professional", "nl"): 31,
    (WEEK, "unsure", "", "parent", "nl"): 11,
    (WEEK, "out_of_scope", "", "", "nl"): 2,
    (WEEK, "crisis", "suicidal", "youth", "nl"): 4,
    (WEEK, "crisis", "violence", "parent", "nl"): 12,
    (WEEK, "handoff_offered", "", "parent", "nl"): 15,
    (WEEK, "handoff_accepted", "", "parent", "nl"): 12,
    (WEEK, "handoff_claimed", "", "parent", "nl"): 11,
    (WEEK, "handoff_out_of_hours", "", "parent", "nl"): 3,
    (WEEK, "claim_time", "0-5", "", ""): 6,
    (WEEK, "claim_time", "5-15", "", ""): 5,
    (WEEK, "feedback_up", "visit_costs", "parent", "nl"): 14,
    (WEEK, "feedback_down", "visit_costs", "parent", "nl"): 10,
    (WEEK, "feedback_up", "contact_video", "parent", "nl"): 3,
    (WEEK, "feedback_down", "contact_video", "parent", "nl"): 12,
    (WEEK, "feedback_up", "feelings_loyalty", "youth", "nl"): 2,
    (WEEK, "feedback_down", "feelings_loyalty", "youth", "nl"): 1,
    (NEXT, "topic", "visit", "parent", "nl"): 5,
}
SHOWN_MARKS = {f"< {MINIMUM}", "verborgen", "0"}


async def seed(database: Database) -> None:
    async with database.sessions.begin() as session:
        for (week, kind, key, audience, language), tally in SEED.items():
            session.add(InsightCount(week=week, kind=kind, key=key, audience=audience, language=language, tally=tally))


def small_published(value: str) -> bool:
    """A published cell that gives away a count from 1 to MINIMUM - 1."""
    return value.isdigit() and 0 < int(value) < MINIMUM


# -- counting -------------------------------------------------------------------------------------------------


async def counters(database: Database) -> dict[tuple[str, str, str, str, str], int]:
    async with database.sessions() as session:
        return await load(session, [WEEK])


async def test_the_same_thing_counted_twice_is_one_counter_at_two(database: Database) -> None:
    recorder = Recorder(clock=lambda: THURSDAY)
    for _ in range(2):
        async with database.sessions.begin() as session:
            await recorder.topic(session, "visit", "parent", "nl")
    async with database.sessions.begin() as session:
        await recorder.topic(session, "visit", "youth", "nl")
        await recorder.feedback(session, "visit_costs", False, "youth", "nl")
        await recorder.claim_time(session, 7.5)
        await recorder.handoff(session, HandoffEvent.CLAIMED, None, "nl")
    assert await counters(database) == {
        (WEEK, "topic", "visit", "parent", "nl"): 2,
        (WEEK, "topic", "visit", "youth", "nl"): 1,
        (WEEK, "feedback_down", "visit_costs", "youth", "nl"): 1,
        (WEEK, "claim_time", "5-15", "", ""): 1,
        (WEEK, "handoff_claimed", "", "", "nl"): 1,
    }


async def test_counting_is_part_of_the_callers_unit_of_work(database: Database) -> None:
    """A message whose unit of work fails is not counted: the recorder commits nothing of its own."""
    recorder = Recorder(clock=lambda: THURSDAY)
    with pytest.raises(RuntimeError):
        async with database.sessions.begin() as session:
            await recorder.crisis(session, "suicidal", "youth", "nl")
            raise RuntimeError("the step failed")
    assert await counters(database) == {}


async def test_counts_from_units_of_work_at_the_same_moment_all_arrive(database: Database) -> None:
    recorder = Recorder(clock=lambda: THURSDAY)

    async def one() -> None:
        async with database.sessions.begin() as session:
            await recorder.unsure(session, "parent", "nl")

    await asyncio.gather(*(one() for _ in range(8)))
    assert await counters(database) == {(WEEK, "unsure", "", "parent", "nl"): 8}


async def test_a_counter_holds_no_user_key_no_text_and_no_time_finer_than_the_week(database: Database) -> None:
    recorder = Recorder(clock=lambda: THURSDAY)
    async with database.sessions.begin() as session:
        await recorder.topic(session, "ik wil weten hoe laat ik mag bellen", SECRET_KEY, "nl")
        await recorder.feedback(session, SECRET_KEY, True, "parent", "xx")
    async with database.engine.connect() as connection:
        columns = await connection.run_sync(
            lambda sync: [c["name"] for c in inspect(sync).get_columns("insight_counts")]
        )
    assert set(columns) == {"id", "week", "kind", "key", "audience", "language", "tally"}
    async with database.sessions() as session:
        rows = (await session.scalars(select(InsightCount))).all()
    stored = {(row.week, row.kind, row.key, row.audience, row.language) for row in rows}
    assert stored == {(WEEK, "topic", "other", "", "nl"), (WEEK, "feedback_up", "other", "parent", "")}


def test_weeks_and_claim_buckets_are_read_in_dutch_time() -> None:
    assert iso_week(datetime(2026, 12, 6, 23, 30, tzinfo=UTC)) == "2026-W50"  # Monday 00:30 in Amsterdam
    assert iso_week(datetime(2027, 1, 1, 12, 0, tzinfo=UTC)) == "2026-W53"
    assert [claim_bucket(m) for m in (-1, 0, 4.9, 5, 29, 59.9, 60, 239, 240, 9999)] == [
        "0-5", "0-5", "0-5", "5-15", "15-30", "30-60", "60-240", "60-240", "240+", "240+",
    ]  # fmt: skip


# -- the report -------------------------------------------------------------------------------------------------


def test_no_small_count_can_be_worked_out_from_a_week_total() -> None:
    """The week's total is known from any line shown in full; total minus the shown topics must never be a
    single small count."""
    built = build(SEED, [WEEK, NEXT], MINIMUM)
    for week in (WEEK, NEXT):
        total = sum(n for (w, kind, *_), n in SEED.items() if w == week and kind in ("topic", "unsure", "out_of_scope"))
        for name in ("onderwerpen", "doelgroep", "taal"):
            table = built.table(name)
            shown = [table.cell(row, week).value for row in table.rows]
            hidden = total - sum(value for value in shown if value is not None)
            assert (
                hidden == 0
                or (hidden >= 2 * MINIMUM and sum(value is None for value in shown) >= 2)
                or all(value in (None, 0) for value in shown)  # the whole week is small: nothing else is shown
            ), (name, week, hidden)
    assert built.table("onderwerpen").cell("visit", WEEK).shown == "37"
    assert built.table("onderwerpen").cell("feelings", WEEK).shown == f"< {MINIMUM}"


def test_claim_times_are_estimated_from_merged_buckets_only() -> None:
    groups = merge_buckets([6, 5, 0, 0, 0, 0], MINIMUM)
    assert groups == [(0, 1, 11)]  # 6 and 5 alone are too small: one bucket of 0-15 minutes
    assert merge_buckets([3, 2, 0, 0, 0, 1], MINIMUM) == []  # six claims: no times at all
    p50, p90 = percentile(groups, 0.5), percentile(groups, 0.9)
    assert p50 is not None and p90 is not None and 0 < p50.minutes < p90.minutes <= 15
    built = build(SEED, [WEEK], MINIMUM)
    assert built.claim_times[0].buckets == (("0-15", 11),)


async def test_the_group_summary_shows_large_counts_and_hides_small_ones(database: Database) -> None:
    await seed(database)
    async with database.sessions() as session:
        text = await summary(session, WEEK, MINIMUM)
    assert "bezoek 37" in text
    assert f"gevoelens < {MINIMUM}" in text
    assert "contact_video 12👎/< 10👍" not in text  # a share needs both counts shown
    assert "visit_costs 10👎/14👍" in text
    counts = "\n".join(line for line in text.splitlines() if not line.startswith("Tijd tot oppakken"))
    numbers = {int(n) for n in re.findall(r"(?<![\w-])\d+(?![\w-])", counts)}
    assert not {n for n in numbers if 0 < n < MINIMUM} - {MINIMUM}, text
    assert SECRET_KEY not in text


# -- the page and the CSV files ---------------------------------------------------------------------------------


def write_page(database_url: str, out: Path) -> None:
    environment = {**os.environ, "DATABASE_URL": database_url, "INSIGHTS_MIN_CELL": str(MINIMUM)}
    subprocess.run(
        [sys.executable, "-m", "bot", "insights", "--out", str(out), "--from", WEEK, "--to", NEXT],
        cwd=ROOT,
        env=environment,
        check=True,
        capture_output=True,
        timeout=120,
    )


def csv_files(folder: Path) -> dict[str, Path]:
    return {path.stem: path for path in folder.glob("*.csv")}


COUNT_COLUMNS = re.compile(r"^(2026-W\d\d|aantal|nuttig \(👍\)|niet nuttig \(👎\))$")


async def test_no_csv_cell_gives_away_a_small_count(database: Database, database_url: str, tmp_path: Path) -> None:
    await seed(database)
    write_page(database_url, tmp_path)
    files = csv_files(tmp_path)
    assert set(files) >= {"onderwerpen", "doelgroep", "taal", "crisis", "hulpverlener", "wachttijd", "nuttig"}
    marks: dict[str, int] = defaultdict(int)
    for name, path in files.items():
        with path.open(encoding="utf-8") as handle:
            header, *rows = list(csv.reader(handle))
        for row in rows:
            for column, value in zip(header, row, strict=True):
                if COUNT_COLUMNS.match(column):
                    assert value in SHOWN_MARKS or (value.isdigit() and int(value) >= MINIMUM), (name, column, value)
                    marks[value] += 1
    assert marks[f"< {MINIMUM}"] and marks["verborgen"]
    everything = "".join(path.read_text(encoding="utf-8") for path in files.values())
    assert SECRET_KEY not in everything


# -- the page in a real browser --------------------------------------------------------------------------------


def chromium() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail("no Chromium: in CI the page must be rendered (bash .ci/chromium installs it)")
        pytest.skip("Chromium not installed: bash .ci/chromium installs Debian's package")
    return path


def browser(*args: str) -> str:
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [
                chromium(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=10000",
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
    return result.stdout


def file_size(path: Path) -> int:
    return path.stat().st_size


def section(dom: str, chart: str) -> str:
    start = dom.index(f'id="chart-{chart}"')
    end = dom.find("<h2", start)
    return dom[start:end]


def cells(dom: str) -> list[str]:
    """The text of every table cell that holds a count (the p50/p90 table holds minutes, not people)."""
    dom = re.sub(r'<table id="table-wachttijd_schatting">.*?</table>', "", dom, flags=re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in re.findall(r"<td>(.*?)</td>", dom, re.S)]


async def test_the_page_draws_every_chart_and_shows_no_small_count(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    await seed(database)
    out = tmp_path / "page"
    write_page(database_url, out)
    page = (out / "index.html").read_text(encoding="utf-8")
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=", page), "the page must load nothing from outside"
    dom = browser("--dump-dom", (out / "index.html").as_uri())
    for chart in ("onderwerpen", "doelgroep", "wachttijd", "nuttig"):
        assert 'class="main-svg"' in section(dom, chart), f"the chart {chart} was not drawn"
    shown = cells(dom)
    assert f"< {MINIMUM}" in shown and "37" in shown
    assert not [cell for cell in shown if small_published(cell) and not cell.startswith("2026")], shown
    assert SECRET_KEY not in dom
    screenshot = Path(os.environ.get("INSIGHTS_SCREENSHOT", out / "screenshot.png"))
    browser(f"--screenshot={screenshot}", "--window-size=1280,2400", (out / "index.html").as_uri())
    assert file_size(screenshot) > 10_000


# -- /inzichten in the professionals' group ----------------------------------------------------------------------


async def test_inzichten_gives_members_last_weeks_counts_and_outsiders_nothing(database: Database, content) -> None:
    from datetime import timedelta

    from bot.app import live_handoff
    from handoff.hours import OfficeHours
    from handoff.professionals import Professionals
    from tests.fakes import RecordingMessenger

    recorder = Recorder(clock=lambda: THURSDAY)
    async with database.sessions.begin() as session:
        for topic, times in (("visit", 30), ("practical", 11), ("contact", 9)):
            for _ in range(times):
                await recorder.topic(session, topic, "parent", "nl")
    tuesday_after = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)  # last week is 2026-W49

    def desk(members: bool) -> Professionals:
        messenger = RecordingMessenger(members=None if members else set())
        return live_handoff(
            database,
            messenger,
            content,
            b"test-secret",
            OfficeHours.parse("always"),
            timedelta(minutes=5),
            clock=lambda: tuesday_after,
        ).professionals

    text = await desk(members=True).insights(42, MINIMUM)
    assert text is not None and WEEK in text
    # contact (9) is hidden, and so is the smallest shown topic with it: the total must not give contact away.
    assert "bezoek 30" in text and f"contact < {MINIMUM}" in text and "praktische zaken verborgen" in text
    assert await desk(members=False).insights(42, MINIMUM) is None
