"""The conversation as a user lives it, through the real pipeline and database; only NLU answers are scripted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.content import Content
from bot.conversation.pipeline import Pipeline
from bot.replies import Reply, Sender, keeping
from bot.storage.models import Case, Conversation, Database, InsightCount
from bot.understanding.nlu_client import NluClient
from bot.understanding.understander import Understander
from safety.risk import SafetyNet
from tests.conftest import make_desk, scripted_nlu, unreachable_nlu
from tests.fakes import RecordingMessenger, by_keyword

KEY = "k" * 64
USER = Sender(KEY)
MakePipeline = Callable[[NluClient | None], Pipeline]


def actions(reply: Reply) -> list[str]:
    return [button.action for button in reply.buttons]


async def cases_of(database: Database) -> list[Case]:
    async with database.sessions() as session:
        return list((await session.scalars(select(Case).order_by(Case.id))).all())


async def after_the_lines(pipeline: Pipeline, role: str, danger: str) -> None:
    """A conversation in which the user chose `role` and said `danger`: the crisis lines have just been sent."""
    await pipeline.command(USER, "start")
    await pipeline.action(USER, f"aud:{role}")
    await pipeline.text(USER, danger)


@pytest.fixture
def pipeline(make_pipeline: MakePipeline) -> Pipeline:
    """No professionals' group: the default deployment."""
    return make_pipeline(scripted_nlu(by_keyword))


@pytest.fixture
def live_pipeline(database: Database, content: Content, safety_net: SafetyNet) -> Pipeline:
    """With a professionals' group, so that a person can be offered."""
    desk = make_desk(database, content, RecordingMessenger()).desk
    return Pipeline(Understander(safety_net, scripted_nlu(by_keyword), 0.45, 0.5), content, database, desk)


async def test_first_contact_welcomes_and_asks_who_you_are(pipeline: Pipeline) -> None:
    [reply] = await pipeline.command(USER, "start")
    assert "anoniem" in reply.text
    assert actions(reply) == ["aud:parent", "aud:youth", "aud:professional", "lang:en"]


async def test_english_telegram_user_is_welcomed_in_english(pipeline: Pipeline) -> None:
    [reply] = await pipeline.command(Sender(KEY, "en-GB"), "start")
    assert "anonymous" in reply.text


async def test_a_question_before_choosing_is_answered_once_the_audience_is_known(pipeline: Pipeline) -> None:
    [welcome] = await pipeline.text(USER, "hoe gaat een bezoek?")
    assert "aud:youth" in actions(welcome)
    [question] = await pipeline.action(USER, "aud:youth")
    assert actions(question) == ["slot:first_visit:yes", "slot:first_visit:no", "slot:first_visit:skip"]
    [answer] = await pipeline.action(USER, "slot:first_visit:yes")
    assert "ID" in answer.text and "14" in answer.text
    assert "menu" in actions(answer)


async def test_answer_depends_on_audience(pipeline: Pipeline) -> None:
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:parent")
    [parent] = await pipeline.text(USER, "hoe regel ik bezoek")
    await pipeline.action(USER, "aud:youth")
    [youth] = await pipeline.text(USER, "hoe regel ik bezoek")
    assert parent.text != youth.text


async def test_acute_message_gets_the_crisis_lines_first_and_a_case(
    live_pipeline: Pipeline, database: Database
) -> None:
    await live_pipeline.command(USER, "start")
    await live_pipeline.action(USER, "aud:youth")
    first, offer = await live_pipeline.text(USER, "ik wil er niet meer zijn, iedereen is beter af zonder mij")
    for number in ("112", "113", "0800-0113", "0800-0432"):
        assert number in first.text
    assert first.buttons == () and first.urgent
    assert actions(offer) == ["handoff:yes", "handoff:no"]
    [case] = await cases_of(database)
    assert (case.risk, case.reason, case.status) == ("acute", "acute:suicidal", "offered")


async def test_without_a_professionals_group_the_crisis_lines_come_with_no_promise_of_a_person(
    pipeline: Pipeline, database: Database, content: Content
) -> None:
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:youth")
    first, check = await pipeline.text(USER, "ik wil er niet meer zijn, iedereen is beter af zonder mij")
    assert "113" in first.text and "0800-0432" in first.text
    assert check.text == content.ui("crisis_no_desk", "nl")
    assert actions(check) == ["safe:ok", "safe:notok"]
    assert await cases_of(database) == []
    # Asking for a person then gets who can be reached now, every time: never a promise, never silence.
    for text in ("kan ik een mens spreken", "ja", "hallo?"):
        replies = await pipeline.text(USER, text)
        assert replies, text
        assert all("handoff:yes" not in actions(reply) for reply in replies)
    [stop] = await pipeline.command(USER, "stop")
    assert stop.text == content.ui("stopped", "nl")


async def test_violence_gets_veilig_thuis_and_later_answers_close_with_112_not_113(
    pipeline: Pipeline, content: Content
) -> None:
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:parent")
    first, _ = await pipeline.text(USER, "mijn vriend slaat me en ik ben bang")
    assert "0800-2000" in first.text and "112" in first.text
    [answer] = await pipeline.text(USER, "hoe werkt bezoek")
    assert content.ui("safety_footer_violence", "nl") in answer.text
    assert content.ui("safety_footer", "nl") not in answer.text


async def test_an_unclear_signal_of_violence_asks_about_that_danger_with_its_lines_not_113(pipeline: Pipeline) -> None:
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:youth")
    [quiet] = await pipeline.text(USER, "mn stiefvader slaat me xd")
    assert "0800-2000" in quiet.text and "112" in quiet.text and "113" not in quiet.text
    [gone] = await pipeline.text(USER, "niet hier nu")  # about the danger: no "no" to the check question
    assert "0800-2000" in gone.text and actions(gone) == ["safe:ok", "safe:notok"]
    other = Sender("j" * 64)
    await pipeline.command(other, "start")
    await pipeline.action(other, "aud:youth")
    [unclear_self] = await pipeline.text(other, "ik wil dood lol")
    assert "113" in unclear_self.text and "0800-2000" in unclear_self.text


@pytest.mark.parametrize(
    "said",
    [
        "wat moet ik zeggen als ik bel",
        "oke maar wat moet ik typen in die chat",
        "ik heb nog nooit een hulplijn gesproken, wat zeg ik tegen ze",  # names the line, not the call
    ],
)
async def test_what_to_say_on_the_phone_is_answered_after_the_lines(
    pipeline: Pipeline, content: Content, said: str
) -> None:
    await after_the_lines(pipeline, "parent", "mijn vriend slaat me en ik ben bang")
    [say] = await pipeline.text(USER, said)
    assert say.text == content.crisis_after("say", "violence", "parent", "nl")


@pytest.mark.parametrize(
    ("danger", "family", "said"),
    [
        ("ik wil niet meer leven", "suicide", "ik kan thuis niet hardop praten, kan ik ook typen?"),
        ("mijn vriend slaat me en ik ben bang", "violence", "ik heb geen beltegoed meer"),
    ],
)
async def test_not_being_able_to_call_after_the_lines_gets_the_chats(
    pipeline: Pipeline, content: Content, danger: str, family: str, said: str
) -> None:
    """ "ik heb geen beltegoed meer": the chats and the free numbers for that danger, not a person or a check-in."""
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:youth")
    await pipeline.text(USER, danger)
    [reply] = await pipeline.text(USER, said)
    assert reply.text == content.crisis_after("no_call", family, "youth", "nl")
    assert "chat" in reply.text and "gratis" in reply.text


async def test_a_question_after_the_lines_that_names_a_line_gets_that_lines_answer(
    pipeline: Pipeline, content: Content
) -> None:
    """After lines for violence, "als ik 113 bel, bellen ze dan mn moeder?" is about 113: its answer says 113 is
    anonymous, not the violence lines' text; a question naming no line keeps the alarm's own family."""
    await after_the_lines(pipeline, "youth", "mijn vriend slaat me en ik ben bang")
    [named] = await pipeline.text(USER, "als ik 113 bel bellen ze dan mn moeder")
    assert named.text == content.crisis_after("secret", "suicide", "youth", "nl")
    assert "anoniem" in named.text and "113" in named.text
    [unnamed] = await pipeline.text(USER, "wat moet ik zeggen als ik bel")
    assert unnamed.text == content.crisis_after("say", "violence", "youth", "nl")


async def test_a_professionals_question_after_reporting_a_danger_gets_the_professionals_answer(
    pipeline: Pipeline, content: Content
) -> None:
    await after_the_lines(pipeline, "professional", "een moeder zei net dat ze een eind aan haar leven wil maken")
    [after] = await pipeline.text(USER, "wie kan ondertussen de kinderen ondersteunen?")
    assert after.text == content.crisis_after("ask", "suicide", "professional", "nl")
    assert "wijkteam" in after.text and not after.buttons  # the danger is the client's: no "how are you?" buttons
    assert content.crisis_after("ask", "suicide", "parent", "nl") is None  # a family gets the lines of ui.yml


async def test_a_parent_telling_of_a_childs_cuts_gets_lines_for_the_one_who_worries(
    pipeline: Pipeline, content: Content
) -> None:
    """A stepfather who saw fresh cuts on his stepdaughter's arm: the lines speak to him and add the child's own line;
    what follows is what to do for her, not "how are you?" to him. The writer's own self-harm keeps its lines."""
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:parent")
    first, *_ = await pipeline.text(USER, "het meisje is 14. gisteren zag ik sneetjes op haar onderarm")
    assert first.text.startswith(content.crisis_lines(("self_harm",), "parent", "nl", "child")[:60])
    assert "0800-0432" in first.text and "113" in first.text
    [after] = await pipeline.text(USER, "wie moet ik bellen")
    assert after.text == content.crisis_after("ask", "someone", "parent", "nl")
    assert not after.buttons  # the danger is the child's: no "how are you?" buttons for the writer
    other = Sender("o" * 64)
    await pipeline.command(other, "start")
    await pipeline.action(other, "aud:parent")
    own, *_ = await pipeline.text(other, "ik heb weer sneetjes in mijn arm gemaakt")
    assert own.text.startswith(content.crisis_lines(("self_harm",), "parent", "nl")[:60])
    assert not own.text.startswith(content.crisis_lines(("self_harm",), "parent", "nl", "child")[:60])
    [after_own] = await pipeline.text(other, "wie moet ik bellen")
    assert after_own.text != content.crisis_after("ask", "someone", "parent", "nl"), "the writer's own: the 113 lines"


async def test_a_professionals_report_with_a_phrase_of_danger_keeps_the_lines(pipeline: Pipeline) -> None:
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:professional")
    # The scripted model reads a referral question; the safety net a (weak) phrase of a goodbye: the lines stay.
    [quiet] = await pipeline.text(USER, "a pupil left a goodbye note in her locker, where do i refer her")
    assert "113" in quiet.text and "112" in quiet.text


async def test_a_correction_ends_the_alarm_and_its_footer(pipeline: Pipeline, content: Content) -> None:
    await after_the_lines(pipeline, "youth", "ik wil dood")
    [corrected] = await pipeline.text(USER, "nee niet letterlijk hoor")
    assert corrected.text == content.ui("alarm_corrected", "nl")
    [answer] = await pipeline.text(USER, "hoe werkt bezoek")
    assert content.ui("safety_footer", "nl") not in answer.text


async def test_one_no_does_not_end_the_safety_check(live_pipeline: Pipeline, database: Database) -> None:
    await live_pipeline.command(USER, "start")
    await live_pipeline.action(USER, "aud:youth")
    await live_pipeline.text(USER, "ik wil dood")
    [check] = await live_pipeline.text(USER, "nee ik ben oké")
    assert "113" in check.text
    assert actions(check) == ["safe:ok", "safe:notok"]
    [case] = await cases_of(database)
    assert case.status == "declined"
    # Later answers keep the lines in sight.
    await live_pipeline.action(USER, "safe:ok")
    [answer] = await live_pipeline.text(USER, "hoe werkt bezoek")
    assert "113" in answer.text and "/hulp" in answer.text


async def test_a_question_after_the_crisis_lines_is_a_question_not_a_no(live_pipeline: Pipeline) -> None:
    await live_pipeline.command(USER, "start")
    await live_pipeline.action(USER, "aud:youth")
    await live_pipeline.text(USER, "ik wil dood")
    replies = await live_pipeline.text(USER, "hoe werkt bezoek? ik wil niet dat mama het weet")
    assert replies and all(actions(reply) != ["safe:ok", "safe:notok"] for reply in replies)


async def test_an_ordinary_question_sharing_a_word_with_after_crisis_questions_gets_its_own_answer(
    pipeline: Pipeline, content: Content
) -> None:
    await after_the_lines(pipeline, "youth", "ik wil dood")
    [visit] = await pipeline.text(USER, "kan ik papa nog bellen of alleen op bezoek?")
    assert content.ui("after_crisis_suicide", "nl") not in visit.text and "113" in visit.text  # the footer stays
    assert actions(visit) != ["safe:ok", "safe:notok"]
    [later] = await pipeline.text(USER, "en daarna, hoe vertel ik het op school?")
    assert content.ui("after_crisis_suicide", "nl") not in later.text and actions(later) != ["safe:ok", "safe:notok"]
    [who] = await pipeline.text(USER, "wie moet ik bellen voor bezoek")
    assert actions(who) == ["safe:ok", "safe:notok"]  # names whom to call: a question about the help


@pytest.mark.parametrize(
    "said",
    [
        "ok chat staat open. andere vraag, wat zijn de regels voor bezoek?",  # another question, said so
        "ok ik heb 113 gebeld en ze helpen me. wat zijn de regels voor bezoek?",  # the question after a report
        "ok ik heb 113 gebeld. mijn zoon vraagt naar de regels voor bezoek, hoe zit dat",  # … after a comma
        "wat zijn de regels voor bezoek? ik wil hem graag zien",  # the question first, then more
    ],
)
async def test_another_question_after_the_lines_gets_its_own_answer(
    pipeline: Pipeline, content: Content, said: str
) -> None:
    await after_the_lines(pipeline, "youth", "ik wil niet meer leven")
    [answer] = await pipeline.text(USER, said)
    assert answer.text.startswith(content.answer("visit_rules", "youth", "nl").text[:60])


def _unsure_after_the_lines(text: str) -> list[tuple[str, float]]:
    """The scripted model, less than sure of the ordinary questions a user may ask after the lines."""
    if "regel ik" in text or "klopt het" in text:
        return [("visit", 0.36), ("explain_to_child", 0.2)]
    if "anders" in text:
        return [("contact_phone", 0.9)]
    return by_keyword(text)


@pytest.mark.parametrize(
    ("said", "own_answer"),
    [
        ("ok. en hoe regel ik dat de kinderen hun moeder zien", True),  # a nod to the lines, then the question
        ("andere vraag, klopt het dat ik te jong ben", True),  # another question, said so
        ("random vraag maar hoe regel ik dat de kinderen hun moeder zien", True),  # in chat words
        ("en hoe regel ik dat de kinderen hun moeder zien", False),  # unsure, and no sign of moving on
        # unsure, but the danger is told as over and a whole question about visits follows
        ("hij is opgepakt. en hoe regel ik dat de kinderen hun moeder zien", True),
        ("hij is opgepakt. en hoe regel ik dat", False),  # too short to say what it is about: the lines' question
    ],
)
async def test_an_unsure_question_that_moves_on_after_the_lines_gets_its_own_answer(
    make_pipeline: MakePipeline, content: Content, said: str, own_answer: bool
) -> None:
    pipeline = make_pipeline(scripted_nlu(_unsure_after_the_lines))
    await after_the_lines(pipeline, "parent", "ik wil niet meer leven")
    replies = await pipeline.text(USER, said)
    lines = {content.ui("after_crisis_suicide", "nl"), content.crisis_after("over", "suicide", "parent", "nl")}
    assert (replies[0].text in lines) is not own_answer, replies[0].text


async def test_a_question_that_says_it_cannot_call_is_about_the_lines(
    make_pipeline: MakePipeline, content: Content
) -> None:
    """The model reads calls ("kan het ook anders?"), but the message says calling is not possible: the chats."""
    pipeline = make_pipeline(scripted_nlu(_unsure_after_the_lines))
    await after_the_lines(pipeline, "parent", "ik wil niet meer leven")
    [reply] = await pipeline.text(USER, "ik wil niet bellen, de kinderen horen me. kan het ook anders?")
    assert reply.text == content.crisis_after("no_call", "suicide", "parent", "nl")


def _calls_read_as_contact(text: str) -> list[tuple[str, float]]:
    """The scripted model, sure that a question with "call" or "bellen" in it is about phoning the one inside."""
    if "call" in text or "bellen" in text:
        return [("contact_phone", 0.9)]
    return by_keyword(text)


@pytest.mark.parametrize(
    ("danger", "said", "about_the_lines"),
    [
        (
            "my boyfriend hits me and i am scared",
            "he went into his room and locked the door. the knife is still with him. do I still need to call?",
            True,
        ),
        ("mijn vriend slaat me en ik ben bang", "moet ik nu echt bellen?", True),
        ("mijn vriend slaat me en ik ben bang", "moet ik bellen als hij terugkomt?", True),
        ("mijn vriend slaat me en ik ben bang", "mijn man heeft nog steeds het mes. moet ik nu echt bellen?", True),
        ("mijn vriend slaat me en ik ben bang", "hij is nog binnen. moet ik nu echt bellen?", True),
        ("mijn vriend slaat me en ik ben bang", "moet ik nu echt bellen? hij zit morgen weer in de bak", True),
        ("mijn vriend slaat me en ik ben bang", "hoe kan ik mijn man bellen?", False),
        (
            "mijn vriend slaat me en ik ben bang",
            "nee ik bedoel, hij belt ze soms vanuit de bak. kan dat bellen ook stoppen?",
            False,
        ),
        ("ik wil niet meer leven", "mag ik papa nog bellen?", False),  # names the one inside: calls with him
        ("ik wil niet meer leven", "kan ik hem nog bellen?", False),
        (
            "mijn vriend slaat me en ik ben bang",
            "ok. maar hoe kan ik mn vader bellen, hij heeft daar geen telefoon?",
            False,
        ),
    ],
)
async def test_a_question_about_calling_that_names_nobody_to_call_is_about_the_lines(
    make_pipeline: MakePipeline, content: Content, danger: str, said: str, about_the_lines: bool
) -> None:
    """After the violence lines the model reads "do I still need to call?" as calls to the prison, and the answer on
    phoning a detainee came where the lines belong. Calling nobody named is the lines' question."""
    pipeline = make_pipeline(scripted_nlu(_calls_read_as_contact))
    await after_the_lines(pipeline, "parent", danger)
    [reply, *_] = await pipeline.text(USER, said)
    language = "en" if danger.startswith("my") else "nl"
    phoning = content.answer("contact_phone", "parent", language).text
    assert reply.text.startswith(phoning[:60]) is not about_the_lines, reply.text
    assert "112" in reply.text or "113" in reply.text  # the lines, or the footer under an answer while the alarm holds


async def test_a_correction_that_still_tells_of_distress_names_who_can_help(
    pipeline: Pipeline, content: Content
) -> None:
    await after_the_lines(pipeline, "parent", "ik wil niet meer leven")
    replies = await pipeline.text(USER, "nee nee zo bedoel ik het niet, ik slaap slecht en het is me allemaal te veel")
    assert replies[0].text.startswith(content.ui("alarm_corrected", "nl")[:30])
    assert replies[-1].text == content.ui("concern_no_desk", "nl", "parent")


async def test_a_correction_that_says_what_it_was_about_gets_that_answered(
    make_pipeline: MakePipeline, content: Content
) -> None:
    """ "nee niet zo!! niet dood ofzo. ik bedoel op die school …": the alarm ends, and what the message was about
    (whispering at school since everyone knows) is answered, not only "what can I help you with?"."""
    correction = (
        "nee niet zo!! niet dood ofzo. ik bedoel op die school. sinds iedereen weet dat mn moeder vastzit fluisteren ze"
        " als ik de kantine inloop"
    )
    script = {"ik wil er gewoon niet meer zijn": [("crisis_suicidal", 0.9)], correction: [("stigma_school", 0.9)]}
    pipeline = make_pipeline(scripted_nlu(lambda text: script.get(text, [("out_of_scope", 0.9)])))
    await after_the_lines(pipeline, "youth", "ik wil er gewoon niet meer zijn")
    replies = await pipeline.text(USER, correction)
    assert replies[0].text.startswith(content.ui("alarm_corrected", "nl")[:30])
    assert replies[-1].text.startswith(content.answer("stigma_school", "youth", "nl").text[:40])


async def test_who_can_be_reached_names_113_only_after_the_lines(pipeline: Pipeline) -> None:
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:youth")
    replies = await pipeline.text(USER, "kan ik met een mens praten")
    assert "0800-0432" in replies[-1].text and "113" not in replies[-1].text, "no danger said: no suicide line"
    other = Sender("k" * 64)
    await pipeline.command(other, "start")
    await pipeline.action(other, "aud:youth")
    await pipeline.text(other, "ik wil niet meer leven")
    [person] = await pipeline.text(other, "kan ik met een echt mens praten")
    assert "113" in person.text and "0800-0432" in person.text


async def test_asking_for_a_person_who_speaks_english_after_the_lines_is_asking_for_a_person(
    pipeline: Pipeline, content: Content
) -> None:
    """ "is there a person who speaks english?": "who" after "a person" asks for one, not whom to call."""
    await after_the_lines(pipeline, "parent", "mijn vriend slaat me en ik ben bang")
    [person] = await pipeline.text(USER, "thank you. is there a person who speak english?")
    assert content.answer("talk_to_human", "parent", "en").text[:30] in person.text, "a person, not the lines again"
    [whom] = await pipeline.text(USER, "who should i call?")
    assert content.answer("talk_to_human", "parent", "en").text[:30] not in whom.text, "whom to call: the lines"


async def test_a_question_without_its_question_mark_after_the_lines_gets_its_own_answer(
    pipeline: Pipeline, content: Content
) -> None:
    await after_the_lines(pipeline, "youth", "ik wil dood")
    [visit] = await pipeline.text(USER, "ok. maar hoe kan ik papa bellen, of alleen op bezoek")
    assert content.ui("after_crisis_suicide", "nl") not in visit.text and "113" in visit.text
    [lines] = await pipeline.text(USER, "ok. maar papa bellen gaat niet")
    assert lines.text == content.ui("after_crisis_suicide", "nl")  # no question: about the lines still


async def test_whether_it_stays_secret_is_answered_after_the_lines(pipeline: Pipeline, content: Content) -> None:
    await after_the_lines(pipeline, "parent", "mijn vriend slaat me en ik ben bang")
    # The scripted model reads "vertel" as explaining to a child; the question is whether the call stays secret.
    [secret] = await pipeline.text(USER, "maar je gaat het toch niet doorvertellen aan de politie")
    assert secret.text == content.crisis_after("secret", "violence", "parent", "nl")


async def test_a_question_about_feelings_after_the_lines_gets_its_own_answer(
    pipeline: Pipeline, content: Content
) -> None:
    await after_the_lines(pipeline, "youth", "ik wil dood")
    replies = await pipeline.text(USER, "is het normaal dat ik zo slecht slaap")  # a question without its mark
    assert content.ui("after_crisis_suicide", "nl") not in replies[0].text
    assert replies[0].text.startswith(content.answer("feelings_overwhelmed", "youth", "nl").text[:40])
    assert any("113" in reply.text for reply in replies)  # the lines stay in sight


async def test_not_okay_at_the_check_in_brings_the_lines_and_the_offer_back(live_pipeline: Pipeline) -> None:
    await live_pipeline.command(USER, "start")
    await live_pipeline.action(USER, "aud:youth")
    await live_pipeline.text(USER, "ik wil dood")
    await live_pipeline.action(USER, "handoff:no")
    lines, offer = await live_pipeline.text(USER, "het gaat niet goed")
    assert "113" in lines.text
    assert actions(offer) == ["handoff:yes", "handoff:no"]


async def test_concern_gets_an_answer_and_an_offer_asking_consent(live_pipeline: Pipeline, database: Database) -> None:
    await live_pipeline.command(USER, "start")
    await live_pipeline.action(USER, "aud:parent")
    answer, offer = await live_pipeline.text(USER, "ik slaap al weken niet meer")
    assert "Luisterlijn" in answer.text
    assert actions(offer) == ["handoff:yes", "handoff:no"]
    assert await cases_of(database) == []  # nothing recorded without consent
    await live_pipeline.action(USER, "handoff:yes")
    [case] = await cases_of(database)
    assert (case.reason, case.risk) == ("concern:sleep", "concern")


async def test_concern_without_a_professionals_group_names_who_can_help(
    pipeline: Pipeline, database: Database, content: Content
) -> None:
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:parent")
    _, help_now = await pipeline.text(USER, "ik slaap al weken niet meer")
    assert help_now.text == content.ui("concern_no_desk", "nl", "parent")
    assert await cases_of(database) == []


async def test_asking_for_a_person_then_declining_opens_no_case(live_pipeline: Pipeline, database: Database) -> None:
    await live_pipeline.command(USER, "start")
    await live_pipeline.action(USER, "aud:parent")
    [offer] = await live_pipeline.text(USER, "kan ik een mens spreken")
    assert actions(offer) == ["handoff:yes", "handoff:no"]
    [reply] = await live_pipeline.text(USER, "nee toch niet")
    assert "/hulp" in reply.text
    assert await cases_of(database) == []


async def test_acknowledgements_are_not_goodbyes(pipeline: Pipeline, content: Content) -> None:
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:parent")
    for text in ("ok", "nice", "ok cool", "thx"):
        [reply] = await pipeline.text(USER, text)
        assert reply.text == content.ui("acknowledged", "nl"), text


async def test_low_confidence_asks_back_with_the_two_likeliest_topics(pipeline: Pipeline) -> None:
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:parent")
    [reply] = await pipeline.text(USER, "iets vaags")
    assert "niet zeker" in reply.text
    assert actions(reply) == ["topic:contact", "topic:visit", "menu"]


async def test_when_the_nlu_service_is_down_the_menu_and_the_safety_net_still_work(make_pipeline: MakePipeline) -> None:
    pipeline = make_pipeline(unreachable_nlu())
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:parent")
    [reply] = await pipeline.text(USER, "hoe regel ik een bezoek")
    assert "storing" in reply.text and "topic:visit" in actions(reply)
    first, _ = await pipeline.text(USER, "ik wil een einde aan mijn leven maken")
    assert "113" in first.text
    [question] = await pipeline.action(USER, "topic:visit")
    assert "slot:first_visit:no" in actions(question), "follow-up questions need no NLU"
    [answer] = await pipeline.action(USER, "slot:first_visit:no")
    assert "dji.nl" in answer.text


@pytest.mark.parametrize("text", ["😭😭😭", "???", "\u202e\u200f"])
async def test_messages_without_words_get_a_kind_answer(pipeline: Pipeline, text: str) -> None:
    await pipeline.command(USER, "start")
    [reply] = await pipeline.text(USER, text)
    assert "woorden" in reply.text and reply.buttons


async def test_a_very_long_message_is_answered(pipeline: Pipeline) -> None:
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:parent")
    replies = await pipeline.text(USER, "bezoek " * 2000)
    assert replies and replies[0].text


async def test_unknown_command_and_tampered_button(pipeline: Pipeline) -> None:
    [unknown] = await pipeline.command(USER, "doeiets")
    assert "/hulp" in unknown.text
    [menu] = await pipeline.action(USER, "aud:hacker'; DROP TABLE cases;--")
    assert "topic:visit" in actions(menu)


async def test_non_text_gets_a_kind_reply(pipeline: Pipeline) -> None:
    [reply] = await pipeline.non_text(USER)
    assert "tekst" in reply.text


async def test_language_can_be_switched_and_follows_a_clearly_english_message(pipeline: Pipeline) -> None:
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:parent")
    set_, _ = await pipeline.command(USER, "taal")
    assert "English" in set_.text
    await pipeline.command(USER, "taal")
    [question] = await pipeline.text(USER, "how do I visit my husband in prison")
    assert "first visit" in question.text
    [answer] = await pipeline.text(USER, "no, been there before")
    assert "appointment" in answer.text


async def test_state_is_kept_under_the_pseudonymous_key_only(pipeline: Pipeline, database: Database) -> None:
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:youth")
    async with database.sessions() as session:
        [conversation] = (await session.scalars(select(Conversation))).all()
    assert (conversation.key, conversation.audience, conversation.language) == (KEY, "youth", "nl")


async def test_any_message_counts_as_activity_for_the_retention_purge(pipeline: Pipeline, database: Database) -> None:
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:parent")
    long_ago = datetime(2026, 1, 1, tzinfo=UTC)
    async with database.sessions.begin() as session:
        conversation = await session.get(Conversation, KEY)
        assert conversation is not None
        conversation.updated_at = long_ago
    await pipeline.text(USER, "hoi")  # changes nothing else in the conversation
    async with database.sessions() as session:
        conversation = await session.get(Conversation, KEY)
        assert conversation is not None
        assert conversation.updated_at.replace(tzinfo=UTC) > long_ago + timedelta(days=300)


async def test_what_people_ask_is_counted_anonymously(pipeline: Pipeline, database: Database) -> None:
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:parent")
    await pipeline.text(USER, "hoe werkt bezoek")
    await pipeline.text(USER, "ik wil dood")
    async with database.sessions() as session:
        rows = (await session.execute(select(InsightCount.kind, InsightCount.key, InsightCount.tally))).all()
    counted = {(kind, key): tally for kind, key, tally in rows}
    assert counted[("topic", "visit")] == 1 and counted[("crisis", "suicidal")] == 1
    assert all(KEY not in str(row) for row in rows)  # counts only: no user key


async def test_each_unit_of_work_keeps_its_replies_before_it_commits(pipeline: Pipeline) -> None:
    # The webhook journal keeps a turn's replies with the change they answer: the keeper is called inside the
    # open transaction, with exactly the replies the user then gets.
    kept: list[tuple[bool, list[Reply]]] = []

    async def keeper(session: AsyncSession, decided: list[Reply]) -> None:
        kept.append((session.in_transaction(), list(decided)))

    with keeping(keeper):
        started = await pipeline.command(USER, "start")
        chosen = await pipeline.action(USER, "aud:parent")
        answered = await pipeline.text(USER, "hoe gaat een bezoek?")
    assert [replies for _, replies in kept] == [started, chosen, answered]
    assert all(open_transaction for open_transaction, _ in kept)
    await pipeline.text(USER, "hoe gaat een bezoek?")  # outside `keeping`: nothing is kept
    assert len(kept) == 3


async def test_danger_again_right_after_the_lines_is_never_the_same_block_twice(
    pipeline: Pipeline, content: Content
) -> None:
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:youth")
    first = "\n\n".join(reply.text for reply in await pipeline.text(USER, "ik wil er niet meer zijn"))
    said = [first]
    for text in ("ik wil echt dood", "ik wil nog steeds dood", "ik wil gewoon dood"):
        reply = "\n\n".join(reply.text for reply in await pipeline.text(USER, text))
        assert "113" in reply and "112" in reply, text
        assert reply != said[-1], text
        said.append(reply)
    assert content.ui("crisis_again", "nl") in said[1]


async def test_holding_on_to_the_plan_after_the_lines_brings_the_lines_back(pipeline: Pipeline) -> None:
    await after_the_lines(pipeline, "youth", "ik wil er niet meer zijn")
    replies = await pipeline.text(USER, "laat maar, ik heb het al besloten")
    assert replies[0].urgent and "113" in replies[0].text


@pytest.mark.parametrize(
    ("answer", "gives_up"),
    [
        ("is toch niet erg, ik wil gewoon rust", True),
        ("it doesn't matter anymore. nobody will miss me", True),
        ("nee niet letterlijk hoor, maakt niet meer uit", False),  # a correction
        ("nee joh, het maakt niet meer uit, ik bedoelde school", False),  # a no
        ("no im fine, doesnt matter anymore", False),
        ("nothing matters anymore", True),
        ("maakt niet meer uit, ik bedoelde mijn werk", False),  # explains
        ("ik wil gewoon rust, de kinderen maken zo veel herrie", False),
        ("ach nee, boeit niet meer", False),
        ("maakt niet meer uit welke dag, hoe laat kan ik op bezoek?", False),  # a question of its own
    ],
)
async def test_giving_up_in_answer_to_the_check_question_confirms_the_alarm(
    pipeline: Pipeline, content: Content, answer: str, gives_up: bool
) -> None:
    """ "is toch niet erg, ik wil gewoon rust" after "do you mean you want to hurt yourself?" got the answer on missing
    someone: it gives up, a yes. A no, a correction or a question of its own with the same words is none."""
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:youth")
    [quiet] = await pipeline.text(USER, "ik snij weer xd")
    assert actions(quiet)[0].startswith("meant:"), "the lines quietly, with the question"
    replies = await pipeline.text(USER, answer)
    confirmed = actions(replies[-1]) == ["safe:ok", "safe:notok"] and not replies[-1].text.startswith(
        content.ui("alarm_corrected", "nl")[:30]
    )
    assert confirmed is gives_up, [reply.text for reply in replies]


async def test_a_reply_that_tells_of_a_wound_confirms_the_quiet_alarm(pipeline: Pipeline, content: Content) -> None:
    """ "t is nie erg hoor t bloedt al nie meer" after "do you mean you want to hurt yourself?": it happened."""
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:youth")
    [quiet] = await pipeline.text(USER, "ik snij weer xd")
    assert "113" in quiet.text and actions(quiet)[0].startswith("meant:"), "the lines quietly, with the question"
    replies = await pipeline.text(USER, "t is nie erg hoor t bloedt al nie meer")
    assert actions(replies[-1]) == ["safe:ok", "safe:notok"], "confirmed: the full path, asking how they are now"
    assert all(content.ui("alarm_corrected", "nl")[:30] not in reply.text for reply in replies)


@pytest.mark.parametrize(
    "about_the_danger", ["bellen gaat niet ik zit met de ploeg in het busje, ze zien alles", "forget I said that"]
)
async def test_after_speaking_of_the_danger_at_the_check_question_a_nod_keeps_the_lines(
    pipeline: Pipeline, content: Content, about_the_danger: str
) -> None:
    """The quiet lines, then a reply about the danger ("I can't call, the crew sees everything") or taking it back,
    then another question, then "ok": no "Fijn.", but that the bot is still here, with the lines."""
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:parent")
    [quiet] = await pipeline.text(USER, "ik snij weer xd")
    assert actions(quiet)[0].startswith("meant:")
    await pipeline.text(USER, about_the_danger)
    [answered] = await pipeline.text(USER, "wat zijn de regels bij bezoek")
    assert answered.text.endswith(content.ui("safety_footer", "nl")), "an ordinary answer, with the footer"
    [nod] = await pipeline.text(USER, "ok")
    assert nod.text.startswith(content.ui("acknowledged_after_lines", "nl")) and "113" in nod.text


@pytest.mark.parametrize("taken_back", ["forget I said that. stupid thing to type", "laat maar"])
async def test_taking_it_back_after_the_check_question_keeps_the_alarm_and_asks_how_they_are(
    pipeline: Pipeline, content: Content, taken_back: str
) -> None:
    """ "forget I said that" after "do you mean you want to hurt yourself?": neither yes nor a correction; the alarm
    and the lines stay, with a kind word and how they are now, never "I'm not sure I understand you"."""
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:youth")
    [quiet] = await pipeline.text(USER, "ik snij weer xd")
    assert actions(quiet)[0].startswith("meant:")
    language = "nl" if taken_back == "laat maar" else "en"
    [reply] = await pipeline.text(USER, taken_back)
    assert reply.text.startswith(content.ui("alarm_taken_back", language))
    assert reply.text.endswith(content.ui("crisis_check_in_suicide", language)), "the lines named again"
    assert actions(reply) == ["safe:ok", "safe:notok"]
    [again] = await pipeline.text(USER, "nvm")
    assert again.text.startswith(content.ui("alarm_taken_back", language)), "after the lines too"


async def test_the_fear_that_he_finds_out_after_the_lines_gets_its_answer(pipeline: Pipeline, content: Content) -> None:
    await after_the_lines(pipeline, "parent", "mijn vriend slaat me en ik ben bang")
    [reply] = await pipeline.text(USER, "en als hij erachter komt dat ik heb gebeld?")
    assert reply.text == content.crisis_after("found_out", "violence", "parent", "nl")


async def test_a_grandmother_asking_to_take_the_children_home_after_the_lines_gets_its_answer(
    pipeline: Pipeline, content: Content
) -> None:
    """ "Mag ik ze gewoon ophalen? Ik ben maar de oma." after the lines for children at risk: ask Veilig Thuis, 112
    in danger; not an unsure reply about visits."""
    await after_the_lines(pipeline, "parent", "de nieuwe vriend van mijn schoondochter slaat de kinderen")
    [reply] = await pipeline.text(USER, "Mag ik ze gewoon ophalen? Ik ben maar de oma.")
    assert reply.text == content.crisis_after("take_in", "child", "parent", "nl")
    assert "0800-2000" in reply.text


async def test_a_question_about_reporting_to_the_police_after_a_threat_gets_its_answer(
    pipeline: Pipeline, content: Content
) -> None:
    """A threat through someone outside, then "the police officer says I should report it, won't that make it
    worse?": how reporting works and who helps, not the worry about the prisoner or the 113 line."""
    await after_the_lines(pipeline, "parent", "mijn ex bedreigt me vanuit de gevangenis, zijn broer komt ons pakken")
    [reply] = await pipeline.text(
        USER, "De wijkagent zegt dat ik aangifte moet doen. Maar wordt het dan niet juist erger?"
    )
    assert reply.text == content.crisis_after("report", "violence", "parent", "nl")
    assert "0800-0113" not in reply.text


def _after_lines_readings(text: str) -> list[tuple[str, float]]:
    """The scripted model: sure of a nod and of a question about others like oneself; else by keyword."""
    if text == "ok":
        return [("acknowledge", 0.97)]
    if "dads like us" in text:
        return [("peer_support", 0.99)]
    return by_keyword(text)


async def test_a_nod_after_the_lines_keeps_them_in_view(make_pipeline: MakePipeline, content: Content) -> None:
    """ "ok" after the lines and the answer on chatting instead, for someone alone on a ship tonight: no cheerful
    "Fijn.", and the lines close the menu."""
    pipeline = make_pipeline(scripted_nlu(_after_lines_readings))
    await after_the_lines(pipeline, "parent", "ik wil niet meer leven")
    [chat] = await pipeline.text(USER, "bellen lukt niet, het bereik op de rivier is slecht")
    assert chat.text == content.crisis_after("no_call", "suicide", "parent", "nl")
    [reply] = await pipeline.text(USER, "ok")
    assert reply.text.startswith(content.ui("acknowledged_after_lines", "nl"))
    assert reply.text.endswith(content.ui("safety_footer", "nl"))
    assert "topic:visit" in [button.action for button in reply.buttons], "the menu: the conversation goes on"


async def test_a_question_about_others_like_us_after_the_lines_gets_its_answer(
    make_pipeline: MakePipeline, content: Content
) -> None:
    """ "is there anyone for dads like us?" names "anyone", but asks for others like them, not someone to call."""
    pipeline = make_pipeline(scripted_nlu(_after_lines_readings))
    await after_the_lines(pipeline, "parent", "i want to die")
    said = "is there anyone for dads like us? two dads, one of us inside. feels like nobody gets it"
    [reply] = await pipeline.text(USER, said)
    assert reply.text.startswith(content.answer("peer_support", "parent", "en").text[:60])


def _unsure_of_children_and_visits(text: str) -> list[tuple[str, float]]:
    """The scripted model, a little sure that a question after the lines is about the children or visits."""
    if "explain" in text or "zeg ik" in text or "zorg ik" in text:
        return [("explain_to_child", 0.4), ("stigma", 0.2)]
    if "meenemen" in text:
        return [("visit", 0.4), ("contact", 0.2)]
    return by_keyword(text)


@pytest.mark.parametrize(
    "said",
    [
        "hes outside the bathroom door. how do i explain to my daughter why were hiding in here?",
        "hij bonkt op de deur, mag hij de kinderen nu gewoon meenemen?",
        "wat zeg ik tegen de kinderen als hij straks weer binnenkomt?",
    ],
)
async def test_a_question_while_the_danger_may_go_on_stays_with_the_lines(
    make_pipeline: MakePipeline, content: Content, said: str
) -> None:
    """Right after the violence lines, a whole question about the children the model half reads as explaining or
    visits, while the danger is not told as over: the answer for the danger, not the ordinary one."""
    pipeline = make_pipeline(scripted_nlu(_unsure_of_children_and_visits))
    await after_the_lines(pipeline, "parent", "hij slaat me en hij staat nu met een mes in de gang")
    replies = await pipeline.text(USER, said)
    for_the_danger = _answers_for_violence(content, "parent", "nl") | _answers_for_violence(content, "parent", "en")
    assert replies[0].text in for_the_danger, replies[0].text


async def test_a_whole_question_once_the_danger_is_over_gets_its_answer(
    make_pipeline: MakePipeline, content: Content
) -> None:
    """ "they took him. what do i even tell noor about tonight": the danger is over, the question is about the child."""
    pipeline = make_pipeline(scripted_nlu(_unsure_of_children_and_visits))
    await after_the_lines(pipeline, "parent", "he just hit me and hes still in the hallway with a knife")
    replies = await pipeline.text(USER, "they took him. how do i explain to noor what happened tonight")
    said = " ".join(reply.text for reply in replies)
    assert content.ui("ask_child_age", "en", "parent") in said or "honest" in said, said


def _answers_for_violence(content: Content, audience: str, lang: str) -> set[str | None]:
    """Every answer after the violence lines that is about that danger (crisis.yml `after`, and the general one)."""
    after = {content.crisis_after(kind, "violence", audience, lang) for kind, _ in content.crisis_after_kinds()}
    return after | {content.ui("after_crisis_violence", lang, audience)}


def _sure_of_the_children(text: str) -> list[tuple[str, float]]:
    """The scripted model: sure that a message about the children is about telling them."""
    if "kinderen" in text:
        return [("explain_to_child", 0.92), ("visit", 0.05)]
    return by_keyword(text)


@pytest.mark.parametrize(
    ("role", "danger", "said"),
    [
        # "nu", and the danger still at the door
        (
            "parent",
            "hij slaat me en hij staat nu met een mes in de gang",
            "de kinderen zitten nu boven en hij staat nog voor de deur te schreeuwen",
        ),
        # after the lines for violence, the children are often part of that danger
        (
            "youth",
            "mijn vader slaat mijn moeder weer",
            "mn zusje is nog thuis en de kinderen vragen wat ze tegen de juf moet vertellen over die blauwe plekken",
        ),
    ],
)
async def test_a_message_about_the_children_after_the_violence_lines_stays_with_them(
    make_pipeline: MakePipeline, content: Content, role: str, danger: str, said: str
) -> None:
    """A message about the children right after the violence lines, read surely as explaining to them, gets the
    answer for the danger, not the one on telling children."""
    pipeline = make_pipeline(scripted_nlu(_sure_of_the_children))
    await after_the_lines(pipeline, role, danger)
    [reply] = await pipeline.text(USER, said)
    assert reply.text in _answers_for_violence(content, role, "nl"), reply.text
