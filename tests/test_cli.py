"""The command line as a user runs it (`understand`, `migrate`, `chat`, `purge`), as subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from bot.config import ROOT


def run_bot(
    args: list[str], stdin: str, tmp_path: Path, check: bool = True, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "DATA_DIR": str(tmp_path),
        "PSEUDONYM_SECRET": "cli-test",
        "RASA_URL": "http://127.0.0.1:9",  # nothing listens there: the NLU service is unreachable
        "NLU_TIMEOUT": "1",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        timeout=60,
        check=check,
    )


MESSAGES = "ik wil niet meer leven\nhoe regel ik een bezoek\nthis waiting is killing me\n\nmn stiefvader slaat me\n"


def test_understand_without_nlu_answers_every_line_from_the_safety_net(tmp_path: Path) -> None:
    result = run_bot(["understand", "--no-nlu"], MESSAGES, tmp_path)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in records] == MESSAGES.splitlines()
    assert {r["topic"] for r in records} == {"unknown"}
    assert [r["risk"] for r in records] == ["acute", "none", "none", "none", "acute"]
    assert [r["language"] for r in records][:3] == ["nl", "nl", "en"]
    assert set(records[0]) == {"text", "topic", "intent", "confidence", "risk", "language"}


def test_understand_needs_no_database(tmp_path: Path) -> None:
    """The contract works on a fresh clone before any database exists, and beside one it cannot use."""
    (tmp_path / "bot.sqlite3").write_bytes(b"not a database")
    result = run_bot(["understand", "--no-nlu"], "hallo\n", tmp_path)
    assert json.loads(result.stdout)["risk"] == "none"
    assert (tmp_path / "bot.sqlite3").read_bytes() == b"not a database"


def test_understand_falls_back_when_the_nlu_service_cannot_be_reached(tmp_path: Path) -> None:
    result = run_bot(["understand"], MESSAGES, tmp_path)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 5
    assert {r["topic"] for r in records} == {"unknown"}
    assert records[0]["risk"] == "acute"


def test_the_bot_refuses_an_unmigrated_database_and_says_what_to_run(tmp_path: Path) -> None:
    result = run_bot(["chat"], "hallo\n", tmp_path, check=False)
    assert result.returncode == 2
    assert (
        "Cannot start: The database has no tables yet. Run make migrate (or: python -m bot migrate)." in result.stderr
    )
    assert result.stdout == ""


def test_migrate_creates_the_schema_once_then_purge_reports_counts(tmp_path: Path) -> None:
    assert "migrated from empty to" in run_bot(["migrate"], "", tmp_path).stdout
    assert run_bot(["purge"], "", tmp_path).stdout == "Removed 0 cases and 0 conversations past their retention.\n"


def test_console_chat_with_piped_stdin_and_no_nlu_service(tmp_path: Path) -> None:
    run_bot(["migrate"], "", tmp_path)
    result = run_bot(["chat"], "2\nhoe regel ik een bezoek\n1\nik wil dood\n/foo\n", tmp_path)
    out = result.stdout
    assert "Wie ben jij?" in out
    assert "[1] Op bezoek" in out  # the menu offered during the outage, as numbered options
    assert "Het bezoek regelt" in out or "bezoek" in out.split("you> 1", 1)[1]
    assert "113" in out.split("you> ik wil dood", 1)[1]
    assert "Dat commando ken ik niet" in out


def test_webhook_mode_refuses_to_start_without_a_pseudonym_secret(tmp_path: Path) -> None:
    env = {"PSEUDONYM_SECRET": "", "TELEGRAM_BOT_TOKEN": "123:abc", "WEBHOOK_SECRET": "s3cret"}
    result = run_bot(["webhook"], "", tmp_path, check=False, **env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Cannot start: PSEUDONYM_SECRET must be set with webhook mode, or users' keys change with the generated one."
    ]
    assert not (tmp_path / "pseudonym.secret").exists()


def test_postgresql_refuses_to_start_without_a_pseudonym_secret(tmp_path: Path) -> None:
    env = {"PSEUDONYM_SECRET": "", "DATABASE_URL": "postgresql+asyncpg://bot:bot@127.0.0.1:9/bot"}
    result = run_bot(["chat"], "hallo\n", tmp_path, check=False, **env)
    assert result.returncode == 1
    assert "PSEUDONYM_SECRET must be set with a PostgreSQL DATABASE_URL" in result.stderr


def test_webhook_mode_refuses_to_start_without_a_webhook_secret(tmp_path: Path) -> None:
    result = run_bot(["webhook"], "", tmp_path, check=False, TELEGRAM_BOT_TOKEN="123:abc", WEBHOOK_SECRET="")
    assert result.returncode == 1
    assert "WEBHOOK_SECRET must be set in webhook mode" in result.stderr
