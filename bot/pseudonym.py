"""Pseudonymous user keys: a keyed hash (HMAC-SHA256) of the channel and the channel's user id.

Without the secret the key cannot be turned back into a Telegram id, and the id itself is never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path


def load_or_create_secret(configured: str | None, data_dir: Path) -> bytes:
    """The configured secret, or one created on first run in the data folder, readable by the owner only."""
    if configured:
        return configured.encode()
    path = data_dir / "pseudonym.secret"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


class Pseudonymiser:
    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def key(self, channel: str, user_id: int | str) -> str:
        return hmac.new(self._secret, f"{channel}:{user_id}".encode(), hashlib.sha256).hexdigest()
