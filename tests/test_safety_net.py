"""The rule layer alone, without the NLU service."""

from __future__ import annotations

from typing import cast

import pytest

from safety.learned import LearnedRisk, LearnedVerdict
from safety.normalise import Normaliser
from safety.risk import Phrase, RiskLevel, SafetyNet
from tests.conftest import load_cases

RISK_CASES = load_cases("tests/data/risk_cases.yml")


@pytest.mark.parametrize("case", [c for c in RISK_CASES if c["risk"] == "acute"], ids=lambda c: c["text"][:40])
def test_every_acute_case_is_caught(safety_net: SafetyNet, case: dict[str, str]) -> None:
    assert safety_net.assess(case["text"]).level is RiskLevel.ACUTE


@pytest.mark.parametrize("case", [c for c in RISK_CASES if c["risk"] == "none"], ids=lambda c: c["text"][:40])
def test_harmless_messages_and_idioms_raise_no_alarm(safety_net: SafetyNet, case: dict[str, str]) -> None:
    assert safety_net.assess(case["text"]).level is RiskLevel.NONE


def test_concern_recall(safety_net: SafetyNet, capsys: pytest.CaptureFixture[str]) -> None:
    concern = [c for c in RISK_CASES if c["risk"] == "concern"]
    caught = [c for c in concern if safety_net.assess(c["text"]).level is RiskLevel.CONCERN]
    recall = len(caught) / len(concern)
    with capsys.disabled():
        print(f"\nsafety net alone: concern recall {recall:.2f} ({len(caught)}/{len(concern)})")
    assert recall >= 0.85


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("iedereen is beter af zonder mij", "suicidal"),
        ("ik hoef niet meer wakker te worden", "suicidal"),
        ("K WIL NT MEER LEVÉÉÉN", "suicidal"),
        ("ik wil doooood", "suicidal"),
        ("i dont wanna be alive anymore", "suicidal"),
        ("mn vriend slaat me", "violence"),
        ("ik schaam me dood en eigenlijk wil ik gewoon dood", "suicidal"),
        ("the kids have been home alone for three days", "child_unsafe"),
    ],
)
def test_indirect_phrasing_spelling_and_idiom_mixed_with_a_real_signal(
    safety_net: SafetyNet, text: str, category: str
) -> None:
    assessment = safety_net.assess(text)
    assert assessment.level is RiskLevel.ACUTE
    assert category in assessment.categories


@pytest.mark.parametrize(
    "text",
    [
        "ik schaam me dood",
        "ik lach me dood",
        "this waiting is killing me",
        "mijn vader zit vast voor doodslag",
        "my dad is in prison for manslaughter",
        "ik wil niet dat papa dood gaat in de gevangenis",
        "my mum will kill me if she finds out i skipped the visit",
    ],
)
def test_idioms_offences_and_negations_are_not_acute(safety_net: SafetyNet, text: str) -> None:
    assert safety_net.assess(text).level is not RiskLevel.ACUTE


def test_an_idiom_is_reported_so_the_model_cannot_raise_the_alarm_alone(safety_net: SafetyNet) -> None:
    assessment = safety_net.assess("ik schaam me dood")
    assert assessment.idiom and assessment.level is RiskLevel.NONE


def test_normaliser_folds_case_accents_repeats_and_chat_spelling() -> None:
    normaliser = Normaliser({"k": "ik", "nt": "niet", "mn": "mijn"})
    assert normaliser.tokens("K wil NT meeeer naar m'n école") == ["ik", "wil", "niet", "mer", "nar", "mijn", "ecole"]


def test_gap_and_end_anchor() -> None:
    net = SafetyNet.from_mapping(
        {"gap_stops": ["niet"], "acute": {"suicidal": ["ik wil ... dood"]}, "concern": {"not_coping": ["kan niet $"]}}
    )
    assert net.assess("ik wil echt gewoon dood").level is RiskLevel.ACUTE
    assert net.assess("ik wil niet dat hij dood gaat").level is RiskLevel.NONE
    assert net.assess("ik kan niet").level is RiskLevel.CONCERN
    assert net.assess("ik kan niet wachten").level is RiskLevel.NONE


def test_alternatives_stand_for_one_word_each_in_any_inflection() -> None:
    net = SafetyNet.from_mapping(
        {"gap_stops": ["niet"], "acute": {"self_harm": ["snij|kras*|gekrast|gesneden|cut ... arm|pols*|wrists"]}}
    )
    for text in ("heb weer gekrast in mn arm", "gesneden in mijn pols", "i cut again, my wrists", "snij in mn arm"):
        assert net.assess(text).level is RiskLevel.ACUTE, text
    assert net.assess("ik snij de ui met een mes").level is RiskLevel.NONE  # no part of the body
    assert net.assess("ik kras niet in mijn arm").level is RiskLevel.NONE  # a gap never skips a negation


@pytest.mark.parametrize("bad", ["... dood", "ik wil ...", "   ", "ik wil|"])
def test_a_malformed_phrase_is_refused_when_loading(bad: str) -> None:
    with pytest.raises(ValueError, match="risk phrase"):
        Phrase.parse(bad, Normaliser({}))


@pytest.mark.parametrize(
    "text",
    [
        "ik heb weer gekrast",
        "ben weer aan t snijden sinds mn pa is opgepakt",
        "ik kras",
        "ik snij soms",
        "i cut sometimes",
        "ik doe mezelf pijn",
        "ik bonk mn hoofd tegen de muur",
        "hij zit aan me",
        "hij zegt dat hij me laat pakken als hij vrijkomt",
        "zijn vrienden staan voor de deur en schreeuwen",
        "dit is mijn laatste bericht",
        "zeg tegen mama dat ik van haar hou. doei",
        "mijn zus is helemaal high en de baby ligt al de hele middag te huilen",
    ],
)
def test_chat_language_self_harm_threats_and_goodbyes_raise_the_full_alarm(safety_net: SafetyNet, text: str) -> None:
    assessment = safety_net.assess(text)
    assert assessment.level is RiskLevel.ACUTE and not assessment.ambiguous


@pytest.mark.parametrize(
    ("text", "scope"),
    [
        ("ik wil niet dood, ik wil alleen dat het ophoudt", "denial"),
        ("i dont want to die", "negation"),
        ("vroeger sloeg hij ons, nu zijn we veilig", "past"),
        ("i used to cut but i stopped", "past"),
        ("waarom doen mensen aan zelfbeschadiging", "general"),
        ("mijn kinderen zijn bang als de bel gaat", "fear"),
        ("no its not like that, she wont hurt me", "denial"),
    ],
)
def test_a_scope_around_alarming_words_keeps_the_alarm_off_and_is_reported(
    safety_net: SafetyNet, text: str, scope: str
) -> None:
    assessment = safety_net.assess(text)
    assert assessment.level is not RiskLevel.ACUTE
    assert scope in assessment.cues


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("onze kleinzoon van 4 is sinds de inval erg stil geworden en eet bijna niks", "child_withdrawal"),
        ("my daughter gets headaches every day since her dad went to prison", "child_withdrawal"),
        ("mijn zoon van 16 hangt met verkeerde gasten en komt pas om 3 uur thuis", "child_behaviour"),
        ("ik huil onder de douche zodat de kinderen het niet merken", "not_coping"),
    ],
)
def test_a_worry_said_by_its_signs_is_a_worry(safety_net: SafetyNet, text: str, category: str) -> None:
    """Silent for weeks, aches every day, out late with the wrong boys, crying out of sight: support, no alarm."""
    assessment = safety_net.assess(text, learned=False)
    assert (assessment.level, assessment.categories) == (RiskLevel.CONCERN, (category,))


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("ik wil niet dood hoor, ik wil alleen dat het stil is in mijn hoofd", RiskLevel.CONCERN),
        ("not suicidal or anything, i just feel empty since mum went inside", RiskLevel.CONCERN),
        ("ik ga mezelf niks aandoen maar het is zo zwaar", RiskLevel.CONCERN),
        ("no its not like that, she wont hurt me", RiskLevel.NONE),
        ("vroeger sloeg hij ons, nu zijn we veilig", RiskLevel.NONE),
    ],
)
def test_a_denial_of_wanting_to_die_is_a_worry_not_an_alarm(safety_net: SafetyNet, text: str, level: RiskLevel) -> None:
    assessment = safety_net.assess(text, learned=False)
    assert assessment.level is level
    assert level is RiskLevel.NONE or assessment.categories == ("not_coping",)


@pytest.mark.parametrize(
    "text",
    [
        "ik ga dood van de stress met die toetsen",
        "my mum will kill me",
        "this test is killing me",
        "mn moeder vermoordt me",
    ],
)
def test_hyperbole_raises_nothing(safety_net: SafetyNet, text: str) -> None:
    assert safety_net.assess(text).level is RiskLevel.NONE


@pytest.mark.parametrize(
    "text",
    [
        "she asked me if daddy is going to hit her again tonight",
        "i could have strangled the baby, i was so close to doing it",
    ],
)
def test_danger_worded_like_a_childs_question_or_an_angry_could_have_stays_an_alarm(
    safety_net: SafetyNet, text: str
) -> None:
    """Shortcuts for "he asked me if daddy is going to hurt us too" and "ik had die rechter wel kunnen wurgen" were
    tried in round 21 and taken out again: these were read as harmless with them."""
    assert safety_net.assess(text, learned=False).alarm


def test_a_past_cue_does_not_hide_that_it_happens_again(safety_net: SafetyNet) -> None:
    assert safety_net.assess("vroeger sloeg hij me en nu slaat hij me weer").alarm


def test_a_negation_elsewhere_does_not_hide_a_wish_to_die(safety_net: SafetyNet) -> None:
    assert safety_net.assess("ik kan niet meer, ik wil dood").alarm


@pytest.mark.parametrize(
    "text",
    [
        "ik wil er een eind aan maken mijn broer zit vast omdat ik heb gepraat",
        "i want to die my dad is in prison because of what i said",
    ],
)
def test_a_wish_to_die_told_before_the_offence_is_not_explained_by_it(safety_net: SafetyNet, text: str) -> None:
    assert safety_net.assess(text).level is RiskLevel.ACUTE


@pytest.mark.parametrize(
    "text",
    [
        "zit met een passer zijn initialen in mn bovenbeen te krassen",  # the body part first, the verb last
        "he has been banging his head on the bathroom door for ages",
    ],
)
def test_self_harm_worded_around_the_body_part_shows_at_least_the_lines(safety_net: SafetyNet, text: str) -> None:
    assert safety_net.assess(text).level is RiskLevel.ACUTE


@pytest.mark.parametrize(
    "text",
    [
        "mijn armen zitten onder de krassen van de bramen",
        "mijn peuter zat met stift op zijn arm te krassen",
        "my baby's fever is high, should I go to the doctor",
        "my dad hit my mum and got 3 years for it",
        "my toddler banged his head on the floor when he fell off the sofa",
    ],
)
def test_the_same_words_in_ordinary_life_raise_nothing(safety_net: SafetyNet, text: str) -> None:
    assert safety_net.assess(text).level is not RiskLevel.ACUTE


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("heb een mesje in mn etui gestopt. vanavond ga ik krassen", RiskLevel.ACUTE),  # put away, not stopped
        ("ik kraste in mijn arm maar ik ben gestopt", RiskLevel.CONCERN),
    ],
)
def test_gestopt_as_put_away_is_no_recovery(safety_net: SafetyNet, text: str, level: RiskLevel) -> None:
    assert safety_net.assess(text).level is level


def test_talking_about_an_offence_is_not_violence_at_home(safety_net: SafetyNet) -> None:
    assessment = safety_net.assess("hij zit vast omdat hij iemand heeft bedreigd met een mes")
    assert not assessment.alarm
    explained = safety_net.assess("hij zit vast voor doodslag")
    assert explained.level is RiskLevel.NONE and "offence" in explained.cues


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("de brieven liggen klaar. zaterdag is het klaar, dan hoeft niemand zich nog druk te maken om mij", True),
        ("fiets weggegeven, bijbaan opgezegd. na zaterdag hoeft niemand zich meer druk om mij te maken", True),
        ("ik red me wel hoor, dan hoeft niemand zich druk te maken om mij", False),
        ("ik heb een baan gevonden, dan hoeft niemand zich meer zorgen te maken om mij", False),
        ("morgen ben ik klaar met mn examens dan hoeft niemand zich meer zorgen om mij te maken", False),
        ("ik heb de brief van de reclassering gekregen, dan hoeft niemand zich nog druk te maken om mij", False),
    ],
)
def test_nobody_having_to_worry_any_more_is_a_goodbye_only_with_the_affairs_in_order(
    safety_net: SafetyNet, text: str, asked: bool
) -> None:
    """The burden lifted for good with the affairs put in order is a goodbye, asked about (the check question); the
    same words as reassurance are none."""
    assessment = safety_net.assess(text, learned=False)
    assert (assessment.level is RiskLevel.ACUTE and assessment.ambiguous) is asked and not assessment.alarm


def test_the_sentence_named_in_one_clause_does_not_silence_the_models_for_another(safety_net: SafetyNet) -> None:
    """Carers name the sentence in nearly every message: only where it explains a match does it keep the models
    (the learned layer, the NLU model) from raising the alarm."""
    text = "since my son was sentenced I look after the boys alone. I'm so tired of everything"
    assert "offence" not in safety_net.assess(text).cues
    assert "offence" in safety_net.assess("he got 6 years for stabbing someone").cues


@pytest.mark.parametrize("text", ["ik wil dood lol", "ik wil dood 😂", "i want to die haha"])
def test_a_joke_marker_makes_a_death_wish_ambiguous_not_silent(safety_net: SafetyNet, text: str) -> None:
    assessment = safety_net.assess(text)
    assert assessment.level is RiskLevel.ACUTE and assessment.ambiguous and not assessment.alarm


@pytest.mark.parametrize("text", ["in mn arm", "gewoon met een schaar"])
def test_a_weak_fragment_shows_the_lines_quietly(safety_net: SafetyNet, text: str) -> None:
    assessment = safety_net.assess(text)
    assert assessment.level is RiskLevel.ACUTE and assessment.ambiguous


@pytest.mark.parametrize(
    ("text", "subject", "level"),
    [
        ("ik ben bang dat mijn dochter zichzelf iets aandoet", "child", RiskLevel.ACUTE),
        ("hij slaat mijn broertje", "child", RiskLevel.ACUTE),
        ("the kids have been home alone for three days", "child", RiskLevel.ACUTE),
        ("ik snij mezelf", "self", RiskLevel.ACUTE),
        ("ik ben bang dat mijn vriendin zichzelf iets aandoet", "other", RiskLevel.CONCERN),
    ],
)
def test_who_is_at_risk_decides_the_route(safety_net: SafetyNet, text: str, subject: str, level: RiskLevel) -> None:
    assessment = safety_net.assess(text)
    assert (assessment.subject, assessment.level) == (subject, level)


def test_worry_about_another_adult_is_support_not_an_alarm(safety_net: SafetyNet) -> None:
    assessment = safety_net.assess("ik maak me zorgen dat mijn moeder zichzelf iets aandoet")
    assert not assessment.alarm and assessment.categories == ("worry_other",)


@pytest.mark.parametrize(
    ("text", "level"),
    [
        (
            "mijn vriendin vertelde dat ze zich krast sinds haar vader vastzit. ik heb beloofd niks te zeggen",
            RiskLevel.CONCERN,
        ),
        ("she told me she's been cutting, i promised not to tell. what do i do", RiskLevel.CONCERN),
        ("she told me she's been cutting and now its bleeding and wont stop", RiskLevel.ACUTE),  # happening now
        ("mijn dochter vertelde dat ze zich snijdt", RiskLevel.ACUTE),  # a child: her lines and Veilig Thuis
        ("a pupil told me her stepdad burns her with cigarettes", RiskLevel.ACUTE),  # harm done to her: abuse
        ("i told my mum i've been cutting", RiskLevel.ACUTE),  # the writer's own
    ],
)
def test_someone_else_s_self_harm_told_to_the_writer_is_a_worry_unless_it_happens_now(
    safety_net: SafetyNet, text: str, level: RiskLevel
) -> None:
    assert safety_net.assess(text, learned=False).level is level


def test_together_phrases_need_every_part(safety_net: SafetyNet) -> None:
    assert not safety_net.assess("zeg tegen papa dat ik van hem hou").alarm
    assert safety_net.assess("zeg tegen papa dat ik van hem hou. vaarwel").alarm


@pytest.mark.parametrize(
    "data",
    [
        {"gap_stops": ["niet", False]},
        {"acute": {"suicidal": ["ik wil ... dood", True]}},
        {"scopes": {"x": {"where": "before", "effect": "drop", "cues": ["niet", False]}}},
    ],
)
def test_an_unquoted_yes_or_no_in_a_list_of_words_is_refused_when_loading(data: dict[str, object]) -> None:
    """YAML reads an unquoted no as false: the word would silently never count."""
    with pytest.raises(ValueError, match="quotes"):
        SafetyNet.from_mapping(data)


def test_a_scope_syntax_error_is_refused_when_loading() -> None:
    with pytest.raises(ValueError, match="scope"):
        SafetyNet.from_mapping({"scopes": {"x": {"where": "somewhere", "cues": ["niet"]}}})


def test_scopes_from_a_mapping() -> None:
    net = SafetyNet.from_mapping(
        {
            "acute": {"suicidal": ["wil dood"]},
            "scopes": {"past": {"where": "clause", "effect": "drop", "cues": ["vroeger"], "unless": ["weer"]}},
        }
    )
    assert net.assess("vroeger wil dood").level is RiskLevel.NONE
    assert net.assess("vroeger en weer wil dood").level is RiskLevel.ACUTE
    assert net.assess("vroeger was alles goed. nu wil dood").level is RiskLevel.ACUTE


@pytest.mark.parametrize(
    "text",
    [
        "mijn peuter en kleuter zitten alleen thuis sinds vanmorgen",
        "ik ben dronken en de baby ligt naast me",
        "her boyfriend is beating her in the hall",
        "hij zegt dat hij me wat aandoet als ik de scheiding doorzet",
        "my client's partner is threatening her with a knife",
        "ze durft niet naar huis sinds hij haar sloeg",
        "mijn vrouw en zoon zijn beter af zonder mij",
    ],
)
def test_danger_to_someone_else_or_said_indirectly_is_acute(safety_net: SafetyNet, text: str) -> None:
    assert safety_net.assess(text).alarm


def test_phrases_that_count_together_are_judged_by_the_scopes(safety_net: SafetyNet) -> None:
    assert safety_net.assess("ik ben dronken & de baby huilt".replace("&", "en")).alarm
    assert not safety_net.assess("vroeger was ik dronken, nu hebben we een baby en gaat het goed").alarm


def test_a_negation_far_from_any_phrase_does_not_silence_the_models(safety_net: SafetyNet) -> None:
    far = safety_net.assess("mama neemt niet op en ik weet niet wat ik moet doen met mijn zusje")
    near = safety_net.assess("ik doe niet aan zelfbeschadiging")
    assert "negation" not in far.cues
    assert "negation" in near.cues
    assert near.negated == ("self_harm",)


@pytest.mark.parametrize(
    "text", ["ik ga mezelf niks aandoen hoor, ik ben alleen moe", "i'm not going to hurt myself, just tired of it all"]
)
def test_saying_one_will_not_hurt_oneself_is_a_denial(safety_net: SafetyNet, text: str) -> None:
    assessment = safety_net.assess(text)
    assert "denial" in assessment.cues and assessment.level is not RiskLevel.ACUTE


@pytest.mark.parametrize(
    "answer",
    [
        "het maakt niet uit, ik heb t al besloten",
        "niemand gaat me nog tegenhouden",
        "nah my minds made up",
        "u cant stop me",
        "how do i say goodbye to my kids without them knowing",
        "it'll be the last time they see me",
        "hoe neem ik afscheid van mijn kinderen zonder dat ze het doorhebben",
    ],
)
def test_an_answer_holding_on_to_the_plan_is_danger_right_after_the_lines(safety_net: SafetyNet, answer: str) -> None:
    assert safety_net.holds_on(answer, "suicidal")


@pytest.mark.parametrize(
    "answer",
    [
        "ik heb besloten om toch 113 te bellen",
        "i decided to talk to my mentor",
        "ik heb nog niks besloten",
        "i never got to say goodbye to my kids when they arrested him",
        "de laatste keer dat ik hem zag was in april",
        "ik wil niet dat het de laatste keer is dat ze me zien",
        "tomorrow is the last time I see him before his transfer",
        "how do i say goodbye to my kids before i go to prison",
        "hoe neem ik afscheid van mijn kinderen voordat ik de bak in ga",
    ],
)
def test_choosing_help_is_not_holding_on(safety_net: SafetyNet, answer: str) -> None:
    assert not safety_net.holds_on(answer, "suicidal")


@pytest.mark.parametrize(
    "message",
    [
        "twee jaar geleden sneed ik mezelf, maar ik doe het al lang niet meer",
        "i used to self harm in year 8 but ive been fine for ages",
        "die tiener van mij wordt nog mijn dood",
        "cutting my own hair tonight, pray for me",
    ],
)
def test_past_self_harm_and_figures_of_speech_raise_no_alarm(safety_net: SafetyNet, message: str) -> None:
    assert safety_net.assess(message).level is not RiskLevel.ACUTE


@pytest.mark.parametrize(
    "message",
    [
        "zijn neven sturen berichten dat ze weten waar we wonen",
        "someone messaged me that they know which school my daughter is at",
        "hij laat via zijn neef weten dat ik ervoor ga boeten als ik niet kom",
        "his brother says i'll pay for this if i stop visiting",
        "ik kras weer, vorig jaar was ik gestopt",
    ],
)
def test_threats_through_others_and_self_harm_that_is_back_are_acute(safety_net: SafetyNet, message: str) -> None:
    assert safety_net.assess(message).level is RiskLevel.ACUTE


@pytest.mark.parametrize(
    "message",
    [
        "mama vermoordt me als ik te laat thuis kom",
        "my mum will kill me if she sees this",
        "mn moeder maakt me af als ze dit ziet",
        "die leraar vermoordt me nog, hij belt elke dag",
        "my boss is going to kill me if i'm late again",
    ],
)
def test_a_parents_will_kill_me_is_an_idiom(safety_net: SafetyNet, message: str) -> None:
    assessment = safety_net.assess(message)
    assert assessment.level is not RiskLevel.ACUTE and assessment.idiom


@pytest.mark.parametrize(
    "message",
    [
        "he said he will kill me if i tell anyone",
        "hij vermoordt me als hij vrijkomt, dat heeft hij gezegd",
        "mijn vader vermoordt me als hij vrijkomt",
        "hij vermoordt me nog als hij vrijkomt",
        "dad is going to kill me when he gets out, he told me on the phone",
        "mn vader heeft gezegd als ik niet mn mond hou over thuis dan maakt ie me af",
        "my mums new bf says if i tell anyone he'll hurt my lil sis",
        "mijn schoonvader zei dat hij me vermoordt als ik de kinderen meeneem",
        # a partner's is no family exasperation
        "mijn man vermoordt me als hij hoort dat ik het verteld heb",
    ],
)
def test_a_threat_told_or_for_the_release_is_no_idiom(safety_net: SafetyNet, message: str) -> None:
    assessment = safety_net.assess(message)
    assert assessment.level is RiskLevel.ACUTE and "violence" in assessment.categories


@pytest.mark.parametrize(
    "message",
    [
        "i took a lot of pills",
        "ik heb veel pillen geslikt",
        "i have the pills here",
        "heb net een hele strip paracetamol genomen",
    ],
)
def test_pills_taken_or_at_hand_are_never_nothing(safety_net: SafetyNet, message: str) -> None:
    """Pills taken or at hand, in plain words: weak (a headache sounds the same), so the models decide between the
    quiet and the full lines, but never nothing, also with the NLU service down."""
    assert safety_net.assess(message).level is RiskLevel.ACUTE


def test_a_sports_practice_is_no_course_about_the_subject(safety_net: SafetyNet) -> None:
    """ "they are at training right now" (football) is no training about the subject: the models may still read a
    threat told around it; "een training over zelfbeschadiging" is talk about the subject."""
    pitch = "his cousin sent a photo of my boys at the football pitch, 'zou zonde zijn'. they are at training right now"
    assert "general" not in safety_net.assess(pitch).cues
    assert "general" in safety_net.assess("we hadden een training over zelfbeschadiging, hoe herken ik het").cues


def test_a_lesson_about_suicide_is_talk_about_the_subject(safety_net: SafetyNet) -> None:
    lesson = safety_net.assess("I'm planning a PSHE lesson that touches on suicide and self-harm")
    assert lesson.one_word and "general" in lesson.cues


@pytest.mark.parametrize(
    ("message", "report"),
    [
        ("youth worker here. a 15yo just texted me she is on the roof", "a 15yo just texted me she is on the roof"),
        ("ik ben leerkracht groep 6: een leerling vertelde me iets ergs", "een leerling vertelde me iets ergs"),
        ("hoe regel ik een bezoek. mijn man zit vast sinds maandag", None),
        ("Als mentor zag ik vandaag verse snijwonden op de arm van een leerling", None),
    ],
)
def test_the_report_after_a_reporters_short_introduction(
    safety_net: SafetyNet, message: str, report: str | None
) -> None:
    assert safety_net.report_of(message) == report


@pytest.mark.parametrize(
    "message",
    [
        "ik ben bang dat ik mezelf vannacht iets aandoe",
        "ik denk echt dat ik er vanavond een eind aan maak",
        "ik ga die gast afmaken, mes ligt al klaar",
    ],
)
def test_own_fear_of_self_harm_a_plan_tonight_and_a_weapon_ready_are_acute(safety_net: SafetyNet, message: str) -> None:
    assert safety_net.assess(message).level is RiskLevel.ACUTE


def test_not_joking_is_no_joke_marker(safety_net: SafetyNet) -> None:
    assert safety_net.assess("not joking this time, im gonna kms").alarm
    assert safety_net.assess("im gonna kms lol").ambiguous


class _WorriedReading:
    """A learned layer that reads concern in everything: what SafetyNet does with such a reading is under test."""

    doubt_below = 0.3
    alarm_above = 0.99

    def assess(self, text: str) -> LearnedVerdict:
        return LearnedVerdict(RiskLevel.CONCERN, "not_coping", 0.0, 0.9)


class _GoodbyeReading:
    """A learned layer that reads a suicidal goodbye in everything, sure enough to raise it quietly."""

    doubt_below = 0.2
    alarm_above = 1.01

    def assess(self, text: str) -> LearnedVerdict:
        return LearnedVerdict(RiskLevel.ACUTE, "suicidal", 0.93, 0.0)


def test_a_negation_silences_the_learned_layer_only_for_the_danger_it_dropped() -> None:
    net = SafetyNet.from_yaml(learned=cast(LearnedRisk, _GoodbyeReading()))
    dog = (
        "Vandaag heb ik de hond naar het asiel gebracht zodat die straks niet alleen in huis zit. "
        "Ik wil alleen dat iemand het weet."
    )
    other = net.assess(dog)
    assert other.level is RiskLevel.ACUTE and other.ambiguous and other.categories == ("suicidal",)
    assert net.assess("ik wil niet dood, ik wil alleen dat het een keer rustig is thuis").level is not RiskLevel.ACUTE


def test_the_learned_layers_concern_counts_only_on_a_message_long_enough_to_read() -> None:
    net = SafetyNet.from_yaml(learned=cast(LearnedRisk, _WorriedReading()))
    assert net.assess("okk thx").level is RiskLevel.NONE
    assert net.assess("ik kom de dag gewoon niet meer door").level is RiskLevel.CONCERN


@pytest.mark.parametrize(
    ("text", "acute"),
    [
        ("my mum is on the floor and she won't wake up", True),
        ("ik krijg papa niet wakker, help", True),
        ("oma is ingestort in de keuken", True),
        ("he won't wake up for school", False),
        ("mijn zoon wordt niet wakker voor school, hoe krijg ik hem uit bed", False),
    ],
)
def test_a_carer_collapsed_or_not_waking_is_an_emergency(safety_net: SafetyNet, text: str, acute: bool) -> None:
    assert (safety_net.assess(text).level is RiskLevel.ACUTE) is acute


def test_a_cue_before_a_match_does_not_reach_past_and(safety_net: SafetyNet) -> None:
    assert safety_net.assess("mama is al 2 dagen niet thuis en er is geen eten meer").alarm
    assert safety_net.assess("i dont know and i want to die").alarm
    assert not safety_net.assess("er is niet geen eten, we hebben genoeg").alarm


def test_a_worry_about_danger_tonight_is_no_mere_worry(safety_net: SafetyNet) -> None:
    worry = safety_net.assess("ik ben bang dat papa zich van kant maakt")
    assert worry.level is RiskLevel.CONCERN
    tonight = safety_net.assess("hij heeft het al eens geprobeerd en ik ben bang dat hij zich vannacht van kant maakt")
    assert tonight.level is RiskLevel.ACUTE


@pytest.mark.parametrize(
    "text",
    ["my dad says he'd die for me", "ik zou voor haar sterven", "not like doing anything, i just want to sleep"],
)
def test_love_and_a_denial_are_no_danger(safety_net: SafetyNet, text: str) -> None:
    assert safety_net.assess(text).level is not RiskLevel.ACUTE


@pytest.mark.parametrize(
    ("text", "acute"),
    [
        ("een leerling vertelde net dat haar stiefvader 's nachts bij haar in bed komt", True),
        ("mijn dochter van 4 komt 's nachts bij mij in bed sinds papa weg is", False),
        ("the girl next door is outside in the cold at 11pm, her mum locked her out", True),
        ("ze heeft mijn zoon vastgepakt en meegesleurd naar haar auto", True),
        ("one of my clients just texted me 'goodbye, thanks for everything'. she's not answering her phone", True),
        ("my mum isnt answering her phone, she said goodbye this morning before work", False),
        ("my brother put 'sorry for everything' on his story last night and his phone has been off since", True),
        ("mijn dochter stuurde 'sorry voor alles' en sindsdien staat haar mobiel uit", True),
        ("sorry for everything i said yesterday, my phone was off so i only saw it now", False),
        ("we zijn met z'n drieën thuis, mama en papa zijn allebei weg sinds zondag en er is bijna niks meer", True),
        ("my little brother and me are alone, mum and dad are both gone since yesterday and there's no food", True),
        ("papa en mama zijn allebei weg vanavond naar een feestje, oma past op", False),
        ("een moeder zette haar kinderen bij de balie neer en zei dat ze niet meer terug zou komen", True),
        ("my mum left us kids a note, she's not coming back till late tonight, can i make pasta", False),
        ("de oom van mijn zoontje zit aan zijn piemeltje als hij daar slaapt", True),
        ("mijn dochter van 2 zit steeds aan haar plassertje, is dat normaal?", False),
        ("my nephew said the neighbour touched his privates at the pool", True),
        ("zijn broer zegt dat hij hem vannacht gaat pakken, hij liet een boksbeugel zien", True),
        ("ik sneed de appel met een mes, vanavond eten we pasta", False),
        ("mijn kleine zusje is al 3 dagen alleen, papa is niet thuis en er is geen eten meer", True),
        ("hij sloeg mijn zoontje gisteren weer met zijn broekriem", True),
        ("my nephew said his stepdad beats him with a cable when he's late", True),
        ("ik deed de riem om en ging naar school", False),
        ("oom zei dat ik aan niemand mag vertellen wat hij met me doet", True),
        ("i'm not allowed to tell anybody what my stepdad did to me", True),
        ("mijn cliënt zei vanmiddag dat ze zich vanavond wil snijden", True),
        ("haar moeder belde en zei dat ze geen reden meer ziet om nog door te gaan", True),
        ("ik neem een mes mee en steek hem als hij weer begint", True),
        ("ik sneed de appel met een mes", False),
        ("she wrote from prison that he'd finish what he started", True),
    ],
)
def test_a_child_in_danger_a_goodbye_sent_or_a_reported_plan_is_acute(
    safety_net: SafetyNet, text: str, acute: bool
) -> None:
    assert (safety_net.assess(text).level is RiskLevel.ACUTE) is acute


@pytest.mark.parametrize(
    "text",
    [
        "ik merk dat ik het gewoon niet meer aankan met drie kinderen",
        "nobody cares whether i show up or not",
        "sinds de inval heeft mijn zoon nachtmerries",
        "niemand wil nog met me omgaan sinds ze het weten",
    ],
)
def test_distress_said_in_passing_is_a_worry(safety_net: SafetyNet, text: str) -> None:
    assert safety_net.assess(text).level is RiskLevel.CONCERN


@pytest.mark.parametrize(
    "message",
    [
        "whats even the point anymore. ive been looking up ways to do it tbh",
        "ive been googling how to do it painlessly",
        "ik heb opgezocht hoe ik het kan doen zonder pijn, ik wil dood",
    ],
)
def test_looking_up_how_to_do_it_is_suicidal(safety_net: SafetyNet, message: str) -> None:
    assessment = safety_net.assess(message, learned=False)
    assert assessment.level is RiskLevel.ACUTE and "suicidal" in assessment.categories


@pytest.mark.parametrize(
    "message",
    [
        "hoe oud moet je zijn om zonder volwassene op bezoek te mogen bij je vader",
        "can i visit without an adult when im 15",
        "tbh idk if i even wanna go next time",
        "i looked up ways to make the visit easier",
    ],
)
def test_visiting_alone_or_going_again_is_no_danger(safety_net: SafetyNet, message: str) -> None:
    assert safety_net.assess(message, learned=False).level is RiskLevel.NONE


def test_a_child_home_without_an_adult_is_still_unsafe(safety_net: SafetyNet) -> None:
    assessment = safety_net.assess("mijn broertje van 6 is thuis zonder volwassene, mama is opgepakt", learned=False)
    assert assessment.level is RiskLevel.ACUTE and assessment.subject == "child"


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("i used to hit myself when my mum was arrested but havent done it in ages", RiskLevel.CONCERN),
        ("vroeger sneed ik mezelf, nu al een jaar niet meer", RiskLevel.CONCERN),
        # a child's past, told by a parent or a professional: worth a follow-up too (round 24; it was nothing before)
        ("my son scratched his arms last year when his dad went inside, he has stopped now", RiskLevel.CONCERN),
        ("our foster son has old scars on his arms from before he came to us", RiskLevel.CONCERN),
        # in so many words: "used to cut", "stopped cutting", "haven't cut in 8 months"
        ("i used to cut when i was 13, been fine since", RiskLevel.CONCERN),
        ("stopped cutting in march, first visit is next week", RiskLevel.CONCERN),
        ("she used to scratch my back when i couldnt sleep", RiskLevel.NONE),
        ("vroeger sloeg hij me, nu zijn we veilig", RiskLevel.NONE),  # violence in the past: no worry of its own
        ("my grandad has old scars from the war", RiskLevel.NONE),
        ("i used to cut myself and i started again last week", RiskLevel.ACUTE),  # back again
        ("i used to cut and yesterday i did it again", RiskLevel.ACUTE),
    ],
)
def test_the_writers_own_self_harm_in_the_past_is_a_concern_not_nothing(
    safety_net: SafetyNet, text: str, level: RiskLevel
) -> None:
    assessment = safety_net.assess(text)
    assert assessment.level is level
    if level is RiskLevel.CONCERN:
        assert assessment.categories == ("past_self_harm",)


def test_being_scared_silences_the_models_only_where_it_made_a_worry_of_a_match(safety_net: SafetyNet) -> None:
    """ "…he's shouting and smashing stuff, im scared": the writer's fear is no worry about someone else, and the
    models may still read the danger; "bang dat papa doodgaat" is a worry, and the models keep quiet on it."""
    assert "worry" not in safety_net.assess("he's shouting and smashing stuff, im scared").cues
    assert "worry" in safety_net.assess("ik ben bang dat papa zichzelf iets aandoet in de gevangenis").cues


@pytest.mark.parametrize(
    ("text", "subject"),
    [
        ("Ik ben de stiefvader van een meisje van 14. Gisteren zag ik sneetjes op haar onderarm", "child"),
        ("my stepson is 15 and I noticed fresh cuts on his arms", "child"),
        ("ik heb sneetjes in mijn arm gemaakt", "self"),
        ("ik wil er niet meer zijn", "self"),
    ],
)
def test_cuts_on_her_arm_told_of_a_child_are_the_childs(safety_net: SafetyNet, text: str, subject: str) -> None:
    """A possessive inside the phrase ("op haar onderarm") with a child named in the message: the child's danger,
    not the writer's (whose nearest word before the phrase, "zag ik", would say so)."""
    assessment = safety_net.assess(text)
    assert assessment.level is RiskLevel.ACUTE
    assert assessment.subject == subject


@pytest.mark.parametrize(
    ("text", "category", "ambiguous"),
    [
        # someone who has cut themself and says they go on
        ("mijn zoon heeft zich net gesneden en zegt dat hij doorgaat als ik binnenkom", "self_harm", False),
        # violence heard now, a child crying "stop"; being followed by someone who threatened
        ("right now screaming and glass breaking next door, a kid keeps yelling stop stop", "violence", False),
        ("ik hoor nu gegil en glas breken bij de buren", "violence", False),
        ("a man grabbed my arm at the market and now he is following us to the car", "violence", False),
        # a parent gone since last night with the little ones
        ("mum went out last night and is not back, my brothers are 2 and 4", "child_unsafe", False),
    ],
)
def test_a_cut_that_goes_on_violence_heard_now_and_little_ones_left_are_acute(
    safety_net: SafetyNet, text: str, category: str, ambiguous: bool
) -> None:
    assessment = safety_net.assess(text, learned=False)
    assert assessment.level is RiskLevel.ACUTE
    assert assessment.categories == (category,)
    assert assessment.ambiguous is ambiguous


@pytest.mark.parametrize(
    "text",
    [
        "mijn dochter heeft zich vorig jaar gesneden, nu gaat het goed met haar",
        "he cut himself shaving this morning lol",
        "my daughter has swimming lessons on saturday, can her dad see a photo of her?",
        "dad went to prison yesterday and is not back home, my little brother cries",
        "the kids were screaming with joy at the pool today",
        # an accident with a knife or a glass, also again; a child following her mother around; a crying child
        "ze heeft zich gesneden aan een glas, en morgen gaan we weer op bezoek",
        "he cut himself again while cooking, so clumsy",
        "ik weet waar hij zit, wat volgt er nu voor ons?",
        "mijn zoontje volgt mij overal en pakte mijn telefoon",
        "the prison is following up with us, they threatened to cancel our visit",
        "mijn dochter is aan het huilen want haar glas is kapot, wat moet ik nu",
        "mijn dochter is slap en heeft koorts, kan ik dat aan papa doorgeven?",
        "het geld is schaars want we zijn arm",
    ],
)
def test_a_cut_long_ago_an_accident_lessons_and_an_absence_are_no_alarm(safety_net: SafetyNet, text: str) -> None:
    assert safety_net.assess(text, learned=False).level is not RiskLevel.ACUTE


def test_swimming_lessons_are_no_talk_about_the_subject(safety_net: SafetyNet) -> None:
    message = "he grabbed my arm and said he knows where my daughter has her swimming lessons, now he is following us"
    assert "general" not in safety_net.assess(message).cues
    assert "general" in safety_net.assess("we had a lesson about self-harm at school, how do i spot it").cues


@pytest.mark.parametrize(
    "text",
    [
        "before you send me a suicide line: I'm not going to do anything stupid, I just need to vent",
        "we had a suicide prevention training at work today, how do I support my partner inside?",
        "when the judge said 4 years it hit me like a falling container",
        "my daughter's lesson today was about suicide, how do i talk to her",
    ],
)
def test_the_lines_named_and_a_blow_as_a_figure_of_speech_are_no_alarm(safety_net: SafetyNet, text: str) -> None:
    assert safety_net.assess(text, learned=False).level is not RiskLevel.ACUTE


@pytest.mark.parametrize(
    "text",
    [
        "give me the suicide line, i want to die",
        "i'm going to commit suicide. hotline people never help anyway",
        "i'm planning my suicide. prevention is pointless",
        "my stepdad hits me like an animal",
    ],
)
def test_the_lines_named_or_a_likeness_do_not_hide_the_danger(safety_net: SafetyNet, text: str) -> None:
    assert safety_net.assess(text, learned=False).level is RiskLevel.ACUTE


def test_a_nail_scissors_in_the_arm_is_at_least_the_check_question(safety_net: SafetyNet) -> None:
    assessment = safety_net.assess("heb mn nagelschaartje in mn arm gezet en het bloed gaat niet weg", learned=False)
    assert assessment.level is RiskLevel.ACUTE and assessment.categories == ("self_harm",)
