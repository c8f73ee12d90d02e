"""The referral guide for professionals: four skippable questions, by button or by typing, then a concrete path.

Only the NLU answers are scripted (tests/fakes.py); assertions name content keys and organisation ids, not sentences.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import ROOT
from bot.content import Content, ContentError
from bot.conversation.pipeline import Pipeline
from bot.replies import Reply, Sender
from bot.storage.models import Conversation, Database
from bot.understanding.nlu_client import NluClient
from bot.understanding.understander import Understander
from handoff.desk import OfflineDesk
from safety.risk import SafetyNet
from tests.conftest import scripted_nlu
from tests.fakes import by_keyword

KEY = "r" * 64
USER = Sender(KEY)
MakePipeline = Callable[[NluClient | None], Pipeline]
QUESTION_BUTTONS = {
    "age": ["ref:age:under_4", "ref:age:4_8", "ref:age:8_12", "ref:age:teen", "ref:age:skip"],
    "worry": [
        "ref:worry:safety",
        "ref:worry:school",
        "ref:worry:behaviour",
        "ref:worry:money",
        "ref:worry:contact",
        "ref:worry:wellbeing",
        "ref:worry:skip",
    ],
    "help": ["ref:help:none", "ref:help:school_gp", "ref:help:youth_care", "ref:help:unknown", "ref:help:skip"],
    "municipality": ["ref:municipality:skip"],
}


def actions(reply: Reply) -> list[str]:
    return [button.action for button in reply.buttons]


def asks(reply: Reply, question: str) -> bool:
    return actions(reply) == QUESTION_BUTTONS[question]


async def state(database: Database) -> Conversation:
    async with database.sessions() as session:
        conversation = await session.get(Conversation, KEY)
        assert conversation is not None
        return conversation


def card_order(content: Content, text: str, ids: list[str]) -> list[str]:
    """The organisations among `ids` whose card is in `text`, in the order the text shows them."""
    heads = {key: f"• {content.organisation(key).name}:" for key in ids}
    shown = [key for key in ids if heads[key] in text]
    return sorted(shown, key=lambda key: text.index(heads[key]))


@pytest.fixture
def pipeline(make_pipeline: MakePipeline) -> Pipeline:
    return make_pipeline(scripted_nlu(by_keyword))


async def as_professional(pipeline: Pipeline) -> Reply:
    await pipeline.command(USER, "start")
    [menu] = await pipeline.action(USER, "aud:professional")
    return menu


async def test_by_buttons_from_the_menu_to_a_path_in_order(
    pipeline: Pipeline, content: Content, database: Database
) -> None:
    menu = await as_professional(pipeline)
    assert actions(menu)[:2] == ["topic:for_professionals", "ref:start"]
    [age] = await pipeline.action(USER, "ref:start")
    assert asks(age, "age") and content.referral.text("intro", "nl") in age.text
    [worry] = await pipeline.action(USER, "ref:age:8_12")
    assert asks(worry, "worry")
    [help_] = await pipeline.action(USER, "ref:worry:school")
    assert asks(help_, "help")
    assert (await state(database)).referral == "age=8_12;worry=school"
    [place] = await pipeline.action(USER, "ref:help:none")
    assert asks(place, "municipality")
    path, family = await pipeline.action(USER, "ref:municipality:skip")
    expected = content.referral.path("school", "8_12")
    every = [organisation.id for organisation in content.organisations]
    assert card_order(content, path.text, every) == list(expected.organisations)
    assert content.referral.help_notes["none"]["nl"] in path.text
    assert content.referral.text("municipality_unknown", "nl") in path.text
    assert content.referral.text("meldcode", "nl") not in path.text
    assert expected.tell_family["nl"] in family.text
    assert content.organisation("kindertelefoon").name in family.text  # for a child of 8 to 12
    assert actions(family) == ["ref:start", "menu"]
    conversation = await state(database)
    assert conversation.step == "chat" and conversation.referral is None


async def test_a_typed_referral_question_is_answered_with_the_guide_one_tap_away(
    pipeline: Pipeline, content: Content, database: Database
) -> None:
    await as_professional(pipeline)
    [answer] = await pipeline.text(USER, "waar verwijs ik dit gezin naar?")
    assert answer.text.startswith(content.answer("prof_refer", "professional", "nl").text[:60])
    assert actions(answer)[0] == "ref:start"
    assert (await state(database)).step == "chat"


async def test_by_typing_from_a_question_to_a_path(pipeline: Pipeline, content: Content, database: Database) -> None:
    await as_professional(pipeline)
    await pipeline.text(USER, "waar verwijs ik dit gezin naar?")
    [age] = await pipeline.action(USER, "ref:start")
    assert asks(age, "age")
    [worry] = await pipeline.text(USER, "ze is 10")
    assert asks(worry, "worry")
    [help_] = await pipeline.text(USER, "vooral school")
    assert asks(help_, "help")
    [place] = await pipeline.text(USER, "weet ik niet")
    assert asks(place, "municipality")
    assert (await state(database)).referral == "age=8_12;worry=school;help=unknown"
    path, _ = await pipeline.text(USER, "Tilburg")
    assert content.referral.help_notes["unknown"]["nl"] in path.text
    assert content.referral.text("municipality_lookup", "nl").format(municipality="Tilburg") in path.text
    conversation = await state(database)
    assert conversation.municipality == "Tilburg" and conversation.referral is None


async def test_every_question_can_be_skipped_by_button_or_by_typing(
    pipeline: Pipeline, content: Content, database: Database
) -> None:
    await as_professional(pipeline)
    await pipeline.action(USER, "ref:start")
    [worry] = await pipeline.text(USER, "overslaan")
    assert asks(worry, "worry")
    [help_] = await pipeline.action(USER, "ref:worry:skip")
    assert asks(help_, "help")
    [place] = await pipeline.action(USER, "ref:help:skip")
    assert (await state(database)).referral == "age=skip;worry=skip;help=skip"
    assert asks(place, "municipality")
    path, family = await pipeline.text(USER, "sla maar over")
    general = content.referral.path(None, None)
    every = [organisation.id for organisation in content.organisations]
    assert card_order(content, path.text, every) == list(general.organisations)
    assert general.tell_family["nl"] in family.text
    assert content.referral.text("skipped", "nl") in path.text
    assert all(note["nl"] not in path.text for note in content.referral.help_notes.values())
    assert (await state(database)).municipality is None


@pytest.mark.parametrize("language", ["nl", "en"])
async def test_a_safety_worry_brings_the_meldcode_and_veilig_thuis_first(
    pipeline: Pipeline, content: Content, language: str
) -> None:
    await as_professional(pipeline)
    if language == "en":
        await pipeline.command(USER, "taal")
    await pipeline.action(USER, "ref:start")
    for press in ("ref:age:teen", "ref:worry:safety", "ref:help:youth_care"):
        await pipeline.action(USER, press)
    path, family = await pipeline.action(USER, "ref:municipality:skip")
    meldcode = content.referral.text("meldcode", language)
    assert meldcode in path.text
    assert "0800-2000" in meldcode and "112" in meldcode
    every = [organisation.id for organisation in content.organisations]
    assert card_order(content, path.text, every)[0] == "veilig_thuis"
    assert content.referral.help_notes["youth_care"][language] in path.text
    assert content.organisation("kindertelefoon").name in family.text


async def test_typed_worries_are_read_from_the_content_words(pipeline: Pipeline, content: Content) -> None:
    await as_professional(pipeline)
    await pipeline.action(USER, "ref:start")
    await pipeline.action(USER, "ref:age:under_4")
    await pipeline.text(USER, "ik twijfel over de veiligheid thuis")
    await pipeline.text(USER, "nog geen")
    path, family = await pipeline.action(USER, "ref:municipality:skip")
    assert content.referral.text("meldcode", "nl") in path.text
    assert content.referral.help_notes["none"]["nl"] in path.text
    assert content.organisation("kindertelefoon").name not in family.text  # a line for 8 to 18 only


@pytest.fixture
def local_content(tmp_path: Path) -> Content:
    """The real content plus a local entry for Tilburg (organisations.yml has none that could be checked)."""
    folder = tmp_path / "responses"
    shutil.copytree(ROOT / "responses", folder)
    path = folder / "organisations.yml"
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["wijkteam_tilburg"] = {
        "name": "Wijkteam Proefstad",
        "offers": {"nl": "Het wijkteam van de gemeente.", "en": "The municipality's neighbourhood team."},
        "for": ["parent", "professional"],
        "region": "municipality:Tilburg",
        "source": "https://www.example.org/made-up-for-this-test",
        "reviewed": "2026-12-05",
    }
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return Content.load(folder)


async def test_a_municipality_with_a_local_entry_shows_it_first(
    database: Database, safety_net: SafetyNet, local_content: Content
) -> None:
    pipeline = Pipeline(
        Understander(safety_net, scripted_nlu(by_keyword), 0.45, 0.5), local_content, database, OfflineDesk()
    )
    await as_professional(pipeline)
    await pipeline.action(USER, "ref:start")
    for press in ("ref:age:4_8", "ref:worry:money", "ref:help:none"):
        await pipeline.action(USER, press)
    path, _ = await pipeline.text(USER, "Tilburg")
    every = [organisation.id for organisation in local_content.organisations]
    shown = card_order(local_content, path.text, every)
    assert shown[0] == "wijkteam_tilburg"
    assert "sociaal_wijkteam" not in shown  # the local entry stands in for the general pointer
    rest = local_content.referral.path("money", "4_8").organisations
    assert shown[1:] == [key for key in rest if key != "sociaal_wijkteam"]
    lookup = local_content.referral.text("municipality_lookup", "nl").format(municipality="Tilburg")
    assert lookup not in path.text


async def test_a_message_about_something_else_leaves_the_guide_kindly(
    pipeline: Pipeline, content: Content, database: Database
) -> None:
    await as_professional(pipeline)
    await pipeline.action(USER, "ref:start")
    await pipeline.action(USER, "ref:age:teen")
    left, answer = await pipeline.text(USER, "hoe werkt bezoek in de gevangenis eigenlijk")
    assert left.text == content.referral.text("left", "nl")
    assert answer.text.startswith(content.answer("visit", "professional", "nl").text[:40])
    conversation = await state(database)
    assert conversation.step == "chat" and conversation.referral is None


async def test_the_menu_command_leaves_the_guide(pipeline: Pipeline, database: Database) -> None:
    await as_professional(pipeline)
    await pipeline.action(USER, "ref:start")
    await pipeline.action(USER, "ref:age:teen")
    [menu] = await pipeline.command(USER, "menu")
    assert "ref:start" in actions(menu)
    conversation = await state(database)
    assert conversation.step == "chat" and conversation.referral is None
    [after] = await pipeline.action(USER, "ref:worry:school")  # a button from the guide that was left
    assert not asks(after, "help")
    assert (await state(database)).referral is None


@pytest.mark.parametrize(
    "data",
    [
        "ref:worry:../../etc",
        "ref:age:adult",
        "ref:age:8_12;worry=safety",
        "ref:help:",
        "ref:",
        "ref:start:now",
        "ref:municipality:Tilburg",
        "ref:" + "x" * 5000,
    ],
)
async def test_a_tampered_button_changes_nothing(pipeline: Pipeline, database: Database, data: str) -> None:
    await as_professional(pipeline)
    await pipeline.action(USER, "ref:start")
    await pipeline.action(USER, "ref:age:8_12")
    [reply] = await pipeline.action(USER, data)
    assert not asks(reply, "help")
    conversation = await state(database)
    assert (conversation.step, conversation.referral) == ("referral", "age=8_12")


async def test_an_earlier_questions_button_asks_the_current_question_again(
    pipeline: Pipeline, database: Database
) -> None:
    await as_professional(pipeline)
    await pipeline.action(USER, "ref:start")
    await pipeline.action(USER, "ref:age:8_12")
    [again] = await pipeline.action(USER, "ref:age:teen")
    assert asks(again, "worry")
    assert (await state(database)).referral == "age=8_12"


async def test_a_parent_gets_no_guide(pipeline: Pipeline, database: Database) -> None:
    await pipeline.command(USER, "start")
    [menu] = await pipeline.action(USER, "aud:parent")
    assert "ref:start" not in actions(menu)
    await pipeline.action(USER, "ref:start")
    replies = await pipeline.text(USER, "waar moet ik naar verwijzen")
    assert not any(asks(reply, "age") for reply in replies)
    assert (await state(database)).step != "referral"


# -- the content check ---------------------------------------------------------------------------------------------


def _edited(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    folder = tmp_path / "responses"
    shutil.copytree(ROOT / "responses", folder)
    path = folder / "referral.yml"
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (lambda data: data["paths"]["school"]["organisations"].append("nowhere"), r"paths\.school.*nowhere"),
        (lambda data: data["paths"]["safety"]["by_age"]["teen"].update(family=["nope"]), r"by_age\.teen\.family.*nope"),
        (lambda data: data["questions"]["worry"]["choices"]["money"].pop("en"), r"choices\.money\.en"),
        (lambda data: data["texts"].pop("meldcode"), r"texts\.meldcode"),
        (lambda data: data["help_notes"]["unknown"].update(nl=""), r"help_notes\.unknown\.nl"),
        (lambda data: data["paths"].pop("contact"), r"paths\.contact"),
        (lambda data: data.pop("reviewed"), "reviewed"),
    ],
)
def test_a_broken_referral_guide_fails_the_content_check_naming_what(
    tmp_path: Path, change: Callable[[dict[str, Any]], None], named: str
) -> None:
    with pytest.raises(ContentError, match=named):
        Content.load(_edited(tmp_path, change))


def test_every_path_leads_to_known_organisations(content: Content) -> None:
    known = {organisation.id for organisation in content.organisations}
    for path in content.referral.paths.values():
        assert path.organisations and set(path.organisations) <= known
        assert path.family and set(path.family) <= known
