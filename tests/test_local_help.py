"""The sociale kaart in a conversation: a town named anywhere, or asked for, brings that town's own card; a town
without an entry gets how to find its wijkteam or CJG."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.content import Content
from bot.conversation.pipeline import Pipeline
from bot.replies import Sender
from bot.understanding.nlu_client import NluClient
from tests.conftest import scripted_nlu
from tests.fakes import by_keyword

USER = Sender("c" * 64)
MakePipeline = Callable[[NluClient | None], Pipeline]


def card(content: Content, town: str, language: str = "nl") -> str:
    """The card of the town's own entry, as the bot shows it."""
    [organisation] = content.local_organisations(town)
    return content.card(organisation, language)


async def started(make_pipeline: MakePipeline, role: str) -> Pipeline:
    pipeline = make_pipeline(scripted_nlu(by_keyword))
    await pipeline.command(USER, "start")
    await pipeline.action(USER, f"aud:{role}")
    return pipeline


@pytest.fixture
async def professional(make_pipeline: MakePipeline) -> Pipeline:
    return await started(make_pipeline, "professional")


@pytest.fixture
async def parent(make_pipeline: MakePipeline) -> Pipeline:
    return await started(make_pipeline, "parent")


async def test_a_town_named_in_a_question_brings_its_card_with_the_answer(
    professional: Pipeline, content: Content
) -> None:
    [answer] = await professional.text(USER, "wijkteam breda hier. hoe werkt bezoek met kinderen?")
    assert answer.text.startswith(content.answer("visit", "professional", "nl").text)
    assert card(content, "Breda") in answer.text


async def test_a_town_named_earlier_comes_with_the_general_wijkteam_card(parent: Pipeline, content: Content) -> None:
    await parent.text(USER, "we wonen in Eindhoven")
    [answer] = await parent.text(USER, "wie betaalt de reiskosten")  # the town is known: not asked again
    assert card(content, "Eindhoven") in answer.text
    assert content.ui("ask_municipality", "nl", "parent") not in answer.text


async def test_asking_for_a_wijkteam_there_gives_the_town_s_card(professional: Pipeline, content: Content) -> None:
    await professional.text(USER, "ik werk in etten-leur met een gezin, hoe werkt bezoek")
    [local] = await professional.text(USER, "en een wijkteam daar?")
    assert card(content, "Etten-Leur") in local.text


async def test_a_town_alone_after_the_pointer_to_local_help_brings_its_card(
    professional: Pipeline, content: Content
) -> None:
    await professional.text(USER, "waar verwijs ik naar")  # the step-by-step guide
    await professional.action(USER, "menu")
    [local] = await professional.text(USER, "utrecht")
    assert card(content, "Utrecht") in local.text


async def test_a_town_without_an_entry_gets_how_to_find_its_wijkteam(parent: Pipeline, content: Content) -> None:
    [local] = await parent.text(USER, "is er een wijkteam in Tilburg?")
    assert local.text.startswith(content.ui("local_help", "nl").format(municipality="Tilburg"))
    assert not content.local_organisations("Tilburg")


async def test_a_prison_s_town_brings_no_card(parent: Pipeline, content: Content) -> None:
    [answer] = await parent.text(USER, "hoe werkt bezoek, hij zit vast in Breda")
    assert card(content, "Breda") not in answer.text
