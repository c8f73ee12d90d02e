"""The console chat: the same pipeline and state as Telegram, in a terminal or on piped stdin.

Buttons are shown as numbered options; typing the number presses the button. Slash commands work as on Telegram.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from bot.conversation.pipeline import Pipeline
from bot.replies import Button, Reply, Sender

CONSOLE_USER = "console-user"


def render(replies: list[Reply], out: TextIO) -> tuple[Button, ...]:
    """Print replies; return the buttons now on offer (those of the last reply that has any)."""
    offered: tuple[Button, ...] = ()
    for reply in replies:
        out.write(f"bot> {reply.text.rstrip()}\n".replace("\n", "\n     ").rstrip(" ") + "\n")
        for number, button in enumerate(reply.buttons, start=1):
            out.write(f"     [{number}] {button.label}\n")
        if reply.buttons:
            offered = reply.buttons
    out.flush()
    return offered


async def chat(pipeline: Pipeline, user_key: str, source: TextIO = sys.stdin, out: TextIO = sys.stdout) -> None:
    """Read one message per line until end of input."""
    interactive = source.isatty()
    sender = Sender(user_key)
    offered = render(await pipeline.command(sender, "start"), out)
    while True:
        if interactive:
            out.write("you> ")
            out.flush()
        line = await asyncio.to_thread(source.readline)
        if not line:
            break
        message = line.strip()
        if not interactive:
            out.write(f"you> {message}\n")
        if not message:
            continue
        if message.isdigit() and 1 <= int(message) <= len(offered):
            replies = await pipeline.action(sender, offered[int(message) - 1].action)
        elif message.startswith("/"):
            head, _, argument = message[1:].partition(" ")
            replies = await pipeline.command(sender, head.split("@")[0], argument)
        else:
            replies = await pipeline.text(sender, message)
        offered = render(replies, out) or offered
