"""Settings, read once from the environment (and from `.env` through python-dotenv)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from dotenv import load_dotenv

ROOT = Path(__file__).resolve().parent.parent
# How long data is kept (days): closed cases and their relayed-message records; inactive conversation state.
DEFAULT_RETENTION_CASE_DAYS = 30
DEFAULT_RETENTION_STATE_DAYS = 180
# A user's messages answered per window before the gentle slow-down note (see bot.conversation.flood).
DEFAULT_FLOOD_MESSAGES = 8
DEFAULT_FLOOD_SECONDS = 10.0
DEFAULT_WEBHOOK_LISTEN = "0.0.0.0:8080"
DEFAULT_WEBHOOK_PATH = "/telegram"
# Telegram's rule for a webhook's secret token: 1-256 characters, letters, digits, _ and -.
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
# PostgreSQL connections per bot process: kept open, and borrowed beyond that under load. 20 + 10 lets three replicas
# stay within PostgreSQL's default max_connections (100, 3 of them reserved) with room for migrations and psql.
DEFAULT_DB_POOL_SIZE = 15
DEFAULT_DB_POOL_OVERFLOW = 5
# Insight counts below this are shown as "< 10" on the insights page, in its CSV files and in /inzichten.
DEFAULT_INSIGHTS_MIN_CELL = 10


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError as error:
        raise SystemExit(f"{name} must be a number, got {raw!r}") from error


def _days(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise SystemExit(f"{name} must be a whole number of days (1 or more), got {raw!r}")
    return int(raw)


def _min_cell(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 2:
        raise SystemExit(f"{name} must be a whole number of 2 or more (a count below it is never shown), got {raw!r}")
    return int(raw)


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as error:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from error


def _count(name: str, default: int, least: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < least:
        raise SystemExit(f"{name} must be a whole number of {least} or more, got {raw!r}")
    return int(raw)


def _int_or_none(name: str) -> int | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError as error:
        raise SystemExit(
            f"{name} must be a whole number (a group id looks like -1001234567890), got {raw!r}"
        ) from error


@dataclass(frozen=True)
class Settings:
    telegram_token: str | None
    telegram_api_base_url: str | None
    rasa_url: str
    nlu_timeout: float
    nlu_threshold: float
    crisis_threshold: float
    database_url: str
    data_dir: Path
    pseudonym_secret: str | None
    log_level: str
    handoff_chat_id: int | None
    handoff_claim_timeout: float
    handoff_hours: str
    handoff_sweep_seconds: float
    retention_case_days: int = DEFAULT_RETENTION_CASE_DAYS
    retention_state_days: int = DEFAULT_RETENTION_STATE_DAYS
    flood_messages: int = DEFAULT_FLOOD_MESSAGES
    """Messages per user answered within `flood_seconds`; beyond that the bot asks once to slow down."""
    flood_seconds: float = DEFAULT_FLOOD_SECONDS
    webhook_listen: str = DEFAULT_WEBHOOK_LISTEN
    """host:port the webhook server listens on (`python -m bot webhook`)."""
    webhook_path: str = DEFAULT_WEBHOOK_PATH
    webhook_secret: str | None = None
    """Telegram sends it in X-Telegram-Bot-Api-Secret-Token; a request without it is refused."""
    webhook_url: str | None = None
    """The public https address Telegram calls (with the path); set, the bot registers it at start."""

    @property
    def listen_host_port(self) -> tuple[str, int]:
        host, _, port = self.webhook_listen.rpartition(":")
        return host.strip("[]") or "0.0.0.0", int(port)

    insights_min_cell: int = DEFAULT_INSIGHTS_MIN_CELL
    """Anonymous insight counts below this are never shown (see bot.insights.report)."""
    answer_feedback: bool = True
    """👍/👎 under the first answer of each topic, counted in the anonymous insights (ANSWER_FEEDBACK=off: none)."""
    handoff_routing: Path | None = None
    """A routing file (handoff/routing.yml explains it): several professionals' groups, chosen per case. None: the
    one group of `handoff_chat_id` takes every case."""
    db_pool_size: int = DEFAULT_DB_POOL_SIZE
    """PostgreSQL connections each process keeps (SQLite: not used)."""
    db_pool_overflow: int = DEFAULT_DB_POOL_OVERFLOW
    """Connections it may open beyond those under load, closed again when returned."""

    def __repr__(self) -> str:
        """Never print secrets, also not by accident in a traceback."""
        return f"Settings(rasa_url={self.rasa_url!r}, database_url={_redact(self.database_url)!r})"


def _redact(url: str) -> str:
    scheme, _, rest = url.partition("://")
    if "@" in rest:
        rest = "***@" + rest.split("@", 1)[1]
    return f"{scheme}://{rest}"


def load_settings(env_file: Path | None = ROOT / ".env") -> Settings:
    """Read the settings; variables already set in the environment win over `.env`."""
    if env_file is not None and env_file.exists():
        load_dotenv(env_file, override=False)
    data_dir = Path(os.environ.get("DATA_DIR", "") or ROOT / "data")
    port = os.environ.get("RASA_PORT", "").strip() or "5005"
    return Settings(
        telegram_token=os.environ.get("TELEGRAM_BOT_TOKEN", "").strip() or None,
        telegram_api_base_url=os.environ.get("TELEGRAM_API_BASE_URL", "").strip() or None,
        rasa_url=os.environ.get("RASA_URL", "").strip() or f"http://127.0.0.1:{port}",
        nlu_timeout=_float("NLU_TIMEOUT", 1.0),
        nlu_threshold=_float("NLU_THRESHOLD", 0.45),
        crisis_threshold=_float("NLU_CRISIS_THRESHOLD", 0.5),
        database_url=os.environ.get("DATABASE_URL", "").strip() or f"sqlite+aiosqlite:///{data_dir / 'bot.sqlite3'}",
        data_dir=data_dir,
        pseudonym_secret=os.environ.get("PSEUDONYM_SECRET", "").strip() or None,
        log_level=os.environ.get("LOG_LEVEL", "").strip().upper() or "INFO",
        handoff_chat_id=_int_or_none("HANDOFF_CHAT_ID"),
        handoff_claim_timeout=_float("HANDOFF_CLAIM_TIMEOUT", 300.0),
        handoff_hours=os.environ.get("HANDOFF_HOURS", "").strip() or "mon-fri 09:00-17:00",
        handoff_sweep_seconds=_float("HANDOFF_SWEEP_SECONDS", 15.0),
        retention_case_days=_days("RETENTION_CASE_DAYS", DEFAULT_RETENTION_CASE_DAYS),
        retention_state_days=_days("RETENTION_STATE_DAYS", DEFAULT_RETENTION_STATE_DAYS),
        flood_messages=_int("FLOOD_MESSAGES", DEFAULT_FLOOD_MESSAGES),
        flood_seconds=_float("FLOOD_SECONDS", DEFAULT_FLOOD_SECONDS),
        webhook_listen=_listen("WEBHOOK_LISTEN", DEFAULT_WEBHOOK_LISTEN),
        webhook_path=_path("WEBHOOK_PATH", DEFAULT_WEBHOOK_PATH),
        webhook_secret=os.environ.get("WEBHOOK_SECRET", "").strip() or None,
        webhook_url=os.environ.get("WEBHOOK_URL", "").strip() or None,
        insights_min_cell=_min_cell("INSIGHTS_MIN_CELL", DEFAULT_INSIGHTS_MIN_CELL),
        handoff_routing=_file_or_none("HANDOFF_ROUTING"),
        answer_feedback=_switch("ANSWER_FEEDBACK", True),
        db_pool_size=_count("DB_POOL_SIZE", DEFAULT_DB_POOL_SIZE, 1),
        db_pool_overflow=_count("DB_POOL_OVERFLOW", DEFAULT_DB_POOL_OVERFLOW, 0),
    )


def _switch(name: str, default: bool) -> bool:
    raw = os.environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw not in ("on", "off", "true", "false", "1", "0", "yes", "no"):
        raise SystemExit(f"{name} must be on or off, got {raw!r}")
    return raw in ("on", "true", "1", "yes")


def _file_or_none(name: str) -> Path | None:
    """A path from the environment; a relative one is read from the project's folder (where `make` runs)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    path = Path(raw)
    return path if path.is_absolute() else ROOT / path


def _listen(name: str, default: str) -> str:
    raw = os.environ.get(name, "").strip() or default
    _, colon, port = raw.rpartition(":")
    if not colon or not port.isdigit() or not 0 < int(port) < 65536:
        raise SystemExit(f"{name} must be host:port, e.g. 0.0.0.0:8080, got {raw!r}")
    return raw


def _path(name: str, default: str) -> str:
    raw = os.environ.get(name, "").strip() or default
    if not raw.startswith("/") or raw in ("/healthz", "/readyz", "/metrics"):
        raise SystemExit(f"{name} must be a path starting with / (not /healthz, /readyz or /metrics), got {raw!r}")
    return raw


def check_for_production(settings: Settings, webhook: bool) -> None:
    """Refuse, in one line, to start a deployment without the secrets it needs.

    A generated PSEUDONYM_SECRET lives in one container's DATA_DIR: with PostgreSQL (several processes, or a new
    container) or behind a webhook (a deployment) a lost or second secret silently makes every user a stranger.
    """
    postgres = settings.database_url.startswith("postgresql")
    if settings.pseudonym_secret is None and (webhook or postgres):
        why = "webhook mode" if webhook else "a PostgreSQL DATABASE_URL"
        raise SystemExit(
            f"Cannot start: PSEUDONYM_SECRET must be set with {why}, or users' keys change with the generated one."
        )
    if webhook and settings.webhook_secret is None:
        raise SystemExit("Cannot start: WEBHOOK_SECRET must be set in webhook mode, or anyone can send fake updates.")
    if webhook and not _SECRET_TOKEN.fullmatch(settings.webhook_secret or ""):
        raise SystemExit("Cannot start: WEBHOOK_SECRET may hold only letters, digits, _ and - (1 to 256 of them).")
