"""Composing replies from content: answers with their cards and buttons, the menu, the welcome, the unsure reply.

Everything a user reads comes from `responses/` through `Content`; this module only chooses and assembles.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from bot.content import AUDIENCES, Content
from bot.conversation import actions, follow_up
from bot.conversation.privacy import Retention
from bot.conversation.steps import Step
from bot.conversation.turn import Ratings, Turn
from bot.replies import Button, Reply
from bot.storage.models import Conversation
from bot.understanding import entities
from bot.understanding.topics import MENU_TOPICS, TOPIC_INTENT, topic_of

# Prison names matter for these topics only: the answer then says where that prison's own rules are.
PRISON_TOPICS = frozenset(("visit", "contact", "practical"))
# An answer longer than this is not sent again right after itself: a short reminder goes instead.
LONG_ANSWER = 300
# Small talk is followed by the menu rather than by related questions.
MENU_AFTER = frozenset(("greet", "out_of_scope", "acknowledge", "opening", "change_role"))
# Topics a young person does not get in the menu (they are about explaining to one's own child).
NOT_FOR_YOUTH = frozenset(("explain_to_child",))
# The general cards for the municipality's wijkteam / CJG: where the user's own town has an entry, it goes with them.
LOCAL_POINTERS = frozenset(("sociaal_wijkteam", "cjg"))
# Answers of these topics get no feedback buttons: small talk, a command's text, or a person offered instead.
NO_FEEDBACK_TOPICS = frozenset(("greeting", "goodbye", "privacy", "talk_to_human", "out_of_scope", "crisis"))
# At most this many paragraphs of an answer are quoted back for a question about it.
RECALLED_PARTS = 2
# An answer's paragraph with at least this many bullets is its list of steps, recalled on "and then?".
MIN_STEPS = 3


class Answers:
    def __init__(
        self,
        content: Content,
        retention: Retention,
        feedback: bool = False,
        ratings: Ratings | None = None,
        closest_line: Callable[[str, Sequence[str]], int | None] | None = None,
    ) -> None:
        self.content = content
        # A question about the answer just given that shares no word with it gets the line closest in meaning.
        self._closest_line = closest_line
        self._feedback = feedback
        self._ratings = ratings or Ratings()
        self._retention = retention
        # An answer chosen by a follow-up question ("explain_age_4_8") stands for the intent that asked it.
        self._asked_by: dict[str, str] = {}
        for intent in content.intents:
            question = content.ask(intent)
            for chosen in question.choose.values() if question is not None else ():
                self._asked_by.setdefault(chosen, intent)

    @property
    def ratings(self) -> Ratings:
        """Which answers carry feedback buttons not yet tapped (local to this process)."""
        return self._ratings

    def topic(self, answer_key: str) -> str:
        """The topic an answer belongs to, also for one chosen by a follow-up question."""
        return topic_of(self._asked_by.get(answer_key, answer_key))

    def for_intent(self, turn: Turn, intent: str, *, ask: bool = True) -> list[Reply]:
        """The answer to `intent` for this user, after one follow-up question if the answer depends on it (not
        while a professional is being asked: the question would cross the handoff)."""
        conversation, lang, audience = turn.conversation, turn.language, turn.audience
        if intent == "talk_to_human":
            text = self.content.answer(intent, audience, lang).text
            return [self.offer(conversation, None, "request", lead=text)]
        if not self.content.has_answer(intent):
            intent = "out_of_scope"
        question = self.content.ask(intent)
        others: list[str] = []
        youngest = False
        if question is not None and audience in question.audiences:
            value = follow_up.known(conversation, question.slot)
            if value is None and ask and question.slot not in follow_up.skipped(conversation):
                return [self.ask(turn, intent, question.slot)]
            if value is not None:
                chosen = question.choose.get(value, intent)
                if question.slot == "child_age":  # several children: the answer for the others' ages one tap away
                    every = follow_up.ages(conversation)
                    groups = {entities.age_group(age) for age in every} - {value}
                    youngest = bool(every) and value == entities.age_group(every[0])
                    others = [question.choose[group] for group in sorted(groups) if group in question.choose]
                intent = chosen
        if intent == conversation.last_answer and intent not in ("greet", "out_of_scope"):
            repeated = self._repeated(turn, intent)
            if repeated is not None:
                return [repeated]
        if intent != "acknowledge":  # a nod does not replace the answer a follow-up may lean on
            conversation.last_answer = intent
        reply = self._compose(turn, intent)
        if others:
            extra = tuple(Button(self.content.label(other, lang), actions.ShowAnswer(other).data) for other in others)
            text = reply.text
            if youngest:  # what holds for every age first, then the youngest's answer
                text = f"{self.content.ui('several_ages_intro', lang)}\n\n{text}"
            reply = Reply(text, (*extra, *reply.buttons))
        return [self._with_feedback(turn, intent, reply)]

    def _with_feedback(self, turn: Turn, intent: str, reply: Reply) -> Reply:
        """👍/👎 under the first answer of each topic in a conversation: enough to learn which answers miss, without
        a question under every reply. Never after an alarm (the safety footer is there; a rating would be out of
        place), never under small talk, menus or questions."""
        conversation, topic = turn.conversation, self.topic(intent)
        asked = (conversation.key, topic)
        if not self._feedback or conversation.safety_check or conversation.alarm or intent in MENU_AFTER:
            return reply
        if topic in NO_FEEDBACK_TOPICS or asked in self._ratings.asked:
            return reply
        self._ratings.asked.add(asked)
        self._ratings.open.add((conversation.key, intent))
        lang = turn.language
        votes = (
            Button(self.content.button("feedback_up", lang), actions.Feedback(intent, True).data),
            Button(self.content.button("feedback_down", lang), actions.Feedback(intent, False).data),
        )
        return Reply(reply.text, (*reply.buttons, *votes), reply.urgent)

    def _compose(self, turn: Turn, intent: str) -> Reply:
        conversation, lang, audience = turn.conversation, turn.language, turn.audience
        answer = self.content.answer(intent, audience, lang)
        parts = [self._retention.fill(answer.text) if intent == "privacy" else answer.text]
        named = entities.prison(turn.text, self.content.prisons) if turn.text else None
        if named is not None and topic_of(intent) in PRISON_TOPICS:
            parts.append(self.content.ui("prison_pointer", lang).format(prison=named.name))
        if self._with_local_help(turn, answer.local_help, answer.organisations):
            parts.append(self.local_help(conversation, audience))
        parts += self._cards_and_footer(conversation, answer.organisations, audience)
        if intent in MENU_AFTER:
            buttons = self.menu_buttons(conversation)
        else:
            buttons = tuple(self._follow_up_button(target, lang) for target in answer.follow_up)
            if audience == "professional" and topic_of(intent) == "for_professionals":
                buttons += (self.referral_button(lang),)
            buttons += (self.menu_button(lang),)
        return Reply("\n\n".join(parts), buttons)

    def _cards_and_footer(self, conversation: Conversation, organisations: Sequence[str], audience: str) -> list[str]:
        """What closes an answer: the cards of its organisations meant for `audience`, and the safety footer while
        the bot checks in after an alarm."""
        lang = conversation.language
        parts: list[str] = []
        cards = self.content.cards(organisations, audience, lang)
        if cards:
            parts.append(self.content.ui("cards_header", lang) + "\n" + "\n".join(cards))
        footer = self.safety_footer(conversation)
        if footer:
            parts.append(footer)
        return parts

    def _repeated(self, turn: Turn, intent: str) -> Reply | None:
        """The same long answer right after itself helps nobody: a short reminder and the related questions."""
        answer = self.content.answer(intent, turn.audience, turn.language)
        if len(answer.text) <= LONG_ANSWER:
            return None
        return self.recall(turn, intent)

    def next_after(self, turn: Turn, intent: str) -> list[Reply] | None:
        """ "en dan?", "ok and then?" after an answer: a short reminder of how it goes (that answer's list of steps,
        when it has one), then the answer it points to first (its first follow-up for this user); never the same
        answer again. None when it points nowhere."""
        if not self.content.has_answer(intent):
            return None
        answer = self.content.answer(intent, turn.audience, turn.language)
        target = next((t for t in answer.follow_up if t != intent and self.content.has_answer(t)), None)
        if target is None:
            return None
        steps = max(follow_up.paragraphs_of(answer.text), key=lambda part: part.count("•"), default="")
        following = self.for_intent(turn, target, ask=False)
        if steps.count("•") < MIN_STEPS:
            return following
        label = self.content.label(intent, turn.language)
        reminder = Reply("\n\n".join([self.content.ui("answer_recalled", turn.language).format(label=label), steps]))
        return [reminder, *following]

    def recall(self, turn: Turn, intent: str, *, cards: bool = False, about: str = "") -> Reply:
        """A question about the answer just given, or the same question again ("per dag?", "wat zet ik bij de
        omschrijving?"): a short reminder with the part of that answer that fits the question, never all of it;
        with `cards`, the organisations it named ("hoe meld ik me daarvoor aan?"); `about`: words for what the
        question is about that it may not use itself ("jarig": a birthday, a present)."""
        lang, audience = turn.language, turn.audience
        answer = self.content.answer(intent, audience, lang)
        label = self.content.label(intent, lang)
        quoted = follow_up.fitting_parts(answer.text, f"{turn.text} {about}", RECALLED_PARTS)
        if not quoted and not cards and self._closest_line is not None:
            lines = [line.strip() for line in answer.text.split("\n") if line.strip()]
            closest = self._closest_line(turn.text, lines)
            quoted = [lines[closest]] if closest is not None else []
        key = "answer_recalled" if quoted or cards else "answer_repeated"
        parts = [self.content.ui(key, lang).format(label=label), *quoted]
        found = self.content.cards(answer.organisations, audience, lang) if cards else []
        if found:
            parts.append("\n".join(found))
        conversation = turn.conversation
        conversation.last_answer = intent
        buttons = tuple(self._follow_up_button(target, lang) for target in answer.follow_up)
        return Reply("\n\n".join(parts), (*buttons, self.menu_button(lang)))

    def for_group(self, turn: Turn, intent: str, group: str) -> Reply:
        """The answer just given, for the group a follow-up named ("and for teenagers?" after groups for children):
        that group's text with its cards, under a line saying whom it is written for. The speaker's own group, or a
        group with no text of its own, gets a reminder of the answer (the part that fits, or else its cards) instead
        of the same text again."""
        lang = turn.language
        answer, given = self.content.answer(intent, group, lang), self.content.answer(intent, turn.audience, lang)
        if group == turn.audience or answer.text == given.text:
            fits = follow_up.fitting_parts(given.text, turn.text, RECALLED_PARTS)
            return self.recall(turn, intent, cards=not fits)  # "and for me?": where to go, when no part fits
        label = self.content.label(intent, lang)
        parts = [self.content.ui(f"answer_for_{group}", lang).format(label=label), answer.text]
        parts += self._cards_and_footer(turn.conversation, answer.organisations, group)
        turn.conversation.last_answer = intent
        buttons = tuple(self._follow_up_button(target, lang) for target in given.follow_up)
        return Reply("\n\n".join(parts), (*buttons, self.menu_button(lang)))

    def safety_footer(self, conversation: Conversation) -> str:
        """While the bot checks in after an alarm, a closing line with the lines that fit that alarm."""
        if not conversation.safety_check:
            return ""
        violence = conversation.alarm in ("violence", "child_unsafe")
        return self.content.ui("safety_footer_violence" if violence else "safety_footer", conversation.language)

    def ask(self, turn: Turn, intent: str, slot: str) -> Reply:
        conversation, lang = turn.conversation, turn.language
        turn.step = Step.ASK
        conversation.pending_intent = intent
        conversation.last_answer = None  # what the user saw last is this question, not an answer
        choices = tuple(
            Button(self.content.button(f"{slot}_{choice}", lang), actions.AnswerSlot(slot, choice).data)
            for choice in follow_up.choices(slot)
        )
        skip = Button(self.content.button("skip", lang), actions.AnswerSlot(slot, "skip").data)
        text = self.content.ui(f"ask_{slot}", lang, turn.audience)
        footer = self.safety_footer(conversation)
        if footer:
            text += "\n\n" + footer
        return Reply(text, (*choices, skip))

    def _with_local_help(self, turn: Turn, asked: bool, organisations: Sequence[str]) -> bool:
        """Local help goes with an answer that asks for it; and once the user's town has its own entry, with any
        answer to a message naming it, and with every answer that shows the general wijkteam / CJG card."""
        if asked:
            return True
        place = turn.conversation.municipality
        if place is None or not self.content.local_organisations(entities.canonical_municipality(place)):
            return False
        named = entities.municipality(turn.text) if turn.text else None
        return named is not None or bool(LOCAL_POINTERS & set(organisations))

    def local_help(self, conversation: Conversation, audience: str) -> str:
        """Where to go in the user's municipality: its own entries (the sociale kaart), else how to find the
        sociaal wijkteam / CJG there."""
        lang, place = conversation.language, conversation.municipality
        if place is None:
            return self.content.ui("local_help_unknown", lang)
        place = entities.canonical_municipality(place)
        local = [
            self.content.card(organisation, lang)
            for organisation in self.content.local_organisations(place)
            if audience in organisation.audiences
        ]
        text = self.content.ui("local_help_found" if local else "local_help", lang).format(municipality=place)
        return "\n".join([text, *local])

    def local(self, turn: Turn) -> Reply:
        """Asked for help in the user's own town ("en een wijkteam daar?", a town named after the pointer to local
        help): the town's card, or how to find its wijkteam; the last answer's related questions stay one tap away."""
        lang, last = turn.language, turn.conversation.last_answer
        buttons: tuple[Button, ...] = ()
        if last is not None and self.content.has_answer(last):
            targets = self.content.answer(last, turn.audience, lang).follow_up
            buttons = tuple(self._follow_up_button(target, lang) for target in targets)
        text = self.local_help(turn.conversation, turn.audience)
        footer = self.safety_footer(turn.conversation)
        return Reply(f"{text}\n\n{footer}" if footer else text, (*buttons, self.menu_button(lang)))

    def _follow_up_button(self, target: str, lang: str) -> Button:
        action = actions.ShowTopic(target) if target in TOPIC_INTENT else actions.ShowAnswer(target)
        return Button(self.content.label(target, lang), action.data)

    def offer(self, conversation: Conversation, key: str | None, reason: str, lead: str | None = None) -> Reply:
        lang = conversation.language
        conversation.step = Step.HANDOFF_OFFER.value
        conversation.offer_reason = reason
        text = self.content.ui(key or "handoff_offer", lang)
        buttons = self.yes_no_buttons("yes_handoff", "no_handoff", actions.Question.HANDOFF, lang)
        return Reply(f"{lead}\n\n{text}" if lead else text, buttons)

    def yes_no_buttons(self, yes: str, no: str, question: actions.Question, lang: str) -> tuple[Button, ...]:
        return (
            Button(self.content.button(yes, lang), actions.Reply(question, True).data),
            Button(self.content.button(no, lang), actions.Reply(question, False).data),
        )

    def welcome(self, conversation: Conversation, lead: str | None = None) -> Reply:
        """The welcome with the role buttons (and the other language); shown until a role is chosen."""
        lang = conversation.language
        other = "en" if lang == "nl" else "nl"
        conversation.step = Step.CHOOSE_AUDIENCE.value
        roles = tuple(
            Button(self.content.button(audience, lang), actions.ChooseAudience(audience).data) for audience in AUDIENCES
        )
        switch = Button(self.content.button("switch_language", lang), actions.SetLanguage(other).data)
        text = self.content.ui("welcome", lang)
        return Reply(f"{lead}\n\n{text}" if lead else text, (*roles, switch))

    def role_buttons(self, conversation: Conversation, key: str = "change_role") -> Reply:
        """The role buttons, without the whole welcome: asked to change role, or still no role chosen."""
        lang = conversation.language
        roles = tuple(
            Button(self.content.button(audience, lang), actions.ChooseAudience(audience).data) for audience in AUDIENCES
        )
        return Reply(self.content.ui(key, lang), roles)

    def as_guess(
        self, turn: Turn, replies: list[Reply], intent: str, alternatives: Sequence[str], *, answered: bool
    ) -> list[Reply]:
        """The answer to a longer message the model half read (a story with a question in it), said to be a guess,
        with the other likely topic one tap away: never a bare "I'm not sure" after all those words."""
        conversation, lang = turn.conversation, turn.language
        first = replies[0]
        parts = [self.content.ui("tentative_lead", lang), first.text]
        if answered:
            parts.append(self.content.ui("tentative_other", lang))
        topic = self.topic(intent)
        others = [other for other in alternatives if other != topic and other in self.menu_topics(conversation)]
        buttons = (*(self.topic_button(other, lang) for other in others[:1]), *first.buttons)
        return [replace(first, text="\n\n".join(parts), buttons=buttons), *replies[1:]]

    def unsure(self, conversation: Conversation, alternatives: Sequence[str]) -> Reply:
        """Not sure what the user means: the likeliest topics that fit them, and the menu. Never privacy as a
        guess: it is a command, not a topic anyone means by accident."""
        lang = conversation.language
        offered = [topic for topic in alternatives if topic in self.menu_topics(conversation)]
        buttons = tuple(self.topic_button(topic, lang) for topic in offered[:2])
        return Reply(self.content.ui("low_confidence", lang), (*buttons, self.menu_button(lang)))

    def menu_topics(self, conversation: Conversation) -> tuple[str, ...]:
        """The topics this user's menu shows: professionals get their own first; young people no topics about
        explaining to one's own child."""
        if conversation.audience == "professional":
            return ("for_professionals", *MENU_TOPICS)
        if conversation.audience == "youth":
            return tuple(topic for topic in MENU_TOPICS if topic not in NOT_FOR_YOUTH)
        return MENU_TOPICS

    def topic_button(self, topic: str, lang: str) -> Button:
        return Button(self.content.topic_label(topic, lang), actions.ShowTopic(topic).data)

    def menu_button(self, lang: str) -> Button:
        return Button(self.content.button("menu", lang), actions.ShowMenu().data)

    def menu_buttons(self, conversation: Conversation) -> tuple[Button, ...]:
        """The menu's topic buttons; a professional's has the referral guide right after their own topic."""
        buttons = tuple(self.topic_button(topic, conversation.language) for topic in self.menu_topics(conversation))
        if conversation.audience == "professional":
            buttons = (*buttons[:1], self.referral_button(conversation.language), *buttons[1:])
        return buttons

    def referral_button(self, lang: str) -> Button:
        return Button(self.content.referral.text("label", lang), actions.StartReferral().data)

    def menu(self, conversation: Conversation, key: str = "menu") -> Reply:
        return Reply(self.content.ui(key, conversation.language), self.menu_buttons(conversation))

    def nodded_to(self, conversation: Conversation) -> Reply:
        """A nod ("ok", "thx", a reaction): is there anything else? While the bot checks in after an alarm, no
        "Fijn." and the lines for it close the menu ("ok" after the lines for someone alone on a ship tonight)."""
        footer = self.safety_footer(conversation)
        if not footer:
            return self.menu(conversation, "acknowledged")
        text = f"{self.content.ui('acknowledged_after_lines', conversation.language)}\n\n{footer}"
        return Reply(text, self.menu_buttons(conversation))
