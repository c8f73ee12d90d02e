"""Encrypted references to a user's chat, so a professional's reply can reach the user during a handoff.

A live handoff needs the Telegram chat id; it is stored only inside an open case, encrypted (Fernet: AES-128-CBC
with HMAC-SHA256, `bot.storage.sealed`) with a key derived from the pseudonym secret, and wiped when the case closes.
"""

from __future__ import annotations

from bot.storage.sealed import Sealer

PURPOSE = b"chat-reference-key"


class ChatRefs:
    def __init__(self, secret: bytes) -> None:
        self._sealer = Sealer(secret, PURPOSE)

    def seal(self, chat_id: int) -> str:
        return self._sealer.seal(str(chat_id))

    def open(self, sealed: str) -> int:
        try:
            return int(self._sealer.open(sealed))
        except ValueError as error:
            raise ValueError("chat reference cannot be read with this secret") from error
