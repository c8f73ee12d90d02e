"""The Telegram channel (python-telegram-bot 22): private chats, the professionals' group, guards, the messenger.

Telegram identities stop at this package and the handoff desk: the conversation sees a pseudonymous key, and
nothing here logs a user id, name or message text.
"""
