"""Command line: `python -m bot chat | understand [--no-nlu] | telegram | webhook | run | migrate | purge |
content | insights`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import sys
from pathlib import Path

from bot import app
from bot.channels import console
from bot.config import check_for_production, load_settings
from bot.storage.schema import SchemaError, verify
from bot.understanding.cli import run as run_understand
from bot.understanding.topics import ANSWERED_INTENTS

logger = logging.getLogger("bot")


async def _chat() -> None:
    services = await app.build(load_settings())
    try:
        await console.chat(services.pipeline, services.pseudonyms.key("console", console.CONSOLE_USER))
    finally:
        await services.aclose()


async def _understand(use_nlu: bool) -> None:
    understander, nlu = app.understanding(load_settings(), use_nlu)
    try:
        await run_understand(understander)
    finally:
        if nlu is not None:
            await nlu.aclose()


async def _migrate() -> None:
    before, after = await app.migrate(load_settings())
    if before == after:
        print(f"The database is up to date (migration {after}).")
    else:
        print(f"The database was migrated from {before or 'empty'} to {after}.")


async def _purge() -> None:
    settings = load_settings()
    database = app.open_database(settings)
    try:
        await verify(database)
        purged = await app.retention(settings, database).purge()
    finally:
        await database.dispose()
    print(f"Removed {purged.cases} cases and {purged.conversations} conversations past their retention.")


async def _insights(out: Path, weeks: list[str]) -> None:
    from datetime import date

    from bot.insights import page, report  # imported here: only this command needs plotly

    settings = load_settings()
    database = app.open_database(settings)
    try:
        await verify(database)
        async with database.sessions() as session:
            built = await report.report(session, weeks, settings.insights_min_cell)
    finally:
        await database.dispose()
    written = page.write(built, out, date.today())
    print(f"Wrote {len(written)} files for weeks {weeks[0]} to {weeks[-1]} in {out} (open {written[0]}).")


def _insight_weeks(args: argparse.Namespace) -> list[str]:
    """The weeks asked for: --from/--to, or the last --weeks weeks that are over."""
    from datetime import UTC, datetime

    from bot.insights.report import last_complete_weeks, weeks_between

    if args.first or args.last:
        last = args.last or last_complete_weeks(1, datetime.now(UTC))[-1]
        return weeks_between(args.first or last, last)
    return last_complete_weeks(args.weeks, datetime.now(UTC))


def _week(value: str) -> str:
    if not re.fullmatch(r"[0-9]{4}-W[0-9]{2}", value):
        raise argparse.ArgumentTypeError(f"a week looks like 2026-W49, got {value!r}")
    return value


def _telegram() -> None:
    from bot.channels.telegram.application import run_polling  # imported here: the console needs no Telegram stack

    settings = load_settings()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        application, services = loop.run_until_complete(app.build_telegram(settings))
    except BaseException:
        loop.close()
        raise
    try:
        run_polling(application)
    finally:
        loop.run_until_complete(services.aclose())
        loop.close()


async def _webhook() -> None:
    from bot.channels.telegram.webhook import serve  # imported here: the console needs no web server

    await serve(load_settings())


def _content() -> int:
    """Check responses/ and print the content report; exit 1 with the reason when the content is broken."""
    from datetime import date

    from bot.content import Content, ContentError

    try:
        content = Content.load(required=ANSWERED_INTENTS)
    except ContentError as error:
        print(f"Content check failed: {error}", file=sys.stderr)
        return 1
    for line in content.report(date.today()).lines():
        print(line)
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except SchemaError as error:
        print(f"Cannot start: {error}", file=sys.stderr)
        return 2


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("chat", help="chat in the terminal (one message per line)")
    understand = sub.add_parser("understand", help="one message per line in, one JSON object per line out")
    understand.add_argument("--no-nlu", action="store_true", help="use the safety net only")
    sub.add_parser("telegram", help="run on Telegram, polling for updates (needs TELEGRAM_BOT_TOKEN)")
    sub.add_parser("webhook", help="run on Telegram, updates by webhook (needs TELEGRAM_BOT_TOKEN, WEBHOOK_SECRET)")
    sub.add_parser("run", help="Telegram when TELEGRAM_BOT_TOKEN is set, otherwise the console chat")
    sub.add_parser("content", help="check responses/ and print the content report")
    sub.add_parser("migrate", help="create or upgrade the database schema (the bot refuses an unmigrated database)")
    sub.add_parser("purge", help="remove cases and conversation state past their retention; prints counts")
    insights = sub.add_parser("insights", help="write the anonymous insights page (index.html) and CSV files to --out")
    insights.add_argument("--out", type=Path, required=True, help="folder for index.html and the CSV files")
    insights.add_argument("--weeks", type=int, default=12, help="the last N weeks that are over (default 12)")
    insights.add_argument("--from", dest="first", type=_week, help="first ISO week, e.g. 2026-W40")
    insights.add_argument("--to", dest="last", type=_week, help="last ISO week, e.g. 2026-W49")
    args = parser.parse_args(argv)
    if args.command == "content":
        return _content()

    settings = load_settings()
    # Console and understand write to stdout; keep logs on stderr and quiet unless something is wrong.
    app.configure_logging(settings.log_level if args.command in ("telegram", "webhook", "run") else "WARNING")
    command = args.command
    if command == "run":
        command = "telegram" if settings.telegram_token else "chat"
    if command in ("chat", "telegram", "webhook"):
        check_for_production(settings, webhook=command == "webhook")
    if command == "chat":
        try:
            asyncio.run(_chat())
        except KeyboardInterrupt:
            print()  # Ctrl-C ends the chat quietly; the conversation state is already saved
    elif command == "understand":
        asyncio.run(_understand(use_nlu=not args.no_nlu))
    elif command == "migrate":
        asyncio.run(_migrate())
    elif command == "purge":
        asyncio.run(_purge())
    elif command == "webhook":
        if not settings.telegram_token:
            raise SystemExit("Cannot start: TELEGRAM_BOT_TOKEN must be set in webhook mode.")
        asyncio.run(_webhook())
    elif command == "insights":
        asyncio.run(_insights(args.out, _insight_weeks(args)))
    else:
        _telegram()
    return 0


if __name__ == "__main__":
    sys.exit(main())
