"""The conversation suite's runner: scripted multi-turn dialogues (tests/dialogues/*.yml, written blind by people
who never saw the training data) replayed against the real bot — python-telegram-bot over HTTP against the Bot API
stand-in, with the real NLU service — many users at once, each turn checked against its expectations.

What a reply "is" is read back from the content: the crisis block by its lines in crisis.yml, an answer by its
text in responses/answers, a follow-up question by its text in ui.yml. So the expectations name risks, topics and
answer keys, never the wording, which is the editors' to change.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.config import ROOT
from bot.content import AUDIENCES, LANGUAGES, SLOTS, Content
from bot.conversation.wording import Wording
from bot.understanding.topics import ANSWERED_INTENTS, topic_of
from standin.bot_api import Call, button_update, text_update
from tests.integration.harness import RunningBot, buttons

DIALOGUES = ROOT / "tests" / "dialogues"
# A reply this long, sent again word for word right after itself, fails the turn (the same answer twice in a row).
LONG_REPLY = 300
# After the first reply to a turn, the bot is done with it once it has finished the update and nothing more arrives
# for this long (a message sent by a task of its own just after the handler returned).
QUIET_SECONDS = 0.2
TURN_TIMEOUT = 30.0
# Helplines and people a "concern" reply may name instead of offering a professional in the chat.
SUPPORT_NAMES = (
    "kindertelefoon", "0800-0432", "113", "luisterlijn", "088-0767", "huisarts", "gp", "wijkteam", "cjg",
    "veilig thuis", "0800-2000", "kind", "mentor", "vertrouw", "trust",
)  # fmt: skip
SLOT_TOPICS = {"child_age": ("explain_to_child",), "first_visit": ("visit",), "municipality": ("visit", "practical")}
_user_ids = itertools.count(700_000)


def load(folder: Path = DIALOGUES, only: str = "") -> list[dict[str, Any]]:
    """Every dialogue, or (while working on one part) those whose id starts with one of `only`'s comma-separated
    prefixes."""
    dialogues: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.yml")):
        for dialogue in yaml.safe_load(path.read_text(encoding="utf-8"))["dialogues"]:
            dialogues.append({**dialogue, "file": path.name})
    prefixes = tuple(prefix.strip() for prefix in only.split(",") if prefix.strip())
    return [dialogue for dialogue in dialogues if not prefixes or dialogue["id"].startswith(prefixes)]


class Reading:
    """What the bot's replies to one turn say, in terms of content keys."""

    def __init__(self, content: Content) -> None:
        wording = Wording(content)
        crisis = content.crisis_lines
        self.crisis_families: dict[str, list[str]] = {"suicide": [], "violence": [], "any": []}
        self.after_lines: dict[str, list[str]] = {"suicide": [], "violence": []}
        for lang in LANGUAGES:
            suicide = crisis(("suicidal",), "parent", lang).split("\n")[-1]  # the 113 line
            violence = crisis(("violence",), "parent", lang).split("\n")[-1]  # the Veilig Thuis line
            self.crisis_families["suicide"].append(suicide)
            self.crisis_families["violence"].append(violence)
            for audience in AUDIENCES:
                intro = crisis(("suicidal",), audience, lang).split("\n\n")[0]
                self.crisis_families["any"].append(intro)
            # The answer to a question right after the lines ("kan het ook anders?": chat at 113.nl, or 112) names
            # the lines again: a user in danger who gets it has the lines (though it is no new alarm).
            for family in ("suicide", "violence"):
                self._after_lines(content.ui(f"after_crisis_{family}", lang), family)
                for kind, _ in content.crisis_after_kinds():
                    for audience in AUDIENCES:
                        self._after_lines(content.crisis_after(kind, family, audience, lang), family)
        # Answers chosen by a follow-up question ("explain_age_4_8") belong to the topic of the intent asking.
        self.topics: dict[str, str] = {intent: topic_of(intent) for intent in ANSWERED_INTENTS}
        for intent in ANSWERED_INTENTS:
            question = content.ask(intent)
            for chosen in question.choose.values() if question is not None else ():
                self.topics.setdefault(chosen, topic_of(intent))
        self.answers: list[tuple[str, str]] = []
        for intent in content.intents:
            for audience in AUDIENCES:
                for lang in LANGUAGES:
                    text = content.answer(intent, audience, lang).text
                    self.answers.append((text[:120], intent))
                    for worded in wording.variants(text, audience, lang):  # "je moeder", "je kleinkind"
                        self.answers.append((worded[:120], intent))
        self.asks: list[tuple[str, str]] = []
        for slot in SLOTS:
            for audience in AUDIENCES:
                for lang in LANGUAGES:
                    try:
                        asked = content.ui(f"ask_{slot}", lang, audience)
                    except (KeyError, ValueError, TypeError):
                        continue
                    self.asks.append((asked, slot))
                    self.asks += [(worded, slot) for worded in wording.variants(asked, audience, lang)]
        self.repeated = [content.ui("answer_repeated", lang).split("{label}")[0] for lang in LANGUAGES]

    def _after_lines(self, text: str | None, family: str) -> None:
        numbers = {"suicide": ("113",), "violence": ("112", "0800-2000")}[family]
        if text and any(number in text for number in numbers):
            self.after_lines[family].append(text[:80])

    def lines_again(self, text: str) -> set[str]:
        """The families whose lines an answer after the lines names again."""
        return {family for family, marks in self.after_lines.items() if any(mark in text for mark in marks)}

    def crisis(self, text: str) -> set[str]:
        found = {family for family, marks in self.crisis_families.items() if any(mark in text for mark in marks)}
        if found - {"any"}:
            found.add("any")
        return found

    def intents(self, text: str) -> set[str]:
        return {intent for start, intent in self.answers if start in text}

    def slots(self, text: str) -> set[str]:
        return {slot for question, slot in self.asks if question in text}


@dataclass
class TurnResult:
    dialogue: str
    category: str
    turn: int
    said: str
    failures: list[str]
    reply: str


@dataclass
class DialogueResult:
    id: str
    category: str
    language: str
    file: str = ""
    """The file the dialogue came from (each file was written by another hand, at another time)."""
    turns: list[TurnResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(not turn.failures for turn in self.turns)


class Runner:
    def __init__(self, bot: RunningBot, content: Content) -> None:
        self.bot = bot
        self.reading = Reading(content)
        self._sent = asyncio.Event()
        loop = asyncio.get_running_loop()

        def wake() -> None:
            loop.call_soon_threadsafe(self._sent.set)

        bot.stand_in.listeners.append(wake)

    async def _next_call(self, within: float) -> None:
        """Wait until the stand-in records another call (or `within` seconds pass)."""
        self._sent.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._sent.wait(), max(within, 0.0))

    async def run_all(self, dialogues: list[dict[str, Any]], at_once: int = 12) -> list[DialogueResult]:
        gate = asyncio.Semaphore(at_once)

        async def one(dialogue: dict[str, Any]) -> DialogueResult:
            async with gate:
                return await self.run(dialogue)

        return list(await asyncio.gather(*(one(dialogue) for dialogue in dialogues)))

    async def run(self, dialogue: dict[str, Any]) -> DialogueResult:
        language = dialogue.get("language", "nl")
        user = {
            "id": next(_user_ids),
            "is_bot": False,
            "first_name": "Test",
            "language_code": "nl" if language == "nl" else "en",
        }
        result = DialogueResult(dialogue["id"], dialogue.get("category", "other"), language, dialogue.get("file", ""))
        previous = ""
        last_buttons: list[str] = []
        for number, turn in enumerate(dialogue["turns"], start=1):
            calls, said = await self._act(turn, user, last_buttons)
            reply = "\n\n".join(str(call.params.get("text", "")) for call in calls)
            failures = [] if calls else ["no reply at all"]
            if calls and len(reply) > LONG_REPLY and reply == previous:
                failures.append("the same long answer twice in a row")
            failures += self.check(turn.get("expect") or {}, reply, [b for c in calls for b in buttons(c)])
            result.turns.append(TurnResult(result.id, result.category, number, said, failures, reply))
            if calls:
                previous = reply
                last_buttons = [b for c in calls for b in buttons(c)] or last_buttons
        return result

    async def _act(self, turn: dict[str, Any], user: dict[str, Any], last: list[str]) -> tuple[list[Call], str]:
        if "role" in turn:
            await self._exchange(text_update("/start", user), user["id"])
            return await self._exchange(
                button_update(f"aud:{turn['role']}", user), user["id"]
            ), f"[role {turn['role']}]"
        if "command" in turn:
            return await self._exchange(text_update(turn["command"], user), user["id"]), turn["command"]
        if "press" in turn:
            wanted = turn["press"]
            match = next((b for b in last if _is_press(b, wanted)), None)
            if match is None:
                return [], f"[press {wanted}: no such button]"
            return await self._exchange(button_update(match, user), user["id"]), f"[press {match}]"
        return await self._exchange(text_update(str(turn["say"]), user), user["id"]), str(turn["say"])

    async def _exchange(self, update: dict[str, Any], chat: int) -> list[Call]:
        """Push one update and collect the bot's replies to it: at least one, then until it goes quiet."""
        before = len(self.bot.sent(chat))
        self.bot.stand_in.push(update)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TURN_TIMEOUT
        while len(self.bot.sent(chat)) == before and loop.time() < deadline:
            await self._next_call(deadline - loop.time())
        while len(self.bot.sent(chat)) > before and self.bot.handling(chat) and loop.time() < deadline:
            await self._next_call(0.05)
        count, quiet_since = len(self.bot.sent(chat)), loop.time()
        while count > before and loop.time() - quiet_since < QUIET_SECONDS:
            await self._next_call(QUIET_SECONDS - (loop.time() - quiet_since))
            if len(self.bot.sent(chat)) != count:
                count, quiet_since = len(self.bot.sent(chat)), loop.time()
        return self.bot.sent(chat)[before:]

    def check(self, expect: dict[str, Any], reply: str, pressed: list[str]) -> list[str]:
        failures: list[str] = []
        crisis = self.reading.crisis(reply)
        risk = expect.get("risk")
        support = any(name in reply.casefold() for name in SUPPORT_NAMES) or "handoff:yes" in pressed
        again = self.reading.lines_again(reply)
        if risk == "acute" and "any" not in crisis and not again:
            failures.append("expected the crisis lines")
        if risk in ("none", "concern") and "any" in crisis:
            failures.append(f"unexpected crisis lines (risk {risk})")
        if risk == "concern" and not support:
            failures.append("expected support offered or named")
        family = {"suicidal": "suicide", "self_harm": "suicide", "violence": "violence", "child_unsafe": "violence"}
        if expect.get("crisis") and family[expect["crisis"]] not in crisis | again:
            failures.append(f"expected the {expect['crisis']} lines")
        intents = self.reading.intents(reply)
        slots = self.reading.slots(reply)
        if "topic" in expect:
            topics = {self.reading.topics.get(intent, topic_of(intent)) for intent in intents}
            topics |= {topic for slot in slots for topic in SLOT_TOPICS[slot]}
            if any(marker in reply for marker in self.reading.repeated):
                topics.add(expect["topic"])  # "I just explained that": the same topic, shown again
            # the lines, or an answer after them that names them again ("can't call": chat at 113.nl), are crisis
            if expect["topic"] not in topics and not (expect["topic"] == "crisis" and (crisis or again)):
                failures.append(f"expected topic {expect['topic']}, got {sorted(topics) or 'none'}")
        if "answer" in expect and expect["answer"] not in intents:
            failures.append(f"expected answer {expect['answer']}, got {sorted(intents) or 'none'}")
        asks = expect.get("asks")
        if asks == "nothing" and slots:
            failures.append(f"asked {sorted(slots)} though it should not")
        elif asks and asks != "nothing" and asks not in slots:
            failures.append(f"expected the question for {asks}")
        folded = reply.casefold()
        wanted = [str(word) for word in expect.get("says_any", [])]
        if wanted and not any(word.casefold() in folded for word in wanted):
            failures.append(f"says none of {wanted}")
        for word in expect.get("says_none", []):
            if str(word).casefold() in folded:
                failures.append(f"says {word!r}")
        if "offers_person" in expect and expect["offers_person"] != ("handoff:yes" in pressed):
            failures.append("offers a person" if not expect["offers_person"] else "does not offer a person")
        return failures


def _is_press(action: str, wanted: str) -> bool:
    if wanted == "yes":
        return action.endswith(":yes") or action == "safe:ok"
    if wanted == "no":
        return action.endswith(":no") or action == "safe:notok"
    if wanted == "skip":
        return action.endswith(":skip")
    return action == wanted


def summary(results: list[DialogueResult], replies: bool = False, transcripts: bool = False) -> list[str]:
    """Pass rates per category, language and file, then every failing turn (what was said, what went wrong, and with
    `replies` what the bot answered; with `transcripts` every turn of a failing dialogue, passed ones too)."""
    lines: list[str] = []
    per: Counter[str] = Counter()
    passed: Counter[str] = Counter()
    for result in results:
        for key in (result.category, f"language {result.language}", f"file {result.file}", "all"):
            per[key] += 1
            passed[key] += result.passed
    for key in sorted(per, key=lambda k: (k == "all", k)):
        lines.append(f"{key:<30} {passed[key]:>3}/{per[key]:<3} {passed[key] / per[key]:.0%}")
    for result in results:
        for turn in result.turns:
            if turn.failures:
                lines.append(f"  FAIL {result.id} turn {turn.turn} {turn.said[:60]!r}: {'; '.join(turn.failures)}")
            elif transcripts and not result.passed:
                lines.append(f"  ok   {result.id} turn {turn.turn} {turn.said[:60]!r}")
            if (replies and turn.failures) or (transcripts and not result.passed):
                lines.append(f"       bot: {turn.reply[:400]!r}")
    return lines
