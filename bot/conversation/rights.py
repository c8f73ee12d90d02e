"""The user's rights over their data, as commands: /privacy, /mijngegevens (/mydata) and /vergeet (/forget).

Asking stores nothing for a user the bot has not met; deleting needs a yes to the question while it is open.
"""

from __future__ import annotations

import logging

from bot.content import Content
from bot.conversation import privacy
from bot.conversation.actions import Question
from bot.conversation.answers import Answers
from bot.conversation.steps import Step
from bot.conversation.turn import Memory, Profiles, Turn
from bot.replies import Reply, Sender
from bot.storage import cases
from bot.storage.models import Conversation, Database
from handoff.desk import Desk

logger = logging.getLogger(__name__)

# Commands about the user's own data, answered without creating anything for a user the bot does not know yet.
PRIVACY_COMMANDS = {
    "privacy": "privacy",
    "mijngegevens": "mydata",
    "mydata": "mydata",
    "vergeet": "forget",
    "forget": "forget",
}


def start_language(language_code: str | None) -> str:
    """The language a new conversation starts in, from Telegram's language code (Dutch first)."""
    if language_code is None or language_code.lower().startswith("nl"):
        return "nl"
    return "en"


def new_conversation(sender: Sender) -> Conversation:
    """The state of a user the bot has not met: no audience yet, in the language Telegram suggests."""
    return Conversation(
        key=sender.key,
        language=start_language(sender.language_code),
        audience=None,
        step=Step.CHOOSE_AUDIENCE.value,
        safety_check=False,
        safety_declines=0,
    )


class DataRights:
    def __init__(
        self,
        content: Content,
        database: Database,
        desk: Desk,
        answers: Answers,
        memory: Memory,
        profiles: Profiles,
        retention: privacy.Retention,
    ) -> None:
        self._content = content
        self._database = database
        self._desk = desk
        self._answers = answers
        self._memory = memory
        self._profiles = profiles
        self._retention = retention

    async def command(self, sender: Sender, command: str) -> list[Reply]:
        """Answer a privacy command; for a user the bot does not know, nothing is stored by asking."""
        async with self._database.unit_of_work() as session:
            found = await privacy.stored(session, sender.key)
            conversation = found.conversation or new_conversation(sender)
            lang = conversation.language
            if command == "privacy":
                return self._answers.for_intent(Turn(session, conversation, sender), "privacy")
            if command == "mydata":
                text = privacy.render(self._content, found, lang, self._retention)
                return [Reply(text, self._answers.menu_buttons(conversation) if found.conversation else ())]
            if found.empty:
                return [Reply(self._content.ui("forget_none", lang))]
            waiting = cases.ACTIVE
            live = self._desk.live and any(case.status in waiting for case in privacy.open_cases(found))
            return [self._question(conversation, live)]

    def _question(self, conversation: Conversation, live: bool) -> Reply:
        """Ask before deleting; only a yes to this question, while it is the open one, deletes anything."""
        lang = conversation.language
        conversation.step = Step.FORGET_CONFIRM.value
        text = self._content.ui("forget_confirm", lang)
        if live:
            text += "\n\n" + self._content.ui("forget_confirm_live", lang)
        return Reply(text, self._answers.yes_no_buttons("forget_yes", "forget_no", Question.FORGET, lang))

    async def answer(self, sender: Sender, yes: bool) -> list[Reply]:
        """The answer to "delete everything?". Safe to press late or twice: a yes deletes only while the question
        is open, and once everything is gone there is nothing left to delete."""
        async with self._database.unit_of_work() as session:
            conversation = await session.get(Conversation, sender.key)
            lang = conversation.language if conversation else start_language(sender.language_code)
            if not yes:
                if conversation is not None and conversation.step == Step.FORGET_CONFIRM:
                    conversation.step = Step.CHAT.value
                return [Reply(self._content.ui("forget_kept", lang))]
            if conversation is None:
                return [Reply(self._content.ui("forget_none", lang))]
            if conversation.step != Step.FORGET_CONFIRM:
                return [Reply(self._content.ui("forget_expired", lang))]
            await self._memory.forget(session, sender.key)
            erased = await privacy.erase(session, sender.key, self._desk)
        self._profiles.forget(sender.key)
        self._answers.ratings.forget(sender.key)
        if erased is None:
            return [Reply(self._content.ui("forget_none", lang))]
        logger.info(
            "a user's data was deleted on request: %d cases (%d open), %d relayed-message records",
            erased.cases,
            erased.open_cases,
            erased.relayed,
        )
        after = self._content.ui("forget_done_group" if erased.published else "forget_done_chat", lang)
        return [Reply(self._content.ui("forget_done", lang) + "\n\n" + after)]
