"""Encrypted references to a user's chat, so a professional's reply can reach the user during a handoff.

A live handoff needs the Telegram chat id; it is stored only inside an open case, encrypted (Fernet: AES-128-CBC
with HMAC-SHA256) with a key derived from the pseudonym secret, and wiped when the case closes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken


class ChatRefs:
    def __init__(self, secret: bytes) -> None:
        key = hmac.new(secret, b"chat-reference-key", hashlib.sha256).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, chat_id: int) -> str:
        return self._fernet.encrypt(str(chat_id).encode()).decode()

    def open(self, sealed: str) -> int:
        try:
            return int(self._fernet.decrypt(sealed.encode()))
        except (InvalidToken, ValueError) as error:
            raise ValueError("chat reference cannot be read with this secret") from error
