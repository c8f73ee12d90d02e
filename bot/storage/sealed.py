"""Sealing short texts at rest: Fernet (AES-128-CBC with HMAC-SHA256) under a key derived from the pseudonym secret,
one key per purpose, so that a copy of the database alone reveals nothing (`handoff.chatref`, the recent messages).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken


class Sealer:
    def __init__(self, secret: bytes, purpose: bytes) -> None:
        key = hmac.new(secret, purpose, hashlib.sha256).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    @classmethod
    def of_this_process(cls, purpose: bytes) -> Sealer:
        """A key that dies with the process (tests, a pipeline built without the secret): fine for one process."""
        return cls(secrets.token_bytes(32), purpose)

    def seal(self, text: str) -> str:
        return self._fernet.encrypt(text.encode()).decode()

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except (InvalidToken, UnicodeDecodeError) as error:
            raise ValueError("a sealed text cannot be read with this secret") from error
