"""Pseudonymous keys and settings that must not leak."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from bot.config import load_settings
from bot.pseudonym import Pseudonymiser, load_or_create_secret


def test_keys_are_stable_keyed_and_do_not_contain_the_id() -> None:
    one, other = Pseudonymiser(b"secret-one"), Pseudonymiser(b"secret-two")
    key = one.key("telegram", 424242)
    assert key == one.key("telegram", 424242)
    assert key != other.key("telegram", 424242) != one.key("telegram", 424243)
    assert "424242" not in key and len(key) == 64


def test_a_secret_is_created_once_readable_by_the_owner_only(tmp_path: Path) -> None:
    first = load_or_create_secret(None, tmp_path)
    assert load_or_create_secret(None, tmp_path) == first
    mode = stat.S_IMODE((tmp_path / "pseudonym.secret").stat().st_mode)
    assert mode == 0o600
    assert load_or_create_secret("configured", tmp_path) == b"configured"


def test_settings_repr_hides_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:SECRET-TOKEN")
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://bot:hunter2@db/bot")
    monkeypatch.setenv("PSEUDONYM_SECRET", "pepper")
    settings = load_settings(env_file=None)
    text = repr(settings)
    assert "SECRET-TOKEN" not in text and "hunter2" not in text and "pepper" not in text
    assert settings.telegram_token == "123:SECRET-TOKEN"


def test_retention_days_default_to_30_and_180_and_reject_nonsense(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RETENTION_CASE_DAYS", raising=False)
    monkeypatch.setenv("RETENTION_STATE_DAYS", "")
    settings = load_settings(env_file=None)
    assert (settings.retention_case_days, settings.retention_state_days) == (30, 180)
    monkeypatch.setenv("RETENTION_CASE_DAYS", "7")
    assert load_settings(env_file=None).retention_case_days == 7
    for wrong in ("0", "-3", "twee", "1.5"):
        monkeypatch.setenv("RETENTION_STATE_DAYS", wrong)
        with pytest.raises(SystemExit, match="RETENTION_STATE_DAYS"):
            load_settings(env_file=None)
