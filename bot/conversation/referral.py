"""The referral guide for professionals: "where do I refer, and when?" in four short questions — the child's age
group, the worry, the help already there, the municipality — each skippable, by button or by typing; then a
concrete path from responses/referral.yml: contact cards in order, the meldcode when safety is involved, what to
tell the family, and where the family can go themselves.

Where the guide is lives in `Conversation.referral` ("age=8_12;worry=skip"): the next question is the first one
not answered yet. It is kept only while the guide runs: any step change drops it (`Conversation._leave_referral`).
"""

from __future__ import annotations

from dataclasses import replace

from bot.content import REFERRAL_CHOICES, REFERRAL_QUESTIONS, Content, Organisation
from bot.conversation import actions, follow_up
from bot.conversation.answers import Answers
from bot.conversation.steps import Step
from bot.conversation.turn import Turn
from bot.replies import Button, Reply
from bot.storage.models import Conversation
from bot.understanding import entities

REFERRAL_INTENT = "prof_refer"
"""The NLU intent of a typed "waar verwijs ik naar?"."""
SKIP = "skip"
GIVEN = "given"
"""The stored answer to the municipality question: the name itself is in `Conversation.municipality`."""
# A longer message is not read as the answer to one of the guide's questions.
MAX_REPLY_WORDS = 12
# A keyword this long also matches longer words that start with it ("veilig" -> "veiligheid").
PREFIX_LENGTH = 4


def answered(conversation: Conversation) -> dict[str, str]:
    """The guide's answers so far; anything not of the guide's own form is ignored."""
    pairs = (part.partition("=") for part in (conversation.referral or "").split(";") if part)
    return {
        question: value
        for question, _, value in pairs
        if question in REFERRAL_QUESTIONS and (value in REFERRAL_CHOICES[question] or value in (SKIP, GIVEN))
    }


def next_question(conversation: Conversation) -> str | None:
    done = answered(conversation)
    return next((question for question in REFERRAL_QUESTIONS if question not in done), None)


class ReferralGuide:
    def __init__(self, content: Content, answers: Answers, threshold: float) -> None:
        self._content = content
        self._guide = content.referral
        self._answers = answers
        self._threshold = threshold

    def asked(self, turn: Turn) -> list[Reply]:
        """A typed "where do I refer?": the answer at once (where to refer, with the local entry when the town is
        known), and for a professional the guide's button first, for a route that fits this family. A typed
        question is answered, not met with four questions back."""
        intent = REFERRAL_INTENT if self._content.has_answer(REFERRAL_INTENT) else "for_professionals"
        replies = self._answers.for_intent(turn, intent)
        if turn.conversation.audience != "professional" or not replies:
            return replies
        *before, last = replies
        guide = self._answers.referral_button(turn.language)
        others = tuple(button for button in last.buttons if button.action != guide.action)
        return [*before, replace(last, buttons=(guide, *others))]

    def start(self, turn: Turn) -> Reply:
        turn.step = Step.REFERRAL
        turn.conversation.referral = ""
        turn.conversation.last_answer = None  # what the user saw last is the guide, not an answer
        return self._ask(turn, REFERRAL_QUESTIONS[0], self._guide.text("intro", turn.language))

    def choose(self, turn: Turn, question: str, choice: str) -> list[Reply]:
        """A button: it answers the question asked now; a press on an earlier question's button asks again."""
        current = next_question(turn.conversation)
        if current is None or question != current:
            return [self._ask(turn, current)] if current is not None else [self._answers.menu(turn.conversation)]
        return self._record(turn, question, choice)

    def typed(self, turn: Turn, skip: bool) -> list[Reply] | None:
        """A typed reply to the question asked now ("ze is 10", "school", "Tilburg", "weet ik niet", "overslaan");
        None when the message is about something else."""
        question = next_question(turn.conversation)
        if question is None:
            return None
        value, place = self._read(question, turn, skip)
        if value is None:
            return None
        if place is not None:
            turn.conversation.municipality = place
        return self._record(turn, question, value)

    def leave(self, turn: Turn) -> Reply:
        """The user turned to something else: the guide stops (its answers go) and says how to come back."""
        turn.step = Step.CHAT
        return Reply(self._guide.text("left", turn.language))

    # -- the questions ---------------------------------------------------------------------------------------

    def _ask(self, turn: Turn, question: str, lead: str | None = None) -> Reply:
        lang = turn.language
        buttons = tuple(
            Button(self._guide.choice(question, choice, lang), actions.ReferralChoice(question, choice).data)
            for choice in REFERRAL_CHOICES[question]
        )
        skip = Button(self._content.button("skip", lang), actions.ReferralChoice(question, SKIP).data)
        text = self._guide.question(question, lang)
        return Reply(f"{lead}\n\n{text}" if lead else text, (*buttons, skip))

    def _record(self, turn: Turn, question: str, value: str) -> list[Reply]:
        conversation = turn.conversation
        done = answered(conversation)
        done[question] = GIVEN if question == "municipality" and value != SKIP else value
        conversation.referral = ";".join(f"{key}={done[key]}" for key in REFERRAL_QUESTIONS if key in done)
        following = next_question(conversation)
        if following is not None:
            return [self._ask(turn, following)]
        place = conversation.municipality if done.get("municipality") == GIVEN else None
        replies = self._path(turn, done, place)
        turn.step = Step.CHAT  # the guide is over: its answers go
        return replies

    def _read(self, question: str, turn: Turn, skip: bool) -> tuple[str | None, str | None]:
        """The choice a typed reply gives (and, for the municipality, the place's name)."""
        text, said = turn.text, follow_up.words(turn.text)
        if len(said) > MAX_REPLY_WORDS:
            return None, None
        if question == "age":
            age = entities.age_reply(text)
            return (entities.age_group(age) if age is not None else SKIP if skip else None), None
        if "?" in text or (said and said[0] in self._guide.question_words):
            return None, None  # a question of its own ("hoe werkt bezoek?"), not an answer
        if question == "municipality":
            if skip or set(follow_up.words(text)) <= self._content.words("no_words"):
                return SKIP, None
            assert turn.understanding is not None
            place = follow_up.typed_reply("municipality", text, turn.understanding, self._threshold, None, False)
            return (GIVEN, place) if place is not None else (None, None)
        choice = self._matching_choice(question, text)
        return (choice or (SKIP if skip else None)), None

    def _matching_choice(self, question: str, text: str) -> str | None:
        """The choice whose longest word or phrase is found in the text ("geen idee" beats "geen")."""
        said = follow_up.words(entities.fold(text))
        joined = f" {' '.join(said)} "
        best: tuple[int, str] | None = None
        for choice, keywords in self._guide.words[question].items():
            for keyword in keywords:
                folded = " ".join(follow_up.words(entities.fold(keyword)))
                found = f" {folded} " in joined or (
                    len(folded) >= PREFIX_LENGTH and " " not in folded and any(w.startswith(folded) for w in said)
                )
                if found and (best is None or len(folded) > best[0]):
                    best = (len(folded), choice)
        return best[1] if best else None

    # -- the path --------------------------------------------------------------------------------------------

    def _path(self, turn: Turn, done: dict[str, str], place: str | None) -> list[Reply]:
        lang, guide = turn.language, self._guide
        worry, age = done.get("worry"), done.get("age")
        path = guide.path(None if worry in (None, SKIP) else worry, None if age in (None, SKIP) else age)
        local = self._content.local_organisations(place) if place else ()
        cards = [*local, *(self._content.organisation(key) for key in path.organisations)]
        if local:  # the municipality's own entries stand in for the general pointer to its wijkteam / CJG
            cards = [*local, *(card for card in cards[len(local) :] if card.region != "municipality")]
        parts = [
            guide.text("path_header", lang).format(summary=self._summary(done, place, lang)),
            guide.text("cards_header", lang) + "\n" + "\n".join(self._content.card(card, lang) for card in cards),
        ]
        if not local and any(card.region == "municipality" for card in cards):
            parts.append(
                guide.text("municipality_lookup", lang).format(municipality=place)
                if place
                else guide.text("municipality_unknown", lang)
            )
        if path.meldcode:
            parts.append(guide.text("meldcode", lang))
        help_given = done.get("help", SKIP)
        if help_given in guide.help_notes:
            parts.append(guide.help_notes[help_given][lang])
        family = [
            guide.text("tell_family_header", lang) + "\n" + path.tell_family[lang],
            guide.text("family_header", lang)
            + "\n"
            + "\n".join(_reach(self._content.organisation(key)) for key in path.family),
        ]
        again = Button(guide.text("restart", lang), actions.StartReferral().data)
        return [Reply("\n\n".join(parts)), Reply("\n\n".join(family), (again, self._answers.menu_button(lang)))]

    def _summary(self, done: dict[str, str], place: str | None, lang: str) -> str:
        skipped = self._guide.text("skipped", lang)
        labels = [
            self._guide.choice(question, done[question], lang)
            if done.get(question) in REFERRAL_CHOICES[question]
            else skipped
            for question in ("age", "worry", "help")
        ]
        return " · ".join([*labels, place or skipped])


def _reach(organisation: Organisation) -> str:
    """One short line for the family: the name and the first way to reach it."""
    way = organisation.phone or (organisation.website or "").removeprefix("https://") or organisation.email
    return f"• {organisation.name}" + (f": {way}" if way else "")
