"""Follow-up questions: the bot asks one short question where the answer depends on it, and remembers the reply."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from bot.content import Content
from bot.conversation import follow_up
from bot.conversation.pipeline import Pipeline
from bot.replies import Reply, Sender
from bot.storage.models import Conversation, Database
from bot.understanding.nlu_client import NluClient
from tests.conftest import scripted_nlu
from tests.fakes import by_keyword

KEY = "f" * 64
USER = Sender(KEY)
MakePipeline = Callable[[NluClient | None], Pipeline]


def actions(reply: Reply) -> list[str]:
    return [button.action for button in reply.buttons]


async def stored(database: Database) -> Conversation:
    async with database.sessions() as session:
        conversation = (await session.scalars(select(Conversation).where(Conversation.key == KEY))).one()
        return conversation


@pytest.fixture
async def pipeline(make_pipeline: MakePipeline) -> Pipeline:
    pipeline = make_pipeline(scripted_nlu(by_keyword))
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:parent")
    return pipeline


async def test_explaining_asks_the_child_s_age_once_and_answers_for_that_age(
    pipeline: Pipeline, content: Content, database: Database
) -> None:
    [question] = await pipeline.text(USER, "hoe vertel ik het mijn kind")
    assert "slot:child_age:4_8" in actions(question) and "slot:child_age:skip" in actions(question)
    [answer] = await pipeline.text(USER, "ze is 6")
    assert answer.text.startswith(content.answer("explain_age_4_8", "parent", "nl").text)
    assert (await stored(database)).child_age == 6
    await pipeline.text(USER, "hoe werkt bezoek")  # something else in between: the same answer is not repeated
    [again] = await pipeline.text(USER, "hoe vertel ik het nog een keer")
    assert again.text.startswith(content.answer("explain_age_4_8", "parent", "nl").text), "not asked twice"


async def test_an_age_in_the_question_itself_skips_the_question(pipeline: Pipeline, content: Content) -> None:
    [answer] = await pipeline.text(USER, "hoe vertel ik het mijn zoontje van 3")
    assert answer.text.startswith(content.answer("explain_age_under_4", "parent", "nl").text)


async def test_several_ages_get_what_holds_for_all_then_the_youngest_s_answer(
    pipeline: Pipeline, content: Content
) -> None:
    [answer] = await pipeline.text(USER, "hoe vertel ik het mijn kinderen? ze zijn 3, 9 en 15")
    assert answer.text.startswith(content.ui("several_ages_intro", "nl"))
    assert content.answer("explain_age_under_4", "parent", "nl").text in answer.text


async def test_an_age_given_in_a_sentence_answers_the_question(pipeline: Pipeline, content: Content) -> None:
    await pipeline.text(USER, "hoe vertel ik het mijn kind")
    [answer] = await pipeline.text(USER, "ja ik weet het maar de kleine is pas 5")
    assert answer.text.startswith(content.answer("explain_age_4_8", "parent", "nl").text)


async def test_an_age_button_picks_the_group(pipeline: Pipeline, content: Content, database: Database) -> None:
    await pipeline.text(USER, "how do I tell my kids")
    [answer] = await pipeline.action(USER, "slot:child_age:teen")
    assert answer.text.startswith(content.answer("explain_age_teen", "parent", "en").text)
    assert (await stored(database)).child_age == 14


async def test_skipping_gives_the_general_answer_and_is_not_asked_again(pipeline: Pipeline, content: Content) -> None:
    await pipeline.text(USER, "hoe vertel ik het")
    [answer] = await pipeline.action(USER, "slot:child_age:skip")
    assert answer.text.startswith(content.answer("explain_to_child", "parent", "nl").text)
    [again] = await pipeline.text(USER, "hoe vertel ik het")
    assert not any(action.startswith("slot:") for action in actions(again))


async def test_a_young_person_is_not_asked_a_child_s_age(pipeline: Pipeline, content: Content) -> None:
    await pipeline.action(USER, "aud:youth")
    [answer] = await pipeline.text(USER, "hoe vertel ik het mijn vrienden")
    assert answer.text.startswith(content.answer("explain_to_child", "youth", "nl").text)


async def test_visits_ask_about_a_first_visit(pipeline: Pipeline, content: Content, database: Database) -> None:
    [question] = await pipeline.text(USER, "hoe werkt bezoek")
    assert "slot:first_visit:yes" in actions(question)
    [answer] = await pipeline.text(USER, "ja")
    assert answer.text.startswith(content.answer("visit_first", "parent", "nl").text)
    assert (await stored(database)).first_visit is True


async def test_a_message_about_something_else_leaves_the_question(pipeline: Pipeline) -> None:
    await pipeline.text(USER, "hoe werkt bezoek")
    [answer] = await pipeline.text(USER, "is het mijn schuld")
    assert not any(action.startswith("slot:") for action in actions(answer))


async def test_travel_costs_ask_the_municipality_and_point_to_local_help(
    pipeline: Pipeline, content: Content, database: Database
) -> None:
    [question] = await pipeline.text(USER, "wie betaalt de reiskosten")
    assert actions(question) == ["slot:municipality:skip"]
    [answer] = await pipeline.text(USER, "Tilburg")
    assert "Tilburg" in answer.text and "sociaal wijkteam" in answer.text
    assert (await stored(database)).municipality == "Tilburg"
    await pipeline.text(USER, "wat zijn de regels")  # something else in between: the same answer is not repeated
    [again] = await pipeline.text(USER, "nog een vraag over reiskosten")
    assert "Tilburg" in again.text, "the municipality is remembered for the conversation"


async def test_a_named_municipality_is_remembered_in_passing(pipeline: Pipeline, database: Database) -> None:
    await pipeline.text(USER, "ik woon in den bosch en heb vragen over geld")
    assert (await stored(database)).municipality == "'s-Hertogenbosch"


async def test_a_prison_named_in_a_visit_question_gets_its_own_pointer(pipeline: Pipeline) -> None:
    [answer] = await pipeline.text(USER, "wat zijn de regels in Vught")
    assert "PI Vught" in answer.text and "dji.nl" in answer.text
    [other] = await pipeline.text(USER, "wat zijn de regels")
    assert "Vught" not in other.text, "the prison is not remembered"


async def test_answers_show_contact_cards_for_their_organisations(pipeline: Pipeline, content: Content) -> None:
    [question] = await pipeline.action(USER, "answer:visit_costs")
    assert actions(question) == ["slot:municipality:skip"]
    [answer] = await pipeline.action(USER, "slot:municipality:skip")
    cards = content.cards(content.answer("visit_costs", "parent", "nl").organisations, "parent", "nl")
    assert cards and all(card in answer.text for card in cards)
    assert content.ui("local_help_unknown", "nl") in answer.text


async def test_follow_up_buttons_lead_to_sub_answers(pipeline: Pipeline, content: Content) -> None:
    [answer] = await pipeline.action(USER, "answer:visit_rules")
    assert answer.text.startswith(content.answer("visit_rules", "parent", "nl").text)
    assert all(action.startswith(("answer:", "topic:", "menu")) for action in actions(answer))


@pytest.mark.parametrize("action", ["answer:../../etc/passwd", "answer:talk_to_human", "slot:child_age:99", "slot:x:y"])
async def test_tampered_follow_up_buttons_change_nothing(pipeline: Pipeline, database: Database, action: str) -> None:
    before = await stored(database)
    [reply] = await pipeline.action(USER, action)
    after = await stored(database)
    assert "topic:visit" in actions(reply), "the menu"
    assert (after.step, after.child_age, after.pending_intent) == (before.step, before.child_age, before.pending_intent)


async def test_the_same_long_answer_is_not_sent_twice_in_a_row(pipeline: Pipeline, content: Content) -> None:
    [first] = await pipeline.text(USER, "wat zijn de regels")
    [again] = await pipeline.text(USER, "en de regels dan")
    label = content.label("visit_rules", "nl")
    assert again.text.startswith(content.ui("answer_recalled", "nl").format(label=label)), "a reminder"
    assert "regels" in again.text.split("\n\n", 1)[1], "with the part of the answer the question is about"
    assert len(again.text) < len(first.text)
    assert "menu" in actions(again)


@pytest.mark.parametrize(
    ("text", "leans"),
    [
        ("en de oudste?", True),
        ("En de grote? Het is zijn vader niet", True),  # "the big one": the oldest
        ("what about the middle one, she turns 14 next month", True),
        ("de jongste is 4 die snapt het toch niet", True),
        ("my eldest is 15", True),
        ("the little one is only in daycare", True),
        ("my little sister keeps saying its her fault", False),  # a sister, not one of several children
        ("mijn dochter is 4", False),
        ("what happens at the gate", False),
    ],
)
def test_a_message_naming_a_child_by_place_or_asking_what_about_leans_on_the_one_before(text: str, leans: bool) -> None:
    assert follow_up.elliptical(text) is leans
