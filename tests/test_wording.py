"""Answers worded for who the user is: a young person whose mother or brother is inside reads about them, not about
"je vader of moeder"; a grandmother, foster carer or godmother reads about the children in her care, not "je kind".
Unit tests of what is noticed and how a reply is reworded, then through the pipeline with the real content."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from bot.content import Content
from bot.conversation.pipeline import Pipeline
from bot.conversation.wording import Wording
from bot.replies import Button, Reply, Sender
from bot.storage.models import Conversation, Database
from bot.understanding.nlu_client import NluClient
from tests.conftest import scripted_nlu

KEY = "w" * 64
USER = Sender(KEY)
MakePipeline = Callable[[NluClient | None], Pipeline]
Ranking = list[tuple[str, float]]

READINGS: dict[str, Ranking] = {
    "hoi ik ben 15 en mn moeder zit sinds de kerst vast. ik mis haar echt. hoe kan ik haar schrijven?": [
        ("contact_letters", 0.9)
    ],
    "hoe kan ik schrijven": [("contact_letters", 0.9)],
    "Goedemiddag, ik ben de oma van Jesse (7) en Lynn (10). Wordt er op school over gepraat?": [("stigma_school", 0.9)],
    "hoe praat ik met de school": [("stigma_school", 0.9)],
}


def reading(text: str) -> Ranking:
    return READINGS.get(text, [("out_of_scope", 0.3)])


@pytest.fixture(scope="module")
def wording() -> Wording:
    return Wording(Content.load())


@pytest.mark.parametrize(
    ("text", "inside"),
    [
        ("hoi ik ben 15 en mn moeder zit sinds de kerst vast. ik mis haar echt", "mother"),
        ("my big brother is 22 and hes in prison for 3 years", None),  # a brother keeps "your dad or mum": see below
        ("mn moeder zegt dat papa vastzit", "father"),  # the nearest person before being locked up
        ("yo mn ouwe zit vast fk dit", "father"),
        ("my mum got locked up n now im at my nans", "mother"),
        ("my dad got 4 years", "father"),
        ("m'n pa zit in de jeugdgevangenis", "father"),
        ("mama's vriend zit vast", None),  # someone else named nearer
        ("mn vriendin haar moeder zit vast", None),  # someone else's parent
        ("my friend's mum is in prison", None),
        ("my dad's brother is in prison", None),
        ("mn vader is boos want mijn oom zit vast", None),
        ("mn moeder heeft hem aangegeven, nu zit hij vast", None),  # not across a comma
        ("mijn moeder werkt in de gevangenis", None),  # a job there
        ("mijn moeder werkt als bewaarder in de gevangenis", None),
        ("papa zit vast. mama is vast boos op mij", "father"),  # "vast": surely
        ("mama zit niet vast maar papa wel", None),
        ("my dad's in prison", "father"),
        ("my mum's locked up since june", "mother"),
        ("my mum visits dad in prison", "father"),
        ("bro ze hebben hem opgepakt", None),  # "bro" without "my": a way of talking
        ("kan ik zonder mn moeder naar de gevangenis", None),  # going to the prison is not being in it
        ("my mum cries every night", None),
        ("mijn moeder is boos. papa zit vast", "father"),  # not across sentences
    ],
)
def test_who_is_inside_is_the_person_said_to_be_locked_up(wording: Wording, text: str, inside: str | None) -> None:
    assert wording.inside(text) == inside


@pytest.mark.parametrize(
    ("text", "carer"),
    [
        ("Goedemiddag, ik ben de oma van Jesse (7) en Lynn (10).", "grandparent"),
        ("heb ik als oma ook recht op bezoek", "grandparent"),
        ("mijn twee kleinkinderen wonen bij mij", "grandparent"),
        ("i'm their grandma", "grandparent"),
        ("were foster carers, our foster sons dad is in prison", "foster"),
        ("Wij runnen samen een gezinshuis in Drenthe", "foster"),
        ("Ik ben de peettante van Mila (11), geen familie", "relative"),
        ("Mijn halfbroertjes wonen bij hun moeder", "relative"),
        ("mijn oma past soms op", None),  # the user's own grandmother: the user is no grandparent
        ("mijn zoon woont bij pleegouders", None),  # a parent whose child is in foster care
        ("ik ben moeder van twee", None),
        ("mijn zoon woont sinds de arrestatie in een gezinshuis", None),  # a parent whose son was placed
        ("de kinderen missen hun vader, net als oma", None),
        ("mijn zoon voelt zich als grote broer verantwoordelijk", None),
        ("ik ben de oma niet, maar de moeder", None),
        ("mag mijn neefje ook mee op bezoek?", None),  # a parent's nephew
    ],
)
def test_a_carer_is_one_who_says_so_of_themselves_or_of_the_children(
    wording: Wording, text: str, carer: str | None
) -> None:
    assert wording.carer(text) == carer


def conversation(
    audience: str, language: str = "nl", inside: str | None = None, carer: str | None = None
) -> Conversation:
    return Conversation(key=KEY, audience=audience, language=language, inside=inside, carer=carer)


def test_a_young_person_whose_mother_is_inside_reads_about_her(wording: Wording) -> None:
    reply = Reply(
        "Je vader of moeder heeft geen eigen telefoon. Hij of zij belt jou. Bellen kost hem of haar geld.",
        (Button("Menu", "menu"),),
    )
    [reworded] = wording.apply(conversation("youth", inside="mother"), [reply])
    assert reworded.text == "Je moeder heeft geen eigen telefoon. Zij belt jou. Bellen kost haar geld."
    assert reworded.buttons == reply.buttons
    [english] = wording.apply(
        conversation("youth", "en", inside="father"),
        [Reply("Your dad or mum calls you. He or she pays. Put your dad's or mum's name on it.")],
    )
    assert english.text == "Your dad calls you. He pays. Put your dad's name on it."


def test_he_or_she_is_the_one_inside_only_in_a_reply_that_names_them(wording: Wording) -> None:
    """ "Is hij of zij nu in direct gevaar?" about a friend in danger stays as it is for a girl whose mother is
    inside."""
    reply = Reply("Is hij of zij nu in direct gevaar? Bel 112.")
    assert wording.apply(conversation("youth", inside="mother"), [reply]) == [reply]


def test_carers_read_about_the_children_in_their_care(wording: Wording) -> None:
    text = "Voor al je kinderen geldt: wees eerlijk. Je kind mag boos zijn, jouw kind is niet de schuldige."
    [grandparent] = wording.apply(conversation("parent", carer="grandparent"), [Reply(text)])
    assert grandparent.text == (
        "Voor al je kleinkinderen geldt: wees eerlijk. Je kleinkind mag boos zijn, jouw kleinkind is niet de schuldige."
    )
    [relative] = wording.apply(conversation("parent", carer="relative"), [Reply(text)])
    assert (
        relative.text
        == "Voor alle kinderen geldt: wees eerlijk. Het kind mag boos zijn, het kind is niet de schuldige."
    )
    [foster] = wording.apply(conversation("parent", "en", carer="foster"), [Reply("Tell your child. Your kids know.")])
    assert foster.text == "Tell your foster child. Your foster kids know."


def test_wording_for_one_audience_leaves_the_others_alone(wording: Wording) -> None:
    """What was kept for one role does not reword another's answers (a professional's "je kind" is a client's)."""
    reply = Reply("Je vader of moeder belt. Praat met je kind.")
    assert wording.apply(conversation("professional", inside="mother", carer="relative"), [reply]) == [reply]
    assert wording.apply(conversation("parent", inside="mother"), [reply]) == [reply]


def test_a_parent_saying_so_is_no_carer_any_more(wording: Wording) -> None:
    """A wrong guess is not kept for good: "ik ben de moeder" after "als oma" clears what was kept."""
    said = conversation("parent")
    wording.notice(said, "heb ik als oma ook recht op bezoek")
    assert said.carer == "grandparent"
    wording.notice(said, "ik ben zijn moeder, mag ik ook op bezoek?")  # her son inside: still a grandmother
    assert said.carer == "grandparent"
    wording.notice(said, "sorry, ik ben de moeder van Jesse")
    assert said.carer is None


async def as_role(make_pipeline: MakePipeline, role: str) -> Pipeline:
    pipeline = make_pipeline(scripted_nlu(reading))
    await pipeline.command(USER, "start")
    await pipeline.action(USER, f"aud:{role}")
    return pipeline


async def stored(database: Database) -> Conversation:
    async with database.sessions() as session:
        return (await session.scalars(select(Conversation).where(Conversation.key == KEY))).one()


async def test_a_girl_whose_mother_is_inside_is_answered_about_her_mother(
    make_pipeline: MakePipeline, database: Database
) -> None:
    pipeline = await as_role(make_pipeline, "youth")
    text = "hoi ik ben 15 en mn moeder zit sinds de kerst vast. ik mis haar echt. hoe kan ik haar schrijven?"
    replies = await pipeline.text(USER, text)
    said = " ".join(reply.text for reply in replies)
    assert "registratienummer van je moeder" in said
    assert "vader" not in said
    assert (await stored(database)).inside == "mother"
    [mydata] = await pipeline.command(USER, "mijngegevens")
    assert "Wie er vastzit: je moeder" in mydata.text


async def test_a_grandmother_is_answered_about_her_grandchildren(
    make_pipeline: MakePipeline, database: Database, content: Content
) -> None:
    pipeline = await as_role(make_pipeline, "parent")
    plain = await pipeline.text(USER, "hoe praat ik met de school")
    assert "je kind" in " ".join(reply.text for reply in plain), "the answer speaks of 'je kind' to a parent"
    text = "Goedemiddag, ik ben de oma van Jesse (7) en Lynn (10). Wordt er op school over gepraat?"
    replies = await pipeline.text(USER, text)
    said = " ".join(reply.text for reply in replies)
    assert "je kleinkind" in said
    assert "je kind " not in said and "je kind." not in said
    assert (await stored(database)).carer == "grandparent"
