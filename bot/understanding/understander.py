"""Understanding one message: the safety net first, then the NLU model, combined into one topic and one risk."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from bot.content import SUICIDE_CATEGORIES
from bot.understanding import language
from bot.understanding.learned_topics import LearnedTopics, blend
from bot.understanding.nlu_client import NluClient, NluUnavailable, Parse
from bot.understanding.topics import (
    CATEGORY_CRISIS_INTENT,
    CONCERN_INTENTS,
    CRISIS_INTENT_CATEGORY,
    SUGGESTIBLE,
    topic_of,
)
from safety.risk import NEGATION, Assessment, RiskLevel, SafetyNet, Subject, long_enough

logger = logging.getLogger(__name__)
Ranking = tuple[tuple[str, float], ...]

# The model sees at most this much of a message; the safety net always reads all of it.
NLU_MAX_CHARS = 1000
# The topic model's confidence from which it overrules an alarm that only the learned layer raised: conservative,
# so that the learned layer keeps catching what phrases and model miss (see the README's figures).
LEARNED_OVERRULED_AT = 0.85
# With the learned layer on, the NLU model alone may not raise the alarm on a message that the embedding readings
# (the learned risk layer, and the topic reading) score below this on average: a question about help after the lines
# ("wat gebeurt er als ik Veilig Thuis bel?") leans to crisis in the topic model but not in the learned layer, which
# was trained on what danger itself sounds like.
LEARNED_VETO_BELOW = 0.2
# What a longer message is worried about when only the Rasa model read a crisis in it (support, no lines).
MODEL_WORRY_CATEGORY = "not_coping"
# The mean probability of crisis over the readings of one message from which the lines are shown quietly with the
# check question (`_readings_agree`). Each embedding reading is the regression and the nearest training lines
# averaged, which keeps harmless lines low (on the blind sets 0.4 kept as many quiet false alarms as 0.5 did and caught
# more acute messages; with the regression alone this was 0.5, "more likely than not").
READINGS_AGREE_AT = 0.4
# The same where the readings' likelier danger is harm to oneself (suicidal, self-harm; also when no reading names a
# crisis intent, `_crisis_share`'s default: then the learned score alone must reach 0.7) in a message that no phrase and
# not the learned layer alone raised: danger told through a place or a means ("how many of mums lithium would be
# enough", a quarry fence, an iron held to the arm) sits at a learned score of 0.5-0.75 with a low topic reading. Round
# 21: one value of 0.35 for every danger caught 5 more acute messages on the 19 sets for 1 false alarm and 7 quiet
# lines, but in the conversation suite it put the quiet violence lines under 5 stories of an arrest ("she was on the
# stairs when they took him"); for harm to oneself alone it cost 2 dialogues. 0.3 caught 9 more on the older sets for
# 4 false alarms, 36 quiet lines and 27 topics wrong. An alarm the learned layer raised on its own (from its
# `raise_above` of 0.75) keeps `READINGS_AGREE_AT`: with 0.35 its score alone would carry it through, and a topic
# reading sure of another topic would no longer count. The seam is uneven (a raised 0.78 against a topic share of 0
# is dropped, an unraised 0.72 is not); to be smoothed with one rule for both.
SELF_HARM_AGREE_AT = 0.35
# A lone alarming word ("zelfbeschadiging" in a professional's question, "a suicide prevention training at work"),
# with a scope's cue in the message, is let go when no reading of the message gives crisis even this much.
ONE_WORD_CALM_BELOW = 0.3
# A phrase made unclear by a joke's marker ("i want to die lol my hair looks like a mop") is let go when no reading of
# the whole message gives crisis even this much (on the blind sets: two harmless lines, no acute one; "not joking this
# time, im gonna kms" is no joke at all: `except` in the phrase file).
JOKE_CALM_BELOW = 0.2
HYPERBOLE = "hyperbole"
# A negation that only dropped a phrase ("mama is al 2 dagen nie thuis en er is geen eten meer": "nie" before "er is
# geen eten") silences the models, unless every reading of the message is this sure of crisis: then the lines are shown
# quietly with the check question. On the blind sets no harmless or denying message reaches it ("ik wil niet dood, ik
# wil alleen rust": 0.45 / 0.92 / 0.85).
UNANIMOUS_DESPITE_NEGATION_AT = 0.9


# The intent of a message that only tells the situation ("mijn man zit vast"); a question after it decides the topic.
OPENING_INTENT = "opening"
# Topics a question after an opening may have (not greetings, goodbyes, crisis or out of scope).
QUESTION_TOPICS = frozenset(
    (
        "visit",
        "contact",
        "explain_to_child",
        "stigma",
        "feelings",
        "practical",
        "peer_support",
        "for_professionals",
        "talk_to_human",
        "privacy",
    )
)
QUESTION_MIN_WORDS = 3
# A story's last question decides the topic only when the models read the question alone at least this clearly and
# the whole message's reading gave its topic at least QUESTION_SHARE among its first few intents (measured on the
# blind sets: without these, a bare "waar kan ik terecht?" or "kan het ook anders?" after a story took the topic from
# the story more often than it gave it).
LAST_QUESTION_CLEAR = 0.75
QUESTION_SHARE = 0.05
QUESTION_SHARE_AMONG = 5
# ... or when the question alone is read clearly and this much more surely than the whole message: a story the models
# cannot place ("My partner's in prison for killing someone… my kids still love him.": 0.13) ending in a question
# they can ("Is it wrong to let them visit?": visits, 0.63). On the ten blind sets of round 14, read as
# tests/integration/test_blind_messages.py reads them: topic right 1,205 -> 1,208 of 1,421; the conversation suite
# unchanged.
QUESTION_CLEARER_BY = 0.25
# A message written as family: "my son", "mn pa", "onze kleindochter", "my 15yo".
_FAMILY_VOICE = re.compile(
    r"\b(my|mijn|mn|m'n|our|onze|ons)\s+(\w+\s+)?(son|daughter|kids?|child(ren)?|boy|girl|husband|wife|partner|dad|"
    r"father|mum|mom|mother|brother|sister|nan|gran|grandson|granddaughter|grandchildren|zoon(tje)?|dochter(tje)?|"
    r"kind(eren)?|man|vrouw|vriend(in)?|vader|moeder|pa|ma|papa|mama|broer(tje)?|zus(je)?|kleinzoon|kleindochter|"
    r"kleinkind(eren)?|pleeg\w*|\d+\s?yo|\d+\s?jarige?)\b",
    re.IGNORECASE,
)
# ... and not as a professional: their pupils, clients, patients, or their work.
_PROFESSIONAL_VOICE = re.compile(
    r"\b(pupils?|students?|clients?|cli[eë]nt(en)?|patients?|pati[eë]nt(en)?|leerlingen?|my class|mijn klas|"
    r"caseload|colleagues?|collega'?s?|werk als|work as|as a (teacher|gp|nurse|social worker|youth worker))\b",
    re.IGNORECASE,
)
# The share of the blended reading from which a family's reading wins over a professionals' one.
FAMILY_READING_AT = 0.1
_FIRST_CLAUSE = re.compile(r"[,.;:!?\n]+")
_SENTENCE_END = re.compile(r"(?<=[.!?\n])\s+")
# Words before the question proper ("tbh do i…", "ok maar hoe…"), at most this many.
_LEAD_WORDS = frozenset((
    "tbh", "btw", "ok", "oke", "oké", "okay", "okey", "ja", "yes", "yeah", "nee", "no", "maar", "but", "en", "and",
    "so", "dus", "nou", "well", "hey", "hee", "ff", "eh", "uh", "um", "uhm", "lol", "trouwens", "sorry", "srry", "wait",
    "wacht", "hmm", "hm", "oh", "o", "yo",
))  # fmt: skip
LEAD_WORDS_MAX = 3
QUESTION_WORDS = frozenset((
    "hoe", "wat", "waar", "wanneer", "waarom", "wie", "kan", "kun", "kunnen", "mag", "mogen", "moet", "moeten", "is",
    "zijn", "ben", "heeft", "hebben", "zou", "welke", "welk", "hoeveel", "hoezo",
    "how", "what", "where", "when", "why", "who", "which", "can", "could", "may", "should", "do", "does", "is", "are",
    "am", "will", "would",
    # chat spellings: "wrm heeft mn moeder niks gezegd", "whats a huis van bewaring"
    "wrm", "wnr", "whats", "hows", "wheres", "whos",
))  # fmt: skip
"""Words a question opens with, without its question mark ("wrm zit hij eigenlijk vast"): one list for the whole
bot (the referral's own list, responses/referral.yml `question_words`, is content a professional may edit)."""


@dataclass(frozen=True)
class Understanding:
    topic: str
    """One of bot.understanding.topics.TOPICS, or "unknown" when the NLU service was not asked or not reachable."""
    intent: str | None
    confidence: float
    risk: RiskLevel
    categories: tuple[str, ...]
    language: str | None
    """'nl' or 'en' when the message itself says so, else None."""
    alternatives: tuple[str, ...] = ()
    """The likeliest topics, best first, for asking back when the model is unsure."""
    nlu_available: bool = True
    ranking: tuple[tuple[str, float], ...] = ()
    """The model's intents with their confidence, best first (for reading a short follow-up in context)."""
    ambiguous: bool = False
    """Acute but unsure: show the lines quietly with a check question rather than the full alarm."""
    subject: Subject = "self"
    """Who is at risk: the writer, a child (child lines + Veilig Thuis) or another adult (support, no alarm)."""
    model_raised: bool = False
    """Acute only because the topic model read a crisis; the safety net saw nothing acute in the words."""
    readings_only: bool = False
    """Acute (quietly) only because the models' readings agreed on crisis; no phrase of the safety net behind it."""

    ordinary: tuple[str, float] = ("out_of_scope", 0.0)
    """The likeliest intent that is not a crisis, with its confidence: what the message is about otherwise."""

    def calmed(self) -> Understanding:
        """This message read without the crisis: its ordinary topic, no risk."""
        intent, confidence = self.ordinary
        return replace(
            self,
            topic=topic_of(intent),
            intent=intent,
            confidence=confidence,
            risk=RiskLevel.NONE,
            categories=(),
            ambiguous=False,
            readings_only=False,
        )

    def without(self, intent: str) -> Understanding:
        """This message read without one intent the conversation ruled out ("change_role" in a longer question): the
        model's next intent that is not a crisis, at its own confidence."""
        ranking = tuple((name, score) for name, score in self.ranking if name != intent)
        name, score = next(
            ((name, score) for name, score in ranking if name not in CRISIS_INTENT_CATEGORY), ("out_of_scope", 0.0)
        )
        alternatives = tuple(topic for topic in self.alternatives if topic != topic_of(intent))
        return replace(
            self, topic=topic_of(name), intent=name, confidence=score, ranking=ranking, alternatives=alternatives
        )

    @property
    def crisis_share(self) -> float:
        """How much of the Rasa model's ranking goes to the crisis intents."""
        return _crisis_share(self.ranking)[0]

    @property
    def sure(self) -> bool:
        return self.nlu_available and self.topic != "unknown"

    def clear_at(self, threshold: float) -> bool:
        """Clear enough to answer: the blended reading reaches `threshold`, or the Rasa model alone does on the same
        topic (the embedding reading, averaged in, may spread a clear question over topics: "i need someone to help
        me with the forms for the prison visit" is visits for one, visits and a little of all else for the other)."""
        if self.confidence >= threshold:
            return True
        intent, score = _best_by_topic(self.ranking)
        return self.sure and topic_of(intent) == self.topic and score >= threshold


class Understander:
    def __init__(
        self,
        safety_net: SafetyNet,
        nlu: NluClient | None,
        threshold: float,
        crisis_threshold: float,
        learned_topics: LearnedTopics | None = None,
    ) -> None:
        self._net = safety_net
        self._nlu = nlu
        self._topics = learned_topics
        self.threshold = threshold
        self.crisis_threshold = crisis_threshold
        # The learned layer's embedding (milliseconds of CPU in C, which releases the GIL) runs on one worker thread,
        # so that the event loop goes on serving other chats, and the crisis lines, meanwhile.
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="safety-net")

    def closest_line(self, text: str, lines: Sequence[str]) -> int | None:
        """The line of an answer closest in meaning to a question about it (see `LearnedTopics.closest`); None
        without the embedding. Runs on the caller's thread: the message's vector is usually remembered from reading
        it, and each answer line is embedded once."""
        if self._topics is None or not lines or not text.strip():
            return None
        return self._topics.closest(text, lines)

    def is_acute(self, text: str) -> bool:
        """The rules alone (no embedding, no await): is this message acute? Used to let it jump a queue; the
        learned layer alone never raises the full alarm, so it is not needed for that."""
        return self._net.assess(text, learned=False).level is RiskLevel.ACUTE

    def holds_on(self, text: str, alarm: str) -> bool:
        """Right after the lines for `alarm`: does this answer hold on to the danger ("ik heb het al besloten")?"""
        return self._net.holds_on(text, "suicidal" if alarm == "self_harm" else alarm)

    def assess(self, text: str) -> Assessment:
        """The safety net's verdict alone: no network, no database; what the crisis lines are sent on."""
        return self._net.assess(text)

    def assess_rules(self, text: str) -> Assessment:
        """The rules alone, at once: a full alarm here is one the learned layer cannot take back."""
        return self._net.assess(text, learned=False)

    async def assess_off_loop(self, text: str) -> Assessment:
        """`assess`, computed on the safety net's worker thread while the event loop serves others."""
        return await asyncio.get_running_loop().run_in_executor(self._worker, self._net.assess, text)

    async def understand(self, text: str, assessment: Assessment | None = None) -> Understanding:
        """The safety net's verdict (given, when the caller already has it) combined with the NLU model's."""
        if assessment is None:
            assessment = self._net.assess(text)
        detected = language.detect(text)
        parse: Parse | None = None
        if self._nlu is not None and text.strip():
            try:
                parse = await self._nlu.parse(text[:NLU_MAX_CHARS])
            except NluUnavailable:
                parse = None
        learned: Ranking = ()
        topical: Ranking = ()
        danger_reading: Ranking = ()
        if self._topics is not None and text.strip():
            # The embedding readings, on the worker thread: the vector is the one the learned risk layer just made.
            loop = asyncio.get_running_loop()
            learned, topical = await loop.run_in_executor(self._worker, self._topics.readings, text)
            danger_reading = await self._reading_of_report(text, learned)
        if parse is None:
            assessment = _readings_agree(text, assessment, danger_reading)
            return Understanding(
                topic="unknown",
                intent=None,
                confidence=0.0,
                risk=assessment.level,
                categories=assessment.categories,
                language=detected,
                nlu_available=False,
                ambiguous=assessment.ambiguous,
                subject=assessment.subject,
            )
        if learned:
            assessment = _readings_agree(text, assessment, danger_reading, parse.ranking)
        blended = blend(parse.ranking, topical) if learned else None
        topic_crisis = _crisis_share(danger_reading)[0] if learned else None
        understood = self._for_a_family(
            text,
            self._combine(
                parse,
                assessment,
                detected,
                blended,
                topic_crisis,
                long_message=long_enough(text),
                danger_blend=blend(parse.ranking, learned) if learned else None,
            ),
            blended or parse.ranking,
        )
        return await self._question_asked(text, understood)

    def _for_a_family(self, text: str, understood: Understanding, reading: Ranking | None) -> Understanding:
        """A professionals' reading of a message written as family ("worried about my 15yo, she's stopped eating",
        "sinds mijn man gedetineerd is drink ik elke avond"): the professionals' training lines speak of the same
        worries, but the writer speaks of their own child, partner or parent and names no professional role. The
        best family reading the models gave a fair share wins (the chat does the same once the role is known)."""
        if understood.risk is RiskLevel.ACUTE or understood.topic != "for_professionals" or not reading:
            return understood
        if not _FAMILY_VOICE.search(text) or _PROFESSIONAL_VOICE.search(text) or self._net.names_reporter(text):
            return understood
        for name, score in reading:
            if topic_of(name) in QUESTION_TOPICS - {"for_professionals"} and score >= FAMILY_READING_AT:
                return replace(understood, topic=topic_of(name), intent=name, confidence=round(score, 4))
        return understood

    async def _question_asked(self, text: str, understood: Understanding) -> Understanding:
        """The question a message asks after telling its story decides the topic, if the models are clear about it.

        "mn moeder zit vast, kunnen we facetimen of zo": the story reads as an opening ("my parent is inside"), which
        would win the topic; the question after its first clause is what the user asks. A longer story that ends in a
        question ("...Nu wil mijn dochter hem voor het eerst bezoeken, hoe gaat dat?") may read as its feelings; the
        last sentence's question wins when the models read it clearly and the whole message's reading gave its topic
        a share too (a bare "wie kan mij helpen?" after a story says less than the story). The risk stays that of
        the whole message."""
        if understood.risk is RiskLevel.ACUTE:
            return understood
        opening = understood.intent == OPENING_INTENT
        question = _question_after_first_clause(text) if opening else last_question(text)
        if question is None:
            return understood
        asked = await self.understand(question)
        if (
            asked.intent in (None, OPENING_INTENT, understood.intent)
            or asked.topic not in QUESTION_TOPICS
            or asked.risk is RiskLevel.ACUTE
        ):
            return understood
        if asked.topic == understood.topic and (asked.confidence < LAST_QUESTION_CLEAR or asked.intent == asked.topic):
            # within the same topic, only a finer question the models read clearly refines the reading ("…geen geld
            # voor eten. valt dit onder de meldcode?": the meldcode, not how to bring it up)
            return understood
        if not asked.clear_at(self.threshold):
            return understood
        # (privacy is what this bot keeps: "Is this connected?" after a story asks about the story, not the bot)
        clearer = asked.topic != "privacy" and asked.confidence - understood.confidence >= QUESTION_CLEARER_BY
        if (
            not opening
            and not clearer
            and (asked.confidence < LAST_QUESTION_CLEAR or asked.topic not in _topics_with_a_share(understood.ranking))
        ):
            return understood
        return replace(
            understood,
            topic=asked.topic,
            intent=asked.intent,
            confidence=asked.confidence,
            alternatives=asked.alternatives,
            ranking=asked.ranking,
            ordinary=asked.ordinary,
        )

    async def _reading_of_report(self, text: str, learned: Ranking) -> Ranking:
        """The embedding reading that counts for danger: of the whole message, or of the report after a reporter's
        short introduction ("youth worker here. a 15yo just texted me she's on the roof…"), whichever leans more to
        crisis (the safety net's learned layer reads both alike). The topic is still read from the whole message."""
        report = self._net.report_of(text)
        if report is None or self._topics is None:
            return learned
        reading = await asyncio.get_running_loop().run_in_executor(self._worker, self._topics.ranking, report)
        return reading if _crisis_share(reading)[0] > _crisis_share(learned)[0] else learned

    def _model_may_raise(self, assessment: Assessment, topic_crisis: float | None = None) -> bool:
        """Not on an idiom, a scope that explains the words (past, joke, worry, offence, ...), or when the embedding
        readings of the same message (the learned risk layer, and the topic reading when there is one) see, on
        average, no acute risk at all: "en als hij het doorvertelt aan de hele klas" after a question about school
        leans to violence in the Rasa model alone (0.53), while the learned layer gives 0.23 and the topic reading 0."""
        if assessment.idiom or assessment.cues:
            return False
        embedded = _embedded_crisis(assessment, topic_crisis)
        return embedded is None or embedded >= LEARNED_VETO_BELOW

    @staticmethod
    def _embeddings_lean(assessment: Assessment, topic_crisis: float | None) -> bool:
        """The embedding readings give crisis at least `READINGS_AGREE_AT` on average; without them, nothing speaks
        against the Rasa model."""
        embedded = _embedded_crisis(assessment, topic_crisis)
        return embedded is None or embedded >= READINGS_AGREE_AT

    def _combine(
        self,
        parse: Parse,
        assessment: Assessment,
        detected: str | None,
        blended: Ranking | None = None,
        topic_crisis: float | None = None,
        *,
        long_message: bool = False,
        danger_blend: Ranking | None = None,
    ) -> Understanding:
        """`blended`: the Rasa model's ranking averaged with the embedding reading; it decides the topic, the worry
        and the suggestions (within the topic, a general answer gives way to the Rasa model's sure finer one). The
        Rasa ranking alone goes on in `ranking`, which the conversation reads short follow-ups against (its shares
        and thresholds were set on that model's scores). `danger_blend`: the same with the reading of the NLU lines
        alone (no written messages), whose sureness of another topic may overrule the learned layer's lone alarm."""
        reading = blended or parse.ranking
        risk, categories = assessment.level, assessment.categories
        ambiguous, subject = assessment.ambiguous, assessment.subject
        model_raised = False
        intent, confidence = parse.intent, parse.confidence
        model_crisis = intent in CRISIS_INTENT_CATEGORY and confidence >= self.crisis_threshold
        model_may_raise = self._model_may_raise(assessment, topic_crisis)
        lean = self._embeddings_lean(assessment, topic_crisis)
        if model_crisis and risk < RiskLevel.ACUTE and model_may_raise and not lean and long_message:
            # The Rasa model alone on a longer message whose embedding readings do not lean to crisis ("my partners
            # been on remand for 2 months, im alone with a baby and a toddler and no sleep": 0.74 for violence in the
            # Rasa model): a worry, with support offered, not the lines. On the blind single-message sets this path
            # caught no danger the readings missed, and raised one alarm on a stepfather's question.
            risk, categories = RiskLevel.CONCERN, (MODEL_WORRY_CATEGORY,)
        elif model_crisis and risk < RiskLevel.ACUTE and model_may_raise:
            # The Rasa model alone: the full alarm when the embedding readings lean its way too, else (a short
            # message, which the readings read less well) the lines quietly with the check question.
            risk, categories = RiskLevel.ACUTE, (CRISIS_INTENT_CATEGORY[intent],)
            ambiguous, subject, model_raised = not lean, "self", True
        elif model_crisis and risk is RiskLevel.ACUTE and ambiguous and model_may_raise:
            # A weak rule hit that the model confirms; a quiet alarm of the readings (the Rasa model's share already
            # counted in it) only when the embedding readings lean to crisis too.
            ambiguous = assessment.learned_only and not self._embeddings_lean(assessment, topic_crisis)
        overruling = danger_blend or reading
        if assessment.learned_only and not model_crisis and _best_by_topic(overruling)[1] >= LEARNED_OVERRULED_AT:
            # Only the learned layer saw danger, and the model is sure the message is about something else
            # ("mijn zoon zit vast en de kinderen wonen bij mij"): the two readings of the same text disagree, and
            # with no phrase behind the alarm the topic model's reading wins. Without the NLU service it stands.
            risk, categories, ambiguous = RiskLevel.NONE, (), False
        worry = _concern_intent(parse, reading, self.threshold)
        if risk < RiskLevel.CONCERN and worry is not None:
            risk, categories = RiskLevel.CONCERN, (CONCERN_INTENTS[worry],)

        ordinary = _best_by_topic(reading)
        if risk is RiskLevel.ACUTE:
            if intent not in CRISIS_INTENT_CATEGORY:
                intent, confidence = CATEGORY_CRISIS_INTENT[categories[0]], 1.0
        else:
            # Without a confirmed crisis, the model's best non-crisis reading counts (it may have leaned to crisis).
            intent, confidence = ordinary
            # The blend chose a topic's general answer; the Rasa model, sure of one question within that topic ("hoe
            # kan ik met de kinderen op bezoek": who may come), gives the finer answer.
            general = blended is not None and intent == topic_of(intent) and parse.intent != intent
            if general and topic_of(parse.intent) == intent and parse.confidence >= self.threshold:
                intent = parse.intent
        topics: list[str] = []
        for name, _ in reading:
            topic = topic_of(name)
            if topic in SUGGESTIBLE and topic not in topics:
                topics.append(topic)
        return Understanding(
            topic=topic_of(intent),
            intent=intent,
            confidence=round(confidence, 4),
            risk=risk,
            categories=categories,
            language=detected,
            alternatives=tuple(topics[:2]),
            ranking=parse.ranking,
            ambiguous=ambiguous,
            subject=subject,
            model_raised=model_raised and risk is RiskLevel.ACUTE,
            readings_only=assessment.learned_only and risk is RiskLevel.ACUTE and ambiguous,
            ordinary=(ordinary[0], round(ordinary[1], 4)),
        )


def _embedded_crisis(assessment: Assessment, topic_crisis: float | None) -> float | None:
    """The embedding readings' mean share of crisis: the learned risk layer's, and the topic reading's when there is
    one; None without the learned layer."""
    if assessment.learned_score is None:
        return None
    embedded = [assessment.learned_score] if topic_crisis is None else [assessment.learned_score, topic_crisis]
    return sum(embedded) / len(embedded)


def _question_after_first_clause(text: str) -> str | None:
    """What follows the first clause of a message, when it is a question of a few words at least: a question mark,
    or a question word first ("kunnen we…", "what happens now")."""
    parts = _FIRST_CLAUSE.split(text.strip(), maxsplit=1)
    if len(parts) < 2:
        return None
    rest = parts[1].strip()
    words = rest.lower().split()
    if len(words) < QUESTION_MIN_WORDS:
        return None
    return rest if rest.endswith("?") or words[0] in QUESTION_WORDS else None


def asks_something(text: str) -> bool:
    """Whether a message asks a question: a question mark, or a sentence that starts with a question word."""
    if "?" in text:
        return True
    sentences = (_without_lead(sentence.lower().split()) for sentence in _SENTENCE_END.split(text.strip()))
    return any(words and words[0] in QUESTION_WORDS for words in sentences)


def _without_lead(words: list[str]) -> list[str]:
    """A sentence without the words chat puts before a question ("tbh do i have to go", "maar moet ik dan…")."""
    start = 0
    while start < min(len(words) - 1, LEAD_WORDS_MAX) and words[start].strip(",.!:;") in _LEAD_WORDS:
        start += 1
    return words[start:]


def sentences_of(text: str) -> list[str]:
    """A message's sentences (split after ".", "!", "?" and at line ends), empty ones left out."""
    return [sentence for sentence in _SENTENCE_END.split(text.strip()) if sentence.strip()]


def last_question(text: str) -> str | None:
    """The last sentence of a message of several, when it is a question of a few words at least."""
    sentences = sentences_of(text)
    if len(sentences) < 2:
        return None
    last = sentences[-1].strip()
    words = last.lower().split()
    if len(words) < QUESTION_MIN_WORDS:
        return None
    return last if last.endswith("?") or words[0] in QUESTION_WORDS else None


def _topics_with_a_share(ranking: Sequence[tuple[str, float]]) -> frozenset[str]:
    """The topics among a reading's first few intents that got a share worth naming."""
    return frozenset(topic_of(name) for name, score in ranking[:QUESTION_SHARE_AMONG] if score >= QUESTION_SHARE)


def _best_by_topic(ranking: tuple[tuple[str, float], ...]) -> tuple[str, float]:
    """The likeliest topic, with its confidence summed over its intents, and that topic's likeliest intent.

    Intents are finer than topics ("visit_first", "visit_rules" are both "visit"): a message the model splits
    between two questions about visits is still clearly about visits.
    """
    scores: dict[str, float] = {}
    best_intent: dict[str, str] = {}
    for name, score in ranking:
        if name in CRISIS_INTENT_CATEGORY:
            continue
        topic = topic_of(name)
        scores[topic] = scores.get(topic, 0.0) + score
        best_intent.setdefault(topic, name)
    if not scores:
        return "out_of_scope", 0.0
    topic = max(scores, key=lambda candidate: scores[candidate])
    return best_intent[topic], min(scores[topic], 1.0)


def _crisis_share(ranking: Sequence[tuple[str, float]]) -> tuple[float, str]:
    """How much of a reading goes to the crisis intents, and the likelier crisis category."""
    scores = {CRISIS_INTENT_CATEGORY[name]: score for name, score in ranking if name in CRISIS_INTENT_CATEGORY}
    if not scores:
        return 0.0, "suicidal"
    return sum(scores.values()), max(scores, key=lambda category: scores[category])


def _readings_agree(
    text: str,
    assessment: Assessment,
    learned: Sequence[tuple[str, float]],
    rasa: Sequence[tuple[str, float]] = (),
) -> Assessment:
    """Each model alone is kept on a short leash (the learned risk layer raises only from its `raise_above`, the Rasa
    model only when sure and unchallenged), so a message that the models together find likely crisis slipped through
    ("whats the point of any of it. i keep thinking about just driving into a tree"). With the embedding topic
    reading at hand, the readings decide together: the learned risk layer, the embedding topic reading and the Rasa
    model (when it answered). When the two embedding readings, or all three, give crisis at least
    `READINGS_AGREE_AT` on average, the lines are shown quietly with the check question, whose answer decides;
    otherwise an alarm only the learned risk layer raised is dropped. Never on a very short message, or where the
    rules saw a scope that explains the words (past, joke, worry, offence, ...) or an idiom; a negation alone yields
    to readings that all reach `UNANIMOUS_DESPITE_NEGATION_AT`, and explains nothing when it dropped another danger
    than the one the readings find (`Assessment.explained_for`)."""
    score = assessment.learned_score
    if not learned or score is None:
        return assessment
    learned_alarm = assessment.learned_only
    if learned_alarm:
        assessment = replace(assessment, level=RiskLevel.NONE, categories=(), ambiguous=False, learned_only=False)
    embedded = [score, _crisis_share(learned)[0]]
    every = [*embedded, _crisis_share(rasa)[0]] if rasa else embedded
    if assessment.one_word and assessment.cues and max(every) < ONE_WORD_CALM_BELOW:
        # "Welke signalen van suïcidaliteit moet ik als mentor kennen?": the word alone, words that
        # speak of the subject nearby (a scope's cue), and no reading of the whole message leans to crisis: talk
        # about the subject, no check question. Without such a cue ("a pupil plans an overdose tonight") it stays.
        return replace(assessment, level=RiskLevel.NONE, categories=(), ambiguous=False)
    joke_only = assessment.ambiguous and not assessment.learned_only and HYPERBOLE in assessment.cues
    if joke_only and max(every) < JOKE_CALM_BELOW:
        return replace(assessment, level=RiskLevel.NONE, categories=(), ambiguous=False)
    if assessment.level is RiskLevel.ACUTE or assessment.idiom or not long_enough(text):
        return assessment
    read = _crisis_share(blend(rasa, learned) if rasa else learned)[1]
    explained = assessment.explained_for(read)
    if explained and (set(assessment.cues) != {NEGATION} or min(every) < UNANIMOUS_DESPITE_NEGATION_AT):
        return assessment
    # The embedding readings generalise past wording the Rasa model never saw, so its low score on a new phrasing
    # is no evidence against them: either mean may decide.
    agree_at = READINGS_AGREE_AT if learned_alarm or read not in SUICIDE_CATEGORIES else SELF_HARM_AGREE_AT
    if max(sum(embedded) / len(embedded), sum(every) / len(every)) < agree_at:
        return assessment
    # A phrase the negation dropped names the danger better than the readings' likelier category, when the readings
    # hold on to that very danger.
    category = assessment.negated[0] if explained and assessment.negated else read
    return replace(assessment, level=RiskLevel.ACUTE, categories=(category,), ambiguous=True, learned_only=True)


def _concern_intent(parse: Parse, reading: Ranking, threshold: float) -> str | None:
    """An intent that is a worry in itself (not coping, a young carer, bullying), when the model's own reading or
    the blended one is sure of it."""
    blended = next(((name, score) for name, score in reading if name not in CRISIS_INTENT_CATEGORY), None)
    for name, score in ((parse.intent, parse.confidence), blended or ("", 0.0)):
        if name in CONCERN_INTENTS and score >= threshold:
            return name
    return None
