"""The conversation's steps at work: each declared step's handler for typed text, ordinary chat, button actions and
commands. The pipeline calls `dispatch`, `on_action` and `command` inside its unit of work."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace

from bot.content import AUDIENCES, LANGUAGES, Content
from bot.conversation import actions, follow_up
from bot.conversation.actions import Action, Question
from bot.conversation.answers import Answers
from bot.conversation.crisis import SUICIDE_FAMILY, Crisis
from bot.conversation.handoff_flow import NO_DESK, HandoffFlow
from bot.conversation.referral import REFERRAL_INTENT, ReferralGuide
from bot.conversation.short_replies import ShortReplies
from bot.conversation.steps import Step
from bot.conversation.turn import Memory, Turn
from bot.conversation.wording import Wording
from bot.insights.recorder import Recorder
from bot.replies import Reply
from bot.storage import cases
from bot.understanding import entities
from bot.understanding.topics import TOPIC_INTENT, topic_of
from bot.understanding.understander import (
    QUESTION_WORDS,
    Understander,
    Understanding,
    asks_something,
    last_question,
    sentences_of,
)
from safety.risk import RiskLevel

logger = logging.getLogger(__name__)

_WORDS = re.compile(r"[^\W_]+")
# A message of at most this many words may lean on the one before ("en de oudste?", "and on a visit?"); one that
# opens with "en", "and", "maar" may be a little longer ("en de kleine, moet ik die ook iets zeggen").
FOLLOW_UP_WORDS = 8
# A message this short, inside a conversation about something else, is read as a follow-up when only the models'
# readings (not the safety net's phrases, and the Rasa model under this crisis share) saw a crisis in it.
FRAGMENT_WORDS = 15
FRAGMENT_CRISIS_SHARE = 0.5
# After a correction ("nee niet letterlijk"), intents that are no question of their own.
NOT_ASKED_AFTER_CORRECTION = frozenset({"greet", "goodbye", "thanks", "acknowledge", "out_of_scope", "change_role"})
# A professional's whole question for local help is answered with where to refer a family (local help included).
REFERRAL_ANSWER = "prof_refer"
ELLIPTICAL_WORDS = 12
# A child's age alone ("ze is 15", "shes 14") is at most this many words.
AGE_ONLY_WORDS = 4
# ... or a few more when it leans on the message before ("and my daughter, shes 13?", "en de jongste dan, die is 9").
ELLIPTICAL_AGE_WORDS = 7
# An unsure reading of a question this long, or of a story this long, is answered as a guess (the other likely topic
# beside it), not asked back.
GUESS_QUESTION_WORDS = 8
# A question of at least this many words read as a goodbye, naming no leaving, is a question ("tbh do i have to go").
SMALL_TALK_QUESTION_WORDS = 4
# A role change in more words than this, asking something and naming no role change, is a question of its own.
ROLE_CHANGE_MAX_WORDS = 8
GUESS_STORY_WORDS = 10
# DJI: from this age a visitor shows their own valid ID.
VISIT_ID_AGE = 14
# A reading the model gives at least this much, next to another topic, still counts: a request for a person
# inside a question about forms, or a parent's question the model half read as a professional's.
SECOND_READING = 0.15
# A short follow-up pointing back ("daar", "that") that the model reads as another topic at less than this, with a
# second reading for the last topic, stays in the last topic.
BARELY_OTHER = 0.6
# A professionals' reading for a parent, carer or young person gives way to another reading this strong; and in a
# professional's case conversation, a family's reading gives way to a professionals' reading this strong.
NOT_FOR_THEM = 0.1
# Readings that never stand in for a professionals' reading of a family's message: privacy is about this bot, never a
# guess ("wie regelt die afspraak, wij of de gevangenis?" is no question about what the bot keeps).
_NOT_A_FAMILY_READING = frozenset(("for_professionals", "crisis", "privacy", "out_of_scope", "greeting", "goodbye"))
# An elliptical follow-up naming a thing the last topic's answers speak of stays in that topic when the model gave the
# topic at least this share of its reading ("en mn telefoon?" after visits: mostly calls, a little what to bring).
CONTEXT_SHARE = 0.05
# A follow-up this short that names what the model's (unsure) reading is about in that answer's label is taken as
# that answer, not as another angle on the last topic: "en post?" after money ("Brieven, post en geld").
NAMED_FRAGMENT_WORDS = 3
# After the lines, a question that says it moves on ("andere vraag, …", "ok. en hoe regel ik …") is answered as that
# question when the model gives its ordinary topic at least this much, though less than sure.
MOVING_ON_AT = 0.3
NOT_NAMED_BY_LABEL = frozenset(("crisis", "greeting", "goodbye", "out_of_scope", "talk_to_human", "privacy"))
# Answers a message's own words point at when the model read another topic (see `Chat._named_subject`).
TELLING_CHILDREN = "explain_to_child"
BIRTHDAY_PRESENT = "contact_letters"
SHAME = "stigma"
VEILIG_THUIS_FOR_FAMILIES = "prof_meldcode"
# "do i have to go?" about visits: whether a child must keep contact (it need not; the answer says so per audience)
NOT_OBLIGED = "contact_child_refuses"
# "how many children in NL have a parent inside?": the answer on others like them gives the figure
HOW_MANY = "peer_support"
# A word (of an answer's label, and of the message) names a topic from this length ("bezoek", "brieven"), unless it
# says how or who, not what.
NAMING_WORD = 6
_NAMES_NO_TOPIC = frozenset((
    "iemand", "tussen", "worden", "denken", "eerste", "someone", "something", "everything", "between", "coming",
    "sending", "telling", "bringing", "allowed", "worried", "written", "ouders",
))  # fmt: skip
# Question words that, alone ("how", "hoe dan?", "waarom"), ask for more on the answer just given.
_BARE_QUESTION = frozenset((
    "hoe", "hoezo", "wat", "waarom", "wanneer", "waar", "wie", "welke", "dan", "echt", "bedoel", "je", "jij",
    "how", "what", "why", "when", "where", "who", "which", "then", "really", "mean", "you", "do", "so",
))  # fmt: skip
# Words pointing back at the answer just given: "hoe meld ik me daarvoor aan", "how do I sign up for that".
# Words pointing at the place the last message spoke of ("hoe zorg ik dat ze daar niet gepest wordt" after school).
_THERE = frozenset(("daar", "daarvoor", "daarmee", "daaraan", "daarbij", "there"))
_POINTING_BACK = frozenset((
    "daarvoor", "daarvan", "daarmee", "daaraan", "daarbij", "daar", "dat", "die", "dit", "ervoor", "erbij", "die",
    "that", "it", "this", "those", "there", "them",
))  # fmt: skip
# Others than this bot, in a short question about what was just named ("lezen ze die?", "will they read it?").
_THEY = frozenset(("ze", "zij", "hun", "they", "them"))
# Words asking how to reach the organisations just named: "hours?", "wat is hun nummer", "are they open at night?".
_REACHING = frozenset((
    "hours", "open", "opening", "openingstijden", "openingstijd", "bereikbaar", "bereiken", "reach", "nummer",
    "telefoonnummer", "number", "website", "site", "email", "mail", "adres", "address", "kantoortijden", "tijden",
))  # fmt: skip
# A yes that takes up an offer ("ja graag", "yes please"), not an acknowledgement ("ok", "thanks").
_YES_PLEASE = frozenset(("ja", "jaa", "jawel", "jazeker", "graag", "yes", "yess", "yeah", "yep", "please", "ya"))
# Words pointing at what was just said, never at the bot itself ("dit", "this"): "en mag dat anoniem?".
_THAT = frozenset(("dat", "daar", "daarvoor", "daarbij", "that", "it", "those"))

# Where a clause ends, for finding a question without its question mark.
_CLAUSE_BREAK = re.compile(r"[.!;:\n]+")
# Words a question may open with before its question word: "ok. maar hoe kan ik…", "and so how do i…".
_LEAD_INS = frozenset(("ok", "oke", "oké", "okay", "oki", "maar", "en", "but", "and", "so", "dus", "nou", "well"))
# Words that make a request after the crisis lines a question about whom to call, not a request for a person here.
_CALL_WORDS = frozenset(("bel", "bellen", "call", "phone", "ring", "112", "113", "wie", "who", "nummer", "number"))
# Words for a person that a relative "who" follows ("a person who speaks English", "iemand wie …" in chat Dutch).
_SOMEONE_BEFORE_WHO = frozenset(("person", "someone", "somebody", "anyone", "anybody", "people", "iemand", "mens"))
# After the lines, these name the help itself: a question with them is about what to do now, whatever its topic.
_HELP_WORDS = frozenset((
    "112", "113", "politie", "police", "veilig", "huisarts", "doctor", "gp", "kindertelefoon", "wie", "who",
    "iemand", "niemand", "anyone", "someone", "nobody", "chat", "chatten", "gratis", "free", "helpline", "hulplijn",
    "crisislijn", "hotline",
))  # fmt: skip
# After the lines, a question about calling that names nobody to call ("do I still need to call?", "moet ik nu echt
# bellen als hij terugkomt?") is about the lines. It may be about calls with the one inside when the message speaks of
# the prison ("hij belt ze soms vanuit de bak. kan dat bellen ook stoppen?"), or when the question names someone as
# the one to call ("kan ik hem bellen?", "call him") or a relative ("hoe kan ik mn vader bellen, hij heeft daar geen
# telefoon?"); a relative named before the question ("mijn man heeft nog steeds het mes. moet ik nu echt bellen?")
# does not count. Word lists kept here beside the other after-the-lines words (`_HELP_WORDS`): they steer the flow,
# they are not shown.
_CALLING = frozenset(("bel", "bellen", "belt", "call", "calling", "phone", "ring", "gebeld", "called"))
_PRISON = frozenset(("gevangenis", "prison", "jail", "bajes", "bak", "pi", "detentie", "gevangene", "prisoner"))
_CALLED = frozenset(("hem", "him", "haar", "her", "them"))
_RELATIVE = frozenset((
    "papa", "mama", "vader", "moeder", "dad", "daddy", "mum", "mom", "mummy", "mommy", "father", "mother", "partner",
    "husband", "wife", "man", "vrouw", "vriend", "vriendin", "boyfriend", "girlfriend", "broer", "brother", "zus",
    "sister", "zoon", "son", "dochter", "daughter", "opa", "oma",
))  # fmt: skip
# Asking whether one must call ("moet ik nu echt bellen? hij zit morgen weer in de bak", "do I still need to call?")
# is the lines' question, whatever else the message names, unless the question names someone to call.
_MUST = frozenset(("moet", "moeten", "hoef", "hoeft", "should", "need", "have", "must"))
# Topics of an ordinary question that may come right after the lines ("mag ik papa nog bellen? hoe werkt dat vanuit
# de gevangenis", "after this, how do i explain to my kids what happened?"): answered as that question.
# Of those, the topics a question after the lines is about even when the model is unsure, if it is a whole question
# (at least WHOLE_QUESTION_WORDS words): telling the children, visits, contact, others like them, shame; not money,
# release or feelings, where "what if he comes back tonight?" may hide a question about the danger.
_AWAY_FROM_DANGER = frozenset(("explain_to_child", "visit", "contact", "peer_support", "stigma"))
WHOLE_QUESTION_WORDS = 6
# Help words that only say "someone": a peer-support question says them too ("is there anyone for dads like us?"),
# with a word for being alike (_LIKE) and none for now or tonight ("anyone i can stay with tonight, like us?").
_SOMEONE = frozenset(("iemand", "niemand", "anyone", "someone", "nobody"))
_LIKE = frozenset(("like", "zoals", "others", "anderen", "lotgenoten", "same", "zelfde", "hetzelfde"))
_NOW_OR_TONIGHT = frozenset((
    "now", "nu", "tonight", "vannacht", "vanavond", "stay", "sleep", "slapen", "logeren", "blijven", "here", "hier",
))  # fmt: skip
# What the model may read in a short follow-up naming a child given earlier with an age, after explaining to the
# children, that still asks how to tell that child: a greeting in a name, or a word about the child ("gevoelig").
_ABOUT_THE_CHILD_NAMED = frozenset((*follow_up.SMALL_TALK, "feelings"))
_ORDINARY_AFTER_LINES = frozenset(
    (
        "visit",
        "contact",
        "explain_to_child",
        "stigma",
        "practical",
        "peer_support",
        "for_professionals",
        "privacy",
        "feelings",
    )
)

# "wants to know which prison", "wil weten waar hij zit": knowing one thing, not being told.
_WHAT_EXACTLY = frozenset((
    "which", "where", "when", "how", "what", "welke", "welk", "waar", "wanneer", "hoe", "wat", "hoelang",
))  # fmt: skip
_HOW_LONG = ("hoe lang", "hoelang", "how long")
# A word for the thing just discussed, in a short question about how long it takes.
_IT_JUST_SAID = frozenset(("dat", "het", "t", "die", "hem", "haar", "zo", "zoiets", "that", "it", "this", "those"))
# "hoe lang duurt het voor hij vrijkomt": the length of the sentence after all.
_SENTENCE_WORDS = frozenset((
    "vrij", "vrijkomt", "vrijkomen", "thuis", "straf", "vast", "zitten", "zit", "released", "release", "out",
    "home", "sentence", "inside", "locked",
))  # fmt: skip
_WISHING = frozenset(("wants", "want", "wanted", "wil", "wilt", "willen", "wilde", "asks", "asked", "vraagt"))
# "de juf van mijn dochter", "the teacher of my son": the child as whose someone else is.
# The topics of keeping in touch with the parent inside: a "do i have to go" after them is about the visits.
_CONTACT = frozenset(("visit", "contact"))
# What a child word may own without an apostrophe ("my kids school", "my daughters teacher").
_CHILDS_OWN = frozenset((
    "school", "schools", "teacher", "teachers", "class", "daycare", "nursery", "creche", "childcare", "coach",
    "club", "mentor", "juf", "meester", "klas", "opvang", "kinderopvang",
))  # fmt: skip
_WHOSE = frozenset(("van", "of"))
# Words that may stand between "tell" and the child: "tell my kids", "vertel het de kinderen".
_DETERMINERS = frozenset(("my", "the", "our", "her", "his", "mijn", "mn", "de", "het", "onze", "ons", "haar", "zijn"))
_DETERMINERS_MAX = 2
# "wordt volgende maand 6", "turns 7 next week": the age within this many words of the word for turning.
_AGE_WITHIN = 3

TextStep = Callable[[Turn], Awaitable[list[Reply] | None]]
"""Handles typed text in one step; None: not an answer to this step's question, so it is an ordinary message."""


class Chat:
    def __init__(
        self,
        understander: Understander,
        content: Content,
        answers: Answers,
        handoff: HandoffFlow,
        crisis: Crisis,
        memory: Memory,
        recorder: Recorder,
    ) -> None:
        self._memory = memory
        self._recorder = recorder
        self._understander = understander
        self._content = content
        self._answers = answers
        self._handoff = handoff
        self._crisis = crisis
        self._read = ShortReplies(content)
        self._wording = Wording(content)
        self._child_words = content.words("child_words")
        self._knowing_words = content.words("knowing_words")
        self._differs_words = content.words("differs_words")
        self._id_words = content.words("id_words")
        self._differs_terms = " ".join(sorted(content.words("differs_answer_words")))
        self._watched_terms = " ".join(sorted(content.words("watched_answer_words")))
        self._birthday_words = content.words("birthday_words")
        self._turning_words = content.words("turning_words")
        self._gift_words = content.words("gift_words")
        self._birthday_terms = " ".join(sorted(self._birthday_words | self._gift_words))
        self._shame_words = content.words("shame_words")
        self._veilig_thuis = tuple(content.words("veilig_thuis_phrases"))
        self._obliged = tuple(content.words("obliged_phrases"))
        self._visit_words = content.words("visit_words")
        self._how_many = tuple(content.words("how_many_phrases"))
        self._groups_named = {group: content.words(f"{group}_named_words") for group in ("self", *AUDIENCES)}
        self._thanks = content.words("acknowledgement_words") | content.words("appreciation_words")
        self._referral = ReferralGuide(content, answers, understander.threshold)
        self._topic_naming_stems = _topic_naming_stems(content, answers)
        self._steps: dict[Step, TextStep] = {
            Step.CHOOSE_AUDIENCE: self._before_role,
            Step.HANDOFF_OFFER: self._offer_reply,
            Step.SAFETY_CHECK: self._feeling_reply,
            Step.ASK: self._slot_reply,
            Step.CONFIRM_RISK: self._meant_reply,
            Step.REFERRAL: self._referral_reply,
            Step.FORGET_CONFIRM: self._chat,
            Step.CHAT: self._chat,
        }
        self._commands: dict[str, Callable[[Turn], Awaitable[list[Reply]]]] = {
            "start": self._cmd_start,
            "menu": self._cmd_menu,
            "hulp": self._cmd_help_person,
            "help": self._cmd_help,
            "taal": self._cmd_language,
            "stop": self._handoff.stop,
        }

    async def command(self, turn: Turn, command: str) -> list[Reply]:
        """A command other than the privacy ones; unknown commands get a kind list of what works."""
        replies = await self._commands.get(command, self._cmd_unknown)(turn)
        return self._wording.apply(turn.conversation, replies)

    async def dispatch(self, turn: Turn) -> list[Reply]:
        """A typed message, answered in words that fit who the user said they are ("je moeder", "je kleinkind")."""
        replies = await self._dispatch(turn)
        self._wording.notice(turn.conversation, turn.text)  # after: the message may have said the role too
        return self._wording.apply(turn.conversation, replies)

    async def on_action(self, turn: Turn, action: Action | None) -> list[Reply]:
        """A button press, answered in words that fit who the user said they are."""
        return self._wording.apply(turn.conversation, await self._on_action(turn, action))

    async def _dispatch(self, turn: Turn) -> list[Reply]:
        """Danger first; then the step the conversation is in reads the message; else it is an ordinary one."""
        understanding, conversation = turn.understanding, turn.conversation
        assert understanding is not None
        if understanding.risk is RiskLevel.ACUTE and self._fragment_read_as_crisis(turn):
            understanding = turn.understanding = understanding.calmed()
        if understanding.risk is RiskLevel.ACUTE:
            if not self._professional_question(turn):
                return await self._danger(turn, understanding)
            understanding = turn.understanding = understanding.calmed()  # the guidance it reads, not the crisis intent
        alarm = conversation.alarm
        if conversation.safety_check and alarm in SUICIDE_FAMILY and self._understander.holds_on(turn.text, alarm):
            return await self._crisis.respond(turn, (alarm,))  # "ik heb het al besloten": the danger, held on to
        if not _WORDS.search(turn.text):
            return [Reply(self._content.ui("emoji_only", turn.language), self._answers.menu_buttons(turn.conversation))]
        step = turn.step
        handled = await self._steps[step](turn)
        if handled is not None:
            return handled
        turn.step = Step.CHAT
        return await self._chat(turn)

    async def _danger(self, turn: Turn, understanding: Understanding) -> list[Reply]:
        """Acute danger. An unclear signal gets the quiet lines and one check question; a second signal while that
        question is open, or right after the lines, is the danger again (the lines once more, worded anew); a
        message only the topic model reads as danger right after the lines gets a short check-in with the numbers."""
        conversation, categories = turn.conversation, understanding.categories
        if understanding.model_raised and not understanding.ambiguous and self._follow_up_in_a_topic(turn):
            # Only the Rasa model, on a short follow-up to an ordinary answer ("my mum tells my lil bro the same
            # thing tho, hes 6" after what to tell friends): the lines quietly, with the check question
            understanding = turn.understanding = replace(understanding, ambiguous=True)
        if understanding.ambiguous and not turn.crisis_sent:
            if conversation.safety_check:
                if self._read.is_correction(turn.text) or self._after_crisis_question(turn.text, understanding, True):
                    return await self._chat(turn)  # the lines are there already: a question or a correction
                return await self._crisis.respond(turn, categories)
            if turn.step is Step.CONFIRM_RISK:
                return await self._crisis.respond(turn, categories)
            return self._crisis.confirm(turn, categories)
        if understanding.model_raised and conversation.safety_check and not turn.crisis_sent:
            if self._read.is_correction(turn.text):
                return self._corrected(turn)
            return [self._crisis.check_in(turn)]
        return await self._crisis.respond(turn, categories)

    async def _role_switched(self, turn: Turn, audience: str) -> list[Reply]:
        """The role named in words with a change of role ("wait this is actually her son typing lol. im 13", "sorry,
        verkeerde knop, het gaat om mijn eigen man"): the role switches at once, said in one line. A question in the
        same message is answered for the new role; else the answer just given is given again for it; else the menu."""
        conversation = turn.conversation
        conversation.audience = audience
        note = Reply(self._content.ui("role_switched", turn.language, audience))
        understanding = turn.understanding
        assert understanding is not None
        if understanding.intent == "change_role":
            turn.understanding = understanding.without("change_role")
        if asks_something(turn.text):
            return [note, *await self._chat(turn)]
        last = conversation.last_answer
        if last is not None and self._content.has_answer(last) and topic_of(last) != "for_professionals":
            return [note, *self._answers.for_intent(turn, last)]
        return [note, self._answers.menu(conversation)]

    def _corrected(self, turn: Turn) -> list[Reply]:
        """ "Nee, zo bedoel ik het niet": the alarm ends; a correction that goes on to say what it was about ("… ik
        bedoel op die school, ze fluisteren als ik de kantine inloop") gets that answered, and one that still tells
        of distress ("… ik bedoel dat ik alles alleen moet doen") also gets who can help with that."""
        replies = self._crisis.correction(turn)
        understanding = turn.understanding
        if understanding is None:
            return replies
        asked = understanding.intent
        if (
            asked is not None
            and len(follow_up.words(turn.text)) > FRAGMENT_WORDS
            and understanding.clear_at(self._understander.threshold)
            and self._content.has_answer(asked)
            and asked not in NOT_ASKED_AFTER_CORRECTION
        ):
            # "nee niet zo!! ik bedoel op die school. sinds iedereen het weet fluisteren ze": what it was about
            replies += self._answers.for_intent(turn, asked, ask=False)
        if understanding.risk is RiskLevel.CONCERN:
            replies.append(self._concern(turn, understanding.categories))
        return replies

    def _follow_up_in_a_topic(self, turn: Turn) -> bool:
        """A short message (at most FRAGMENT_WORDS) right after an ordinary answer, no alarm or check open."""
        conversation = turn.conversation
        last = conversation.last_answer
        if turn.crisis_sent or conversation.alarm or conversation.safety_check or last is None:
            return False
        return self._content.has_answer(last) and len(follow_up.words(turn.text)) <= FRAGMENT_WORDS

    def _professional_question(self, turn: Turn) -> bool:
        """A professional asking what to do about a suspicion or a client's distress, which only the model read as
        a crisis (the safety net did not fire): guidance as a professional, not the crisis reply."""
        understanding = turn.understanding
        if turn.conversation.audience != "professional" or turn.crisis_sent or understanding is None:
            return False
        if not (understanding.model_raised or understanding.readings_only):
            return False  # a phrase of the safety net ("left a goodbye note"), if only a weak one: the lines stay
        if self._read.happening_now(turn.text):
            return False  # "right now the mum has locked her in the shed": danger now, the lines
        guidance = [name for name, _ in understanding.ranking[:3] if name.startswith("prof_")]
        return bool(guidance)

    def _fragment_read_as_crisis(self, turn: Turn) -> bool:
        """Only the models' readings leaned to crisis, with no phrase of the safety net behind it, on a short message
        from a professional ("en als hij dichtklapt") or, the Rasa model not leaning that way itself, on a short
        follow-up inside a conversation about something else ("ze lullen achter mn rug ook" after the answer on
        school): the embeddings of such a fragment say little, and the check question would break the
        conversation. It is answered as the follow-up it is; a phrase, or a Rasa reading of crisis, still brings
        the lines."""
        understanding, conversation = turn.understanding, turn.conversation
        if understanding is None or not understanding.readings_only or turn.crisis_sent:
            return False
        if len(follow_up.words(turn.text)) > FRAGMENT_WORDS:
            return False  # a whole story ("a pupil just told me … she can't go home tonight"): the readings stand
        if conversation.audience == "professional":
            return True
        # Inside a conversation: after an answer, after the lines (whose footer stays under every answer while the
        # alarm holds: "nee het bloedt niet meer" is a reply, not a new danger) or after a corrected alarm.
        inside = conversation.last_answer is not None or conversation.alarm is not None or conversation.safety_check
        return inside and understanding.crisis_share < FRAGMENT_CRISIS_SHARE

    async def _chat(self, turn: Turn) -> list[Reply]:
        """An ordinary message: understood and answered, with the offer of a person on serious distress."""
        understanding, conversation = turn.understanding, turn.conversation
        assert understanding is not None
        turn.step = Step.CHAT
        follow_up.notice(conversation, turn.text, understanding)
        if (conversation.safety_check or conversation.alarm) and self._read.is_correction(turn.text):
            return self._corrected(turn)
        if conversation.last_answer == NO_DESK and _takes_up_offer(turn.text):
            return [self._handoff.reachable_all(turn)]  # "ja graag" to who can be reached now: they, and how
        said_role = self._read.role_said(turn.text)
        if said_role is not None and said_role != conversation.audience:
            return await self._role_switched(turn, said_role)  # "wait this is actually her son typing, im 13"
        if conversation.last_answer is not None and self._read.asks_to_go_on(turn.text):
            following = self._answers.next_after(turn, conversation.last_answer)  # "ok and then?": what comes next
            if following is not None:
                return following
        if self._read.is_acknowledgement(turn.text) or self._read.is_appreciation(turn.text):
            return [self._answers.nodded_to(conversation)]
        if not understanding.nlu_available:
            return [self._answers.menu(conversation, "nlu_down")]
        if understanding.intent == "change_role":
            # a clear reading, or a role change named ("verkeerde rol"); "ik ben 13" after visits is an age
            clear = understanding.clear_at(self._understander.threshold) or self._read.names_role_change(turn.text)
            if clear and not self._asks_beyond_role(turn.text):
                return [self._answers.role_buttons(conversation)]
            understanding = turn.understanding = understanding.without(understanding.intent)
        sure = understanding.clear_at(self._understander.threshold)
        if conversation.alarm and self._asks_person_after_lines(turn, sure):
            return await self._cmd_help_person(turn)  # "kan ik met een echt iemand praten": a person, not a number
        # Right after the lines; or with only the quiet lines shown, a clear question ("moet ik 112 bellen?").
        strict = not conversation.safety_check
        if (
            conversation.alarm
            and self._after_crisis_question(turn.text, understanding, strict)
            and not self._ordinary_question_after_lines(turn, sure)
        ):
            return [self._crisis.after(turn)]
        group = self._group_asked_about(turn, sure)
        if group is not None and conversation.last_answer is not None:
            return [self._answers.for_group(turn, conversation.last_answer, group)]  # "and for teenagers?"
        local = await self._local_question(turn, sure)
        if local is not None:
            return local
        intent = understanding.intent or "out_of_scope"
        if intent == "greet" and conversation.last_answer == NO_DESK and not self._handoff.live:
            return [self._handoff.reachable_now(turn)]  # "hallo?" after hearing nobody is here: still nobody
        named = self._named_subject(turn)
        if named == BIRTHDAY_PRESENT and named == conversation.last_answer:
            # "en kan zij hem ook iets geven als hij jarig is?" right after post and presents: its part on birthdays
            return [self._answers.recall(turn, named, about=self._birthday_terms)]
        differs = self._asks_if_it_differs(turn)
        if differs is not None and differs == conversation.pending_intent:
            # "is that the same everywhere?" while "which town?" waits: the answer itself, which says what differs
            conversation.pending_intent, turn.step = None, Step.CHAT
            return self._answers.for_intent(turn, differs, ask=False)
        if differs is not None:  # "wait, does it depend on where I live?": what that answer says differs
            return [self._answers.recall(turn, differs, about=self._differs_terms)]
        if named is None:
            named = self._named_in_last_topic(turn)
            if named is not None and named == conversation.last_answer:
                return [self._answers.recall(turn, named)]  # "en de kluisjes?": the part of the answer just given
        turn.child_named = await self._named_child_meant(turn)
        leaning = None if named is not None else self._on_last_answer(turn, sure)
        if leaning is not None:
            return leaning
        # a child named with an age before, with a word about the child the model reads as feelings ("en Tijn? die is
        # zo gevoelig"): that child's follow-up before the word that named another answer ("gevoelig"); a question
        # on another topic ("en Daan? mag die mee op bezoek?") keeps the answer it names
        if turn.child_named and understanding.topic in _ABOUT_THE_CHILD_NAMED:
            in_context = self._in_context(turn, sure) or named
        else:
            in_context = named or self._in_context(turn, sure)
        guessed = False
        if in_context is not None:
            intent = in_context
        else:
            if understanding.topic in ("goodbye", "greeting") and self._asks_beyond_small_talk(turn):
                sure = False  # "and for me?", "tbh do i have to go": a question, never a goodbye
            elif intent == "goodbye" and not self._read.says_leaving(turn.text):
                return [self._answers.nodded_to(conversation)]  # "kut kort": a reaction, no farewell
            intent, sure = self._for_audience(turn, intent, sure)
            named_alternative = None if sure else self._named_alternative(turn)
            if named_alternative is not None:
                intent = named_alternative
            elif not sure and not self._may_guess(turn, intent):
                await self._recorder.unsure(turn.session, conversation.audience, turn.language)
                return [self._answers.unsure(conversation, understanding.alternatives)]
            guessed = not sure and named_alternative is None
        if intent == REFERRAL_INTENT:
            return self._referral.asked(turn)
        if intent == "talk_to_human" and not self._handoff.live:
            lead = self._content.answer(intent, turn.audience, turn.language).text
            return [self._handoff.reachable_now(turn, lead)]
        if intent == "out_of_scope":
            await self._recorder.out_of_scope(turn.session, conversation.audience, turn.language)
        else:
            await self._recorder.topic(turn.session, self._answers.topic(intent), conversation.audience, turn.language)
        before = conversation.last_answer
        replies = self._answers.for_intent(turn, intent, ask=self._may_ask(turn, intent))
        if guessed:  # an answer, or a question back ("Hoe oud is je kind?") that the last answer did not change
            changed = conversation.last_answer != before
            replies = self._answers.as_guess(turn, replies, intent, understanding.alternatives, answered=changed)
        if self._person_asked_too(turn, intent):
            lead = self._content.answer("talk_to_human", turn.audience, turn.language).text
            answered = conversation.last_answer
            replies.append(self._handoff.reachable_now(turn, lead))
            conversation.last_answer = answered  # a follow-up ("anoniem?") leans on the answer, not on the note
        elif understanding.risk is RiskLevel.CONCERN and turn.step is not Step.HANDOFF_OFFER:
            replies.append(self._concern(turn, understanding.categories))
        return replies

    async def _local_question(self, turn: Turn, sure: bool) -> list[Reply] | None:
        """Help in a municipality: a town on its own ("utrecht", after the pointer to local help) brings its card
        whatever the model makes of one word; a question for local help the model is unsure of ("welke lokale hulp
        is er in eindhoven", "en een wijkteam daar?") gets the local help, for a professional with the referral
        answer when it is a whole question (with the town known, rather than the step-by-step guide). None: an
        ordinary message."""
        conversation, understanding = turn.conversation, turn.understanding
        assert understanding is not None
        alone = entities.named_alone(turn.text)
        if alone is not None:
            conversation.municipality = alone
            return [self._answers.local(turn)]
        referral = understanding.intent == REFERRAL_INTENT  # asked for local help: no step-by-step guide first
        if sure and not referral and understanding.topic not in follow_up.SMALL_TALK:
            return None
        if not entities.asks_local_help(turn.text) or (referral and conversation.municipality is None):
            return None
        whole_question = len(follow_up.words(turn.text)) > FOLLOW_UP_WORDS
        if conversation.audience == "professional" and whole_question:
            topic = self._answers.topic(REFERRAL_ANSWER)
            await self._recorder.topic(turn.session, topic, conversation.audience, turn.language)
            return self._answers.for_intent(turn, REFERRAL_ANSWER)
        return [self._answers.local(turn)]

    def _may_ask(self, turn: Turn, intent: str) -> bool:
        """A follow-up within the conversation ("en op bezoek?") is answered, not met with a question first; nor is
        another question put instead of answering the one just asked (never the same question twice in a row; the
        same message again may get it again), nor a visit question about one named prison ("hoe laat is bezoek in
        Vught"), whose own page is the answer whether or not it is a first visit."""
        if follow_up.elliptical(turn.text):
            return False
        question = self._content.ask(intent)
        pending = turn.conversation.pending_intent
        waiting = self._content.ask(pending or "")
        if question is not None and waiting is not None and waiting.slot == question.slot and intent != pending:
            return False  # "how do I apply?" right after "Which town do you live in?": answered, not asked again
        if question is not None and question.slot == "first_visit":
            return entities.prison(turn.text, self._content.prisons) is None
        return True

    def _person_asked_too(self, turn: Turn, intent: str) -> bool:
        """A question that also asks for a person ("iemand die me helpt met de formulieren, kan iemand me bellen",
        "is there a person I can discuss a case with"): without a professionals' group, who can be reached now goes
        with the answer (a request is never left unanswered). Asked in so many words, it counts however the model
        weighed it next to the question."""
        understanding = turn.understanding
        if self._handoff.live or understanding is None or topic_of(intent) == "talk_to_human":
            return False
        if self._crisis.after_kind(turn.text) == "person":
            return True
        return any(name == "talk_to_human" and score >= SECOND_READING for name, score in understanding.ranking[:3])

    def _named_subject(self, turn: Turn) -> str | None:
        """The answer a message's own words point at, where the model read another topic. Whether the children
        should know or be told something is explaining it to them (when the model gave that a fair share); a
        birthday with a present is the Kindercadeauprogramma, under post and presents; Veilig Thuis named by a
        parent or carer who is not in danger ("school may call Veilig Thuis, what does that mean") is what Veilig
        Thuis and the meldcode mean for a family; shame named ("hij schaamt zich kapot op school") is about what
        others think, when the model gave that a fair share; how many children live with this is the answer on
        others like them, which gives the figure. None: the model's reading stands."""
        understanding, conversation = turn.understanding, turn.conversation
        assert understanding is not None
        said = follow_up.words(turn.text)
        present, topic = set(said), understanding.topic
        if topic != topic_of(TELLING_CHILDREN) and self._children_to_know(said):
            telling = _fair_reading(understanding, topic_of(TELLING_CHILDREN))
            if telling is not None:
                return telling
        if topic != topic_of(SHAME) and present & self._shame_words:
            shame = _fair_reading(understanding, topic_of(SHAME))
            if shame is not None:
                return shame
        if present & self._gift_words and self._birthday(said):
            return BIRTHDAY_PRESENT  # also when the model only half read it: the words name it
        family = conversation.audience == "parent" and not conversation.alarm and topic != "crisis"
        if family and follow_up.says_any(said, self._veilig_thuis):
            return VEILIG_THUIS_FOR_FAMILIES
        if self._asks_if_they_must_go(turn, said, present):
            return NOT_OBLIGED
        if not conversation.alarm and follow_up.says_any(said, self._how_many):
            return HOW_MANY
        return None

    def _asks_if_they_must_go(self, turn: Turn, said: list[str], present: set[str]) -> bool:
        """ "tbh do i have to go", "moet ik echt mee?", "do i have to bring them?" about visits (named, or the last
        answer on visits or contact): whether a child must keep going, read by the model as a goodbye or a crisis."""
        conversation = turn.conversation
        if conversation.audience == "professional" or conversation.alarm:
            return False
        if not follow_up.says_any(said, self._obliged):
            return False
        last = conversation.last_answer
        about_visits = last is not None and self._content.has_answer(last) and self._answers.topic(last) in _CONTACT
        return about_visits or bool(present & self._visit_words)

    def _named_in_last_topic(self, turn: Turn) -> str | None:
        """An elliptical follow-up naming a thing the last topic's answers speak of ("en mn telefoon?" after visits,
        "and the 8 year olds friends?" after school). The model sees the fragment alone and may read another topic
        ("telefoon": calls); when it gave the last topic a share too, the conversation decides between its readings.
        The answer of that topic whose label and text speak of the most of the message's words (on a tie, the
        model's likelier one). None: not such a follow-up, no answer of the last topic names those things, or the
        model saw nothing of the last topic in the message."""
        conversation, understanding = turn.conversation, turn.understanding
        assert understanding is not None
        last = conversation.last_answer
        if last is None or not self._content.has_answer(last) or not follow_up.elliptical(turn.text):
            return None
        if not self._short_follow_up(turn.text):
            return None
        topic = self._answers.topic(last)
        if topic in (*follow_up.SMALL_TALK, "talk_to_human") or understanding.topic == topic:
            return None  # nothing to lean on, or the model reads the last topic itself
        if self._fragment_names_its_reading(turn):
            return None  # "en post?" after money: the model's reading ("Brieven, post en geld") says so in its name
        share = sum(score for name, score in understanding.ranking if topic_of(name) == topic)
        if share < CONTEXT_SHARE:
            return None
        scores = dict(understanding.ranking)
        fits = []
        for key in self._content.intents:
            if self._answers.topic(key) == topic:
                label = self._content.label(key, turn.language)  # what the answer is about, in its own words
                answer = f"{label}\n\n{self._content.answer(key, turn.audience, turn.language).text}"
                fits.append((follow_up.shared_words(answer, turn.text), scores.get(key, 0.0), key))
        best = max(fits, default=None)
        return best[2] if best is not None and best[0] > 0 else None

    def _fragment_names_its_reading(self, turn: Turn) -> bool:
        """A fragment (at most NAMED_FRAGMENT_WORDS words) one of whose words the label of the model's likeliest
        reading names: "en post?" read as money ("Brieven, post en geld")."""
        assert turn.understanding is not None
        intent = turn.understanding.intent
        if len(follow_up.words(turn.text)) > NAMED_FRAGMENT_WORDS:
            return False
        if intent is None or not self._content.has_answer(intent) or topic_of(intent) in NOT_NAMED_BY_LABEL:
            return False
        return follow_up.shared_words(self._content.label(intent, turn.language), turn.text) > 0

    def _asks_if_it_differs(self, turn: Turn) -> str | None:
        """A short follow-up asking whether the answer just given differs per place or person ("does it depend on
        where I live?", "verschilt dat per gevangenis?"): that answer, when a part of it says what differs or where
        to ask. None: another message."""
        last = turn.conversation.pending_intent or turn.conversation.last_answer  # a question waits: its answer
        said = follow_up.words(turn.text)
        if last is None or not self._content.has_answer(last) or len(said) > ELLIPTICAL_WORDS:
            return None
        if not self._differs_words.intersection(said):
            return None
        text = self._content.answer(last, turn.audience, turn.language).text
        return last if follow_up.fitting_parts(text, self._differs_terms, 1) else None

    def _may_guess(self, turn: Turn, intent: str) -> bool:
        """Whether an unsure reading may still be answered as a guess: a message long enough to tell a story or to
        ask a question of its own (on the blind single-message sets the models' first reading of such a message is
        right about half the time, and the other likely topic is offered beside it), on a topic this user's menu
        has. A short message, small talk or a reading of nothing in particular gets the question back instead."""
        words = len(follow_up.words(turn.text))
        if words < GUESS_STORY_WORDS and not (words >= GUESS_QUESTION_WORDS and asks_something(turn.text)):
            return False
        return self._answers.topic(intent) in self._answers.menu_topics(turn.conversation)

    def _named_alternative(self, turn: Turn) -> str | None:
        """Unsure between its likeliest topics, the model may still have read a message that names what exactly one
        of them is about ("schiet mij maar lek, ik snap niks van die bezoekregels": feelings or visits, and
        "Op bezoek" is an answer's label): that topic's answer whose label names the most of the message's words
        (on a tie, the model's likelier one). Only words in one topic's labels alone name it ("gevangenis" and
        "kind" stand in several); who the message is about (the children's words) names none. None: no
        alternative, or more than one, is named."""
        understanding, conversation = turn.understanding, turn.conversation
        assert understanding is not None
        child_stems = follow_up.stems(" ".join(self._child_words))
        long_words = " ".join(word for word in follow_up.words(turn.text) if len(word) >= NAMING_WORD)
        said = (follow_up.content_words(long_words) - child_stems) & self._topic_naming_stems.keys()
        menu = self._answers.menu_topics(conversation)
        scores = dict(understanding.ranking)
        named: list[tuple[int, float, str]] = []
        for topic in understanding.alternatives:
            if topic not in menu:
                continue
            fits = [
                (len(said & follow_up.stems(self._content.label(key, turn.language))), scores.get(key, 0.0), key)
                for key in self._content.intents
                if self._answers.topic(key) == topic
            ]
            best = max(fits, default=None)
            if best is not None and best[0] > 0:
                named.append(best)
        return named[0][2] if len(named) == 1 else None

    def _children_to_know(self, said: list[str]) -> bool:
        """The children are the ones to know or be told: named before the word for knowing ("moeten de kinderen
        weten", "do the kids need to know") or right after it ("tell the kids"), and not as whose someone else is
        ("de juf van mijn dochter", "my son's teacher": the teacher is to be told). A child who wants to know one thing
        ("my grandson wants to know which prison his dad is in") asks about that thing, which the model reads."""
        knowing = [
            index
            for index, word in enumerate(said)
            if word in self._knowing_words and not _wants_to_know_one_thing(said, index)
        ]
        for child, word in enumerate(said):
            after = said[child + 1 : child + 2]
            # "my son's teacher", "my kids school" (written without the apostrophe): the teacher, the school is told
            whose = set(said[max(0, child - 2) : child]) & _WHOSE or after == ["s"] or bool(set(after) & _CHILDS_OWN)
            if word not in self._child_words or whose:
                continue
            if any(child < at for at in knowing):
                return True
            between = [said[at + 1 : child] for at in knowing if at < child]
            if any(len(words) <= _DETERMINERS_MAX and set(words) <= _DETERMINERS for words in between):
                return True
        return False

    def _birthday(self, said: list[str]) -> bool:
        """A birthday named ("verjaardag", "jarig") or an age about to be reached ("wordt volgende maand 6",
        "turns 7")."""
        if set(said) & self._birthday_words:
            return True
        return any(
            word in self._turning_words and any(after.isdigit() for after in said[at + 1 : at + 1 + _AGE_WITHIN])
            for at, word in enumerate(said)
        )

    def _for_audience(self, turn: Turn, intent: str, sure: bool) -> tuple[str, bool]:
        """Professionals' questions are for professionals: a carer's "ik ben pleegmoeder, ze vraagt of het haar
        schuld is" that the model half read as a professional's gets the best reading for a carer, when the model
        gave it a fair share."""
        understanding = turn.understanding
        if understanding is None:
            return intent, sure
        if turn.conversation.audience == "professional":
            return self._for_professional(turn, intent, sure)
        if topic_of(intent) != "for_professionals":
            return intent, sure
        for name, score in understanding.ranking:
            if topic_of(name) not in _NOT_A_FAMILY_READING and score >= NOT_FOR_THEM:
                return name, True
        return intent, sure

    def _for_professional(self, turn: Turn, intent: str, sure: bool) -> tuple[str, bool]:
        """In a professional's case conversation (the last answer was for professionals), a short follow-up the model
        read as a family's question ("krijgt de school dat te horen?") gets the professionals' reading it gave a fair
        share, which answers it from the professional's side (what the prison and the school share)."""
        understanding, last = turn.understanding, turn.conversation.last_answer
        assert understanding is not None
        if last is None or self._answers.topic(last) != "for_professionals" or not self._short_follow_up(turn.text):
            return intent, sure  # a question of its own ("how many children … have a parent in prison"): as read
        if topic_of(intent) in ("for_professionals", "talk_to_human", "crisis", *follow_up.SMALL_TALK):
            return intent, sure
        for name, score in understanding.ranking[:3]:
            if topic_of(name) == "for_professionals" and score >= NOT_FOR_THEM:
                return name, True
        return intent, sure

    def _on_last_answer(self, turn: Turn, sure: bool) -> list[Reply] | None:
        """A short message about the answer just given: a child's age after visits ("ze is 15": what that age
        means at the gate), a detail of that answer ("wat zet ik bij de omschrijving?"), a pointer back ("hoe meld
        ik me daarvoor aan?") or a bare "how?". None: read it as a message of its own. While a question before a
        visit answer waits ("eerste keer?"), a child's age alone ("hij is 10") is about that visit too."""
        conversation, understanding = turn.conversation, turn.understanding
        assert understanding is not None
        last, said = conversation.last_answer, follow_up.words(turn.text)
        asked_for = conversation.pending_intent
        if last is None and asked_for is not None and (not sure or understanding.topic in follow_up.SMALL_TALK):
            age = _child_age_about_visits(turn.text, said, self._answers.topic(asked_for))  # "hij is 10": no "hoi"
            if age is not None:
                conversation.pending_intent = None  # the rules for that child answer the visit question
                return self._visit_age(turn, age)
        if last == NO_DESK and 0 < len(said) <= ELLIPTICAL_WORDS:
            # "is it free? my mum checks the phone bill" after hearing who can be reached now: the lines it is about;
            # asking for hours or a number ("are they only open office hours?") is about them whatever the model read
            other = sure and understanding.topic not in (*follow_up.SMALL_TALK, "out_of_scope", "talk_to_human")
            other = other and not set(said) & _REACHING
            detail = self._handoff.reachable_detail(turn) if _asks(turn.text) and not other else None
            return [detail] if detail is not None else None
        # A question naming an ID or a card leans on the visit just answered a little longer ("hij heeft alleen een
        # schoolpas en een bankpasje, telt dat?").
        names_id = bool(self._id_words.intersection(said))
        about_id = names_id and len(said) <= ELLIPTICAL_WORDS
        if last is None or last == NO_DESK or not said or not (self._short_follow_up(turn.text) or about_id):
            return None
        if not self._content.has_answer(last):  # after the crisis lines: what was said then is no answer to lean on
            return None
        topic = self._answers.topic(last)
        if self._privacy_of_that(turn, topic):
            # "will they read it?" after letters: that answer's part on who opens or hears what
            return [self._answers.recall(turn, last, about=self._watched_terms)]
        if _how_long_for_that(said) and understanding.topic != topic:
            return [self._answers.recall(turn, last)]  # "and how long does that take?": what was just discussed
        age = _child_age_about_visits(turn.text, said, topic)
        # "and his sister? she's 10" leans on the visit with its "and", whatever the model reads in the age
        leans = age is not None and follow_up.elliptical(turn.text)
        if sure and understanding.topic not in (*follow_up.SMALL_TALK, topic) and not leans:
            return None  # clearly about something else
        if age is None and topic == "visit" and names_id:
            age = conversation.child_age  # "moet hij een ID hebben?" about the child of 5 named before
        pointed = len(said) <= ELLIPTICAL_AGE_WORDS and follow_up.elliptical(turn.text)
        if (
            age is None
            and topic == "visit"
            and pointed
            and (follow_up.focus(conversation, turn.text) or turn.child_named)
        ):
            age = conversation.child_age  # "and the middle one?" after the ID rules for "4, 9 and 15"
        if age is not None:
            return self._visit_age(turn, age)
        if sure and understanding.topic == topic and understanding.intent != last and not self._fits_last_better(turn):
            return None  # another question within the same topic, which the model reads itself
        question = "?" in turn.text or said[0] in QUESTION_WORDS or said[0] in _BARE_QUESTION
        if question and all(word in _BARE_QUESTION for word in said):
            return [self._answers.recall(turn, last)]
        answer = self._content.answer(last, turn.audience, turn.language).text
        if follow_up.fitting_parts(answer, turn.text, 1) and not (sure and understanding.topic == topic):
            return [self._answers.recall(turn, last)]
        if question and set(said) & (_POINTING_BACK | _REACHING):
            return [self._answers.recall(turn, last, cards=True)]  # "hours?": where the answer pointed to
        return None

    def _fits_last_better(self, turn: Turn) -> bool:
        """The answer just given speaks of more of a short question's words than the answer of the question the model
        reads within the same topic ("does the prison watch the call tho" after video calls: the model reads phone
        calls, but staff watching is in the answer on video calls)."""
        conversation, understanding = turn.conversation, turn.understanding
        assert understanding is not None and conversation.last_answer is not None and understanding.intent is not None
        if not self._content.has_answer(understanding.intent):
            return False
        last = self._content.answer(conversation.last_answer, turn.audience, turn.language).text
        read = self._content.answer(understanding.intent, turn.audience, turn.language).text
        return follow_up.shared_words(last, turn.text) > follow_up.shared_words(read, turn.text)

    def _group_asked_about(self, turn: Turn, sure: bool) -> str | None:
        """The group a short follow-up asks the answer just given for ("and for teenagers?", "en voor mij?",
        "thanks, and for the child itself?"), unless the model is sure it is about another topic."""
        last, understanding = turn.conversation.last_answer, turn.understanding
        assert understanding is not None
        if last is None or last == NO_DESK or not self._content.has_answer(last):
            return None
        if entities.child_ages(turn.text) and self._answer_by_age(last) is not None:
            return None  # "en voor tieners?" after explaining to a child: the answer for that age (`_in_context`)
        own = turn.audience
        group = follow_up.audience_named(turn.text, self._groups_named, own, self._thanks, ELLIPTICAL_WORDS)
        if group is None:
            return None
        small = understanding.topic in (*follow_up.SMALL_TALK, "out_of_scope", self._answers.topic(last))
        return group if small or not sure else None

    @staticmethod
    def _short_follow_up(text: str) -> bool:
        """Short enough to lean on the message before."""
        limit = ELLIPTICAL_WORDS if follow_up.elliptical(text) else FOLLOW_UP_WORDS
        return 0 < len(follow_up.words(text)) <= limit

    def _visit_age(self, turn: Turn, age: int) -> list[Reply]:
        """A child's age after an answer about visits: whether that child needs ID, with the rules for who may
        come (or a reminder of them, when they were just given)."""
        key = "visit_age_id" if age >= VISIT_ID_AGE else "visit_age_no_id"
        line = self._content.ui(key, turn.language, turn.audience).format(age=age)
        replies = self._answers.for_intent(turn, "visit_rules", ask=False)
        first = replies[0]
        return [Reply(f"{line}\n\n{first.text}", first.buttons), *replies[1:]]

    async def _named_child_meant(self, turn: Turn) -> bool:
        """ "What about the twins", "en Noor?": a short message naming one of several children given earlier with an
        age ("the twins are 3", "Noor (2)"). That child's age becomes the one meant. The names are read from the
        recent messages (kept sealed for a transcript anyway), so no name is stored for this."""
        conversation = turn.conversation
        said = follow_up.words(turn.text)
        if len(follow_up.ages(conversation)) < 2 or not said or len(said) > ELLIPTICAL_WORDS:
            return False
        named: dict[str, int] = {}
        for line in await self._memory.recent_lines(turn.session, conversation.key):
            named.update(entities.named_children(line))
        meant = {named[word] for word in said if word in named}
        if len(meant) != 1:
            return False
        conversation.child_age = meant.pop()
        return True

    def _in_context(self, turn: Turn, sure: bool) -> str | None:
        """A short follow-up read against the last answer: "en de oudste?", "en mag mijn dochter mee?", "how".

        The model sees one message; a short one that leans on the one before is answered within the last topic,
        for the child now meant. None: the message stands on its own."""
        conversation, understanding = turn.conversation, turn.understanding
        assert understanding is not None
        last = conversation.last_answer or conversation.pending_intent  # after a question, what it was asked for
        said = follow_up.words(turn.text)
        there = bool(_THERE.intersection(said)) and len(said) <= ELLIPTICAL_WORDS  # "daar": where the last one was
        if last is None or not (self._short_follow_up(turn.text) or there):
            return None
        if understanding.topic == "goodbye" and self._read.says_leaving(turn.text):
            return None  # "oke doei": a farewell after any answer, not that topic again
        topic = self._answers.topic(last)
        if follow_up.elliptical(turn.text) and entities.child_ages(turn.text):
            by_age = self._answer_by_age(last)
            if by_age is not None:
                return by_age  # "en voor tieners?": the same answer, for that age
        named_alone = turn.child_named and follow_up.elliptical(turn.text) and understanding.topic != "goodbye"
        if named_alone and topic == "explain_to_child" and understanding.topic in _ABOUT_THE_CHILD_NAMED:
            # "en Daan?", read as a greeting, or "en Tijn? die is zo gevoelig", read as feelings: the child named
            # with an age before is meant, and telling that child is still the question
            return "explain_to_child"
        other = understanding.topic not in ("out_of_scope", topic)
        if (
            sure
            and other
            and not follow_up.half_small_talk(understanding, turn.text)
            and not self._privacy_of_that(turn, topic)
        ):
            # "hoe zorg ik dat ze daar niet gepest wordt" after the school: a message pointing back, which the model
            # reads as another topic only just, with a fair share for the last topic, stays in the last topic
            back = _fair_reading(understanding, topic) if _POINTING_BACK.intersection(said) else None
            return back if back is not None and understanding.confidence < BARELY_OTHER else None
        if (follow_up.focus(conversation, turn.text) or turn.child_named) and topic == "explain_to_child":
            return "explain_to_child"
        if sure and understanding.topic == topic:
            return None  # the model sees the same topic itself
        if understanding.topic != topic and self._fragment_names_its_reading(turn):
            return understanding.intent  # unsure, but "en post?" names its reading's answer ("Brieven, post en geld")
        # Within the last topic, the likeliest other question: a different angle, not the same answer again.
        in_topic = [name for name, score in understanding.ranking if topic_of(name) == topic and name != last]
        if in_topic:
            return in_topic[0]
        return TOPIC_INTENT.get(topic) if topic in TOPIC_INTENT and TOPIC_INTENT[topic] != last else None

    def _answer_by_age(self, last: str) -> str | None:
        """The answer that asks a child's age and gave `last` (or is it): what to show again for another age."""
        asked = self._content.ask(last)
        if asked is not None and asked.slot == "child_age":
            return last
        for key in self._content.intents:
            asked = self._content.ask(key)
            if asked is not None and asked.slot == "child_age" and last in asked.choose.values():
                return key
        return None

    def _privacy_of_that(self, turn: Turn, last_topic: str) -> bool:
        """ "En mag dat anoniem?" after advice on Veilig Thuis: a follow-up asking whether the thing just named can be
        done anonymously or privately. The model reads privacy, which is what this bot keeps; "dat" and "that" point
        at the last answer instead ("dit", "this" may mean the bot itself)."""
        understanding = turn.understanding
        assert understanding is not None
        short = len(follow_up.words(turn.text)) <= ELLIPTICAL_WORDS  # "will they read it?" after letters
        leaning = follow_up.elliptical(turn.text) or short
        if understanding.topic != "privacy" or last_topic == "privacy" or not leaning:
            return False
        return bool(set(follow_up.words(turn.text)) & (_THAT | _THEY))

    def _asks_beyond_role(self, text: str) -> bool:
        """A longer question the model read as a role change that names no change of role ("heb ik als oma ook
        recht op ondersteuning, ik ben geen ouder"): a question about its topic, not a request for the role buttons."""
        return (
            len(follow_up.words(text)) > ROLE_CHANGE_MAX_WORDS
            and asks_something(text)
            and not self._read.names_role_change(text)
        )

    def _asks_beyond_small_talk(self, turn: Turn) -> bool:
        """A message read as a greeting or goodbye that asks something: one leaning on the last answer with its
        question mark ("and for me?"), or a question of a few words read as a goodbye that names no leaving ("tbh do
        i have to go"; "ok thanks, can i come back later?" stays a goodbye)."""
        text, understanding = turn.text, turn.understanding
        if follow_up.elliptical(text) and "?" in text:
            return True
        if understanding is None or understanding.topic != "goodbye" or self._read.says_leaving(text):
            return False
        # a question of a few words ("tbh do i have to go"), or a short one with its question mark ("hoe lang?")
        return asks_something(text) and (len(follow_up.words(text)) >= SMALL_TALK_QUESTION_WORDS or "?" in text)

    def _asks_person_after_lines(self, turn: Turn, sure: bool) -> bool:
        """After the lines, a request for a person here ("can i talk to a real person") is that request (/hulp),
        not a question about whom to call; "wie moet ik bellen" stays a question about the numbers."""
        understanding = turn.understanding
        assert understanding is not None
        said = follow_up.words(turn.text)
        if set(said) & _CALL_WORDS and not _only_a_relative_who(said):
            return False
        kind = self._crisis.after_kind(turn.text)
        if kind == "no_call":
            return False  # "can i just text someone": the chats of the lines, not a person here
        return kind == "person" or (sure and understanding.topic == "talk_to_human")

    def _ordinary_question_after_lines(self, turn: Turn, sure: bool) -> bool:
        """A clear question (with its question mark) on an ordinary topic that only shares a word with the questions
        after the lines ("mag ik papa nog bellen?", "after this, how do i explain…?"): it names no help or helper
        (112, Veilig Thuis, the GP, "wie", "iemand", a chat) and is no kind of question about the danger (crisis.yml
        `after`; the kind "over" only says when), so it gets its own answer. "i dont wanna call anyone i hate phones"
        stays about the lines. Less than sure, a question that says it moves on (a nod first, or "andere vraag")
        is answered too."""
        understanding = turn.understanding
        assert understanding is not None
        if understanding.topic not in _ORDINARY_AFTER_LINES:
            return False
        moving_on = sure or understanding.confidence >= MOVING_ON_AT
        if moving_on and self._read.switches_topic(turn.text):
            return True  # "ok chat staat open. andere vraag, …": another question, said so
        if self._crisis.after_kind(turn.text) not in ("ask", "over"):
            return False  # "ik wil niet bellen, de kinderen horen me. kan het ook anders?": about the lines
        # the question itself, after a report on the call ("ok 112 said they'll pass it on. our son will ask why…?")
        question = last_question(turn.text) or _question_after_a_report(turn.text)
        asked = _asks(question) or _asks(question.rsplit(",", 1)[-1])  # "…on sunday, what do i say"
        said = set(follow_up.words(question))
        helpers = said & _HELP_WORDS
        if sure and understanding.topic == "peer_support" and said & _LIKE and not said & _NOW_OR_TONIGHT:
            helpers -= _SOMEONE  # "is there anyone for dads like us?": others like them, not someone to call
        if not asked or helpers:
            return False
        if said & _CALLING and not self._someone_to_call(turn, said):
            return False  # "the knife is still with him. do I still need to call?": calling whom is the lines' question
        # less than sure: only a question after a nod to the lines ("ok. en hoe regel ik dat de kinderen hun moeder
        # kunnen zien"), and not about feelings ("oké. maar hoe moet ik dit volhouden" stays with the lines)
        nodded = self._read.opens_with_a_nod(turn.text)
        # or, once the message says the danger is over (crisis.yml `after` kind "over": "they took him", "gone",
        # "on their way"), a whole question about the children, visits or others like them ("they took him. what do
        # i even tell noor about tonight"); while it may go on ("hes outside the bathroom door. how do i explain to
        # my daughter why were hiding?") a question stays with the lines
        over = self._crisis.after_kind(turn.text) == "over"
        whole = over and len(said) >= WHOLE_QUESTION_WORDS and understanding.topic in _AWAY_FROM_DANGER
        if not sure and not (moving_on and (nodded or whole) and understanding.topic != "feelings"):
            return False
        return self._crisis.after_kind(question) in ("ask", "over")  # "over": "after", "daarna" alone

    @staticmethod
    def _someone_to_call(turn: Turn, question: set[str]) -> bool:
        """Whether a question about calling after the lines names someone to call other than a helper (see
        `_CALLING`): someone as the one called or a relative in the question, or the prison named in the message when
        the question does not ask whether one must call (`_MUST`)."""
        if question & (_CALLED | _RELATIVE):
            return True
        return not question & _MUST and bool(_PRISON.intersection(follow_up.words(turn.text)))

    def _after_crisis_question(self, text: str, understanding: Understanding, strict: bool = False) -> bool:
        """After the crisis lines, a question about what to do now ("moet ik 112 bellen?", "wie moet ik bellen",
        "hes not here now") is answered for that danger, not read as a new topic or a no. `strict`: only a question
        in so many words (while the check question is open, anything else is an answer to it or a new message)."""
        if set(follow_up.words(text)) & self._read.after_crisis_words:
            return True
        if strict:
            return False
        weak = understanding.confidence < self._understander.threshold
        return weak or understanding.topic in ("talk_to_human", "out_of_scope", "feelings", "goodbye", "greeting")

    def _concern(self, turn: Turn, categories: tuple[str, ...]) -> Reply:
        """Serious distress short of danger: a person offered when one can come, else who can help."""
        if not self._handoff.live:
            return Reply(self._content.ui("concern_no_desk", turn.language, turn.audience))
        reason = f"concern:{categories[0] if categories else 'not_coping'}"
        key = "concern_offer_professional" if turn.conversation.audience == "professional" else "concern_offer"
        return self._answers.offer(turn.conversation, key, reason)

    async def _before_role(self, turn: Turn) -> list[Reply] | None:
        """A message before the user chose a role: the first gets the welcome (its question is answered after
        the choice); later ones are answered, with the role buttons again."""
        understanding, conversation = turn.understanding, turn.conversation
        assert understanding is not None
        sure = understanding.sure and understanding.confidence >= self._understander.threshold
        if turn.new or not sure or understanding.topic in ("greeting", "out_of_scope"):
            if sure and understanding.intent and understanding.topic not in ("greeting", "goodbye"):
                conversation.pending_intent = understanding.intent
            return [self._answers.welcome(conversation)]
        replies = await self._chat(turn)
        turn.step = Step.CHOOSE_AUDIENCE
        return [*replies, self._answers.role_buttons(conversation, "choose_role_reminder")]

    async def _offer_reply(self, turn: Turn) -> list[Reply] | None:
        answer = self._read.yes_no(turn.text)
        return None if answer is None else await self._handoff.answer(turn, answer)

    async def _meant_reply(self, turn: Turn) -> list[Reply] | None:
        """A typed answer to "do you mean you want to hurt yourself?": a short yes or no, or a correction. A reply
        about the danger itself ("hes not here now", "wat gebeurt er als ik Veilig Thuis bel") is no "no": it is
        answered for that danger (crisis.yml `after`), with the check-in. A reply that tells of a wound ("t is nie
        erg hoor t bloedt al nie meer") says it happened, and one that gives up ("is toch niet erg, ik wil gewoon rust")
        means it, unless it denies it ("ik ga mezelf niks aandoen, ik wil gewoon rust"): a yes."""
        if self._read.is_correction(turn.text):
            return self._corrected(turn)
        alarm = turn.conversation.alarm
        if alarm in SUICIDE_FAMILY and self._read.tells_of_a_wound(turn.text):
            return await self._crisis.confirmed(turn, True)
        if alarm in SUICIDE_FAMILY and self._read.gives_up(turn.text) and not self._denies(turn.text):
            return await self._crisis.confirmed(turn, True)  # "is toch niet erg, ik wil gewoon rust"
        if self._crisis.after_kind(turn.text) != "ask":
            turn.step = Step.SAFETY_CHECK
            return [self._crisis.after(turn)]
        meant = self._read.yes_no(turn.text)
        if meant is None and self._read.takes_back(turn.text):
            return [self._crisis.taken_back(turn)]  # "forget I said that": neither yes nor no; the lines stay
        return None if meant is None else await self._crisis.confirmed(turn, meant)

    def _denies(self, text: str) -> bool:
        """The safety net reads a denial in the message ("ik ga mezelf niks aandoen", "i won't hurt myself")."""
        return "denial" in self._understander.assess_rules(text).cues

    async def _feeling_reply(self, turn: Turn) -> list[Reply] | None:
        if self._read.is_correction(turn.text):
            return self._corrected(turn)
        feeling = self._read.feeling(turn.text)
        if feeling is None and self._read.takes_back(turn.text):
            return [self._crisis.taken_back(turn)]
        return None if feeling is None else self._crisis.feeling(turn, feeling)

    async def _slot_reply(self, turn: Turn) -> list[Reply] | None:
        """A typed answer to the follow-up question; None when the message is about something else."""
        conversation, understanding = turn.conversation, turn.understanding
        assert understanding is not None
        ask = self._content.ask(conversation.pending_intent or "")
        if ask is None:
            return None
        value = follow_up.typed_reply(
            ask.slot,
            turn.text,
            understanding,
            self._understander.threshold,
            self._read.yes_no(turn.text),
            self._read.skip(turn.text),
            self._read.is_acknowledgement(turn.text),
        )
        if value is None:
            return None
        return self._slot_answer(turn, ask.slot, value)

    async def _referral_reply(self, turn: Turn) -> list[Reply] | None:
        """A reply to the referral guide's question; a message about something else leaves the guide, kindly."""
        replies = self._referral.typed(turn, self._read.skip(turn.text))
        return replies if replies is not None else [self._referral.leave(turn), *await self._chat(turn)]

    def _slot_answer(self, turn: Turn, slot: str, value: str) -> list[Reply]:
        """Store the answer to the follow-up question (or that it was skipped) and give the waiting answer."""
        conversation = turn.conversation
        if value == "skip":
            follow_up.skip(conversation, slot)
        else:
            follow_up.store(conversation, slot, value, turn.text)
        pending, conversation.pending_intent = conversation.pending_intent, None
        turn.step = Step.CHAT
        return self._answers.for_intent(turn, pending or "out_of_scope")

    async def _on_action(self, turn: Turn, action: Action | None) -> list[Reply]:
        conversation = turn.conversation
        match action:
            case actions.ChooseAudience(audience):
                conversation.audience = audience
                turn.step = Step.CHAT
                pending, conversation.pending_intent = conversation.pending_intent, None
                if pending:
                    return self._answers.for_intent(turn, pending)
                return [
                    Reply(
                        self._content.ui("audience_chosen", turn.language, audience),
                        self._answers.menu_buttons(conversation),
                    )
                ]
            case actions.SetLanguage(lang):
                conversation.language = lang
                if conversation.audience is None:
                    return [self._answers.welcome(conversation)]
                return [Reply(self._content.ui("language_set", lang)), self._answers.menu(conversation)]
            case actions.ShowTopic(topic) if topic in TOPIC_INTENT:
                turn.step = Step.CHAT
                return self._answers.for_intent(turn, TOPIC_INTENT[topic])
            case actions.ShowAnswer(intent) if self._content.has_answer(intent) and intent != "talk_to_human":
                turn.step = Step.CHAT
                return self._answers.for_intent(turn, intent)
            case actions.AnswerSlot(slot, choice) if turn.step is Step.ASK:
                return self._slot_answer(turn, slot, choice)
            case actions.Reply(Question.HANDOFF, yes):
                return await self._handoff.answer(turn, yes)
            case actions.Reply(Question.TRANSCRIPT, yes):
                return await self._handoff.transcript(turn, yes)
            case actions.Reply(Question.PARK, yes):
                return await self._handoff.park(turn, yes)
            case actions.Reply(Question.MEANT, yes) if turn.step is Step.CONFIRM_RISK:
                return await self._crisis.confirmed(turn, yes)
            case actions.StartReferral() if conversation.audience == "professional":
                return [self._referral.start(turn)]
            case actions.ReferralChoice(question, choice) if turn.step is Step.REFERRAL:
                return self._referral.choose(turn, question, choice)
            case actions.Feeling(okay):
                return self._crisis.feeling(turn, okay)
            case actions.ShowMenu():
                turn.step = Step.CHAT
                return [self._answers.menu(conversation)]
            case actions.Feedback(answer, useful):
                return await self._answer_feedback(turn, answer, useful)
        logger.info("ignored an unknown or stale button action")
        return [self._answers.menu(conversation)]

    async def _answer_feedback(self, turn: Turn, answer: str, useful: bool) -> list[Reply]:
        """A tap on 👍/👎: counted once per answer shown (anonymously, per week), thanked in place; the step the
        conversation is in does not change."""
        shown = (turn.conversation.key, answer)
        if shown in self._answers.ratings.open:
            self._answers.ratings.open.discard(shown)
            await self._recorder.feedback(turn.session, answer, useful, turn.conversation.audience, turn.language)
        return [Reply(self._content.ui("feedback_thanks", turn.language), in_place=True)]

    async def _cmd_start(self, turn: Turn) -> list[Reply]:
        turn.conversation.pending_intent = None
        return [self._answers.welcome(turn.conversation)]

    async def _cmd_menu(self, turn: Turn) -> list[Reply]:
        turn.step = Step.CHAT
        return [self._answers.menu(turn.conversation)]

    async def _cmd_help_person(self, turn: Turn) -> list[Reply]:
        if await cases.latest(turn.session, turn.conversation.key, cases.ACTIVE) is not None:
            return [Reply(self._content.ui("handoff_waiting", turn.language))]
        if not self._handoff.live:
            lead = self._content.answer("talk_to_human", turn.audience, turn.language).text
            return [self._handoff.reachable_now(turn, lead)]
        return self._answers.for_intent(turn, "talk_to_human")

    async def _cmd_help(self, turn: Turn) -> list[Reply]:
        return [self._answers.menu(turn.conversation, "help")]

    async def _cmd_language(self, turn: Turn) -> list[Reply]:
        other = "en" if turn.language == "nl" else "nl"
        return await self._on_action(turn, actions.SetLanguage(other))

    async def _cmd_unknown(self, turn: Turn) -> list[Reply]:
        return [self._answers.menu(turn.conversation, "unknown_command")]


def _only_a_relative_who(said: list[str]) -> bool:
    """ "is there a person who speaks english?": the only call word is "who" after a person, asking for one; "who
    should i call" asks whom to call."""
    callers = [at for at, word in enumerate(said) if word in _CALL_WORDS]
    return all(said[at] in ("who", "wie") and at > 0 and said[at - 1] in _SOMEONE_BEFORE_WHO for at in callers)


def _how_long_for_that(said: list[str]) -> bool:
    """ "and how long does that take?", "hoe lang duurt t voor hij hem krijgt": how long the thing just discussed takes
    (the model alone reads "how long" as the length of a sentence)."""
    asks_how_long = follow_up.says_any(said, _HOW_LONG)
    bare = len(said) <= 3  # "hoe lang?", "en hoe lang dan": only the question, about what was just said
    return asks_how_long and (bare or bool(set(said) & _IT_JUST_SAID)) and not set(said) & _SENTENCE_WORDS


def _wants_to_know_one_thing(said: list[str], at: int) -> bool:
    """ "wants to know which prison", "wil weten waar hij zit": the word for knowing at `at`, after a wish and
    before a question word ("should they be told which prison" is still whether to tell them)."""
    wished = set(said[max(0, at - 2) : at]) & _WISHING
    return bool(wished) and bool(set(said[at + 1 : at + 2]) & _WHAT_EXACTLY)


def _child_age_about_visits(text: str, said: list[str], topic: str) -> int | None:
    """A child's age alone ("ze is 15", "hij is 10"), or leaning on the message before ("and my daughter, shes 13?"),
    in a conversation about visits; None otherwise."""
    limit = ELLIPTICAL_AGE_WORDS if follow_up.elliptical(text) else AGE_ONLY_WORDS
    if topic != "visit" or len(said) > limit:
        return None
    return entities.age_reply(text)


def _question_after_a_report(text: str) -> str:
    """What a message asks after a first sentence that asks nothing ("ok 112 said theyll pass it on. our son will
    ask why…, what do i say"); else the whole message ("hoe kan ik mn vader bellen? hij belt bijna nooit")."""
    sentences = sentences_of(text)
    if len(sentences) < 2 or _asks(sentences[0]):
        return text
    return " ".join(sentences[1:])


def _takes_up_offer(text: str) -> bool:
    """A short yes that takes up what was just offered ("ja graag", "yes please"), not a question."""
    said = follow_up.words(text)
    return 0 < len(said) <= 3 and said[0] in _YES_PLEASE and "?" not in text


def _asks(text: str) -> bool:
    """A question, with its question mark or without: "ok. maar hoe kan ik mn vader bellen, hij heeft daar geen
    telefoon toch" (a clause opening with a question word, after a nod or a "but")."""
    if "?" in text:
        return True
    for clause in _CLAUSE_BREAK.split(text):
        said = [word for word in follow_up.words(clause) if word not in _LEAD_INS]
        if said and said[0] in QUESTION_WORDS:
            return True
    return False


def _topic_naming_stems(content: Content, answers: Answers) -> dict[str, str]:
    """The words (cut to their start) of the answers' labels, in every language, that stand in one topic's labels
    alone, with that topic: "bezoek" names visits; "gevangenis", in the labels of several topics, names none; nor
    does a short word ("haar", "naar") or a label's word that says how, not what ("iemand", "tussen")."""
    topics: dict[str, set[str]] = {}
    for key in content.intents:
        for language in LANGUAGES:
            for word in follow_up.words(content.label(key, language)):
                if len(word) >= NAMING_WORD and word not in _NAMES_NO_TOPIC:
                    topics.setdefault(word[: follow_up.STEM], set()).add(answers.topic(key))
    return {stem: next(iter(named)) for stem, named in topics.items() if len(named) == 1}


def _fair_reading(understanding: Understanding, topic: str) -> str | None:
    """The model's likeliest intent of `topic` among its top three, when it gave it a fair share (SECOND_READING)."""
    return next(
        (name for name, score in understanding.ranking[:3] if topic_of(name) == topic and score >= SECOND_READING),
        None,
    )
