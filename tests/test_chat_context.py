"""Context across turns: a short message is read against the answer just given, the follow-up question is not
asked when the message already answered it or it makes no sense, and a request for a person is never left
unanswered. The model's readings are scripted per message; what is checked is what the user would see."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from bot.content import Content
from bot.conversation.actions import ShowTopic
from bot.conversation.pipeline import Pipeline
from bot.replies import Reply, Sender
from bot.storage.models import Conversation, Database
from bot.understanding.nlu_client import NluClient
from bot.understanding.understander import Understanding
from safety.risk import RiskLevel
from tests.conftest import scripted_nlu

KEY = "c" * 64
USER = Sender(KEY)
MakePipeline = Callable[[NluClient | None], Pipeline]
Ranking = list[tuple[str, float]]

# What the scripted model reads in each message; anything else: unsure.
READINGS: dict[str, Ranking] = {
    # A family's question the model half read as a professional's, with privacy next.
    "wie regelt die afspraak, wij of de gevangenis?": [("prof_prison_info", 0.6), ("privacy", 0.3)],
    "wat zijn de regels voor bezoek": [("visit_rules", 0.9)],
    "ze is 15": [("out_of_scope", 0.74), ("visit_rules", 0.03)],
    # Three children's ages with a question about ID, then one of them named by place: the model reads other visits.
    "mijn kinderen zijn 4, 9 en 15, hebben ze allemaal een ID nodig voor bezoek?": [("visit_rules", 0.9)],
    "en de middelste?": [("visit_child_days", 0.5), ("visit_rules", 0.2)],
    "en de oudste?": [("visit_child_days", 0.5), ("visit_rules", 0.2)],
    "en de grote?": [("visit_child_days", 0.5), ("visit_rules", 0.2)],
    # Three children named with their ages, then one of them named alone.
    "Noor is 2, Daan van 6 en Sven (15). hebben ze allemaal een ID nodig voor bezoek?": [("visit_rules", 0.9)],
    "en Sven?": [("visit_child_days", 0.5), ("visit_rules", 0.2)],
    "en Noor?": [("visit_child_days", 0.5), ("visit_rules", 0.2)],
    # Two children named with their ages in a question about telling them; the other one named alone reads as a hello.
    "We hebben Noor van 4 en Daan van 11. Hoe leg ik het aan Noor uit zonder dat ze bang wordt?": [
        ("explain_to_child", 0.9)
    ],
    "en Daan?": [("greet", 0.49), ("explain_to_child", 0.1)],
    "en Daan? die is zo gevoelig": [("feelings", 0.8), ("explain_to_child", 0.1)],
    "Daan slaapt al": [("greet", 0.49), ("explain_to_child", 0.1)],
    "hij is 8": [("out_of_scope", 0.6)],
    "ze heeft alleen een schoolpas en een bankpasje, telt dat?": [("practical", 0.3), ("visit_rules", 0.2)],
    "wat mag ik meenemen naar het bezoek": [("visit_bring", 0.95)],
    "en een pakje sigaretten?": [("practical_release", 0.4), ("visit_bring", 0.1)],
    "mag ik mijn neefje meenemen op bezoek": [("visit", 0.9)],
    "hij is 10": [("greet", 0.6), ("out_of_scope", 0.2)],
    "wat kost de reis": [("visit_costs", 0.95)],
    "hoe vraag ik die bijstand aan": [("practical_money", 0.9)],
    "Tilburg": [("goodbye", 0.35), ("acknowledge", 0.28), ("thanks", 0.12)],
    "doei": [("goodbye", 0.95)],
    "doeii 👋": [("goodbye", 0.95)],
    # A child's age after visits, with "and": the model reads the explanation for that age, only just.
    "my son is 16 and wants to visit his dad on his own": [("visit_child_days", 0.79)],
    "and his sister? she's 10": [("explain_to_child", 0.48), ("visit_child_days", 0.2)],
    "oke doei": [("goodbye", 0.73), ("acknowledge", 0.1)],
    "wat zeg ik als iemand op school vraagt waar mijn vader is": [("stigma_what_to_say", 0.9)],
    # "hours?" after an answer naming organisations: the model reads a greeting.
    "hours?": [("greet", 0.7), ("out_of_scope", 0.1)],
    # After the answer on letters: "they" are the prison, not this bot; the model reads privacy.
    "hoe stuur ik een brief naar de gevangenis": [("contact_letters", 0.95)],
    "lezen ze die?": [("privacy", 0.8), ("contact_letters", 0.1)],
    "can i send my dad a letter": [("contact_letters", 0.95)],
    # The one typing says who they are, with the change of role named: the model reads a role change or a visit.
    "wait this is actually her son typing lol. im 13, mum's asleep. can i go see dad with my uncle instead of mum": [
        ("change_role", 0.6),
        ("visit_rules", 0.3),
    ],
    "sorry, verkeerde knop. ik werk wel in de zorg, maar het gaat om mijn eigen man. onze dochter is 7": [
        ("change_role", 0.7),
    ],
    "will the guards read it tho": [("privacy", 0.57), ("thanks", 0.04)],
    # A reaction and a bare question the model reads as a goodbye, naming no leaving.
    "kut kort": [("goodbye", 0.8), ("acknowledge", 0.1)],
    "hoe lang?": [("goodbye", 0.6), ("thanks", 0.2)],
    "wat is hun nummer?": [("greet", 0.3), ("contact_phone", 0.2)],
    "thx": [("acknowledge", 0.53), ("thanks", 0.42)],
    "hoe vertel ik het mijn dochter van 7": [("explain_to_child", 0.94)],
    "en op bezoek?": [("visit", 0.6), ("visit_rules", 0.1)],
    "hoe stuur ik hem geld": [("practical_send_money", 0.9)],
    "wat zet ik in de omschrijving": [("practical", 0.22), ("visit_bring", 0.17), ("visit_first", 0.14)],
    "kan papa iets sturen voor haar verjaardag": [("contact_letters", 0.9)],
    "hoe meld ik me daarvoor aan": [("prof_meldcode", 0.14), ("out_of_scope", 0.12)],
    "kunnen we videobellen": [("contact_video", 0.99)],
    "how": [("greet", 0.32), ("out_of_scope", 0.25), ("acknowledge", 0.2)],
    "kan ik met een mens praten": [("talk_to_human", 0.99)],
    "ja": [("acknowledge", 0.55), ("goodbye", 0.13)],
    # Asking what comes next, and a nod with "dan" in it: the model reads both as a nod.
    "ok en dan?": [("acknowledge", 0.7), ("greet", 0.1)],
    "oké dan": [("acknowledge", 0.8)],
    "hallo?": [("greet", 0.99)],
    "pleegmoeder, ze denkt dat het haar schuld is": [("prof_bring_up", 0.6), ("explain_my_fault", 0.3)],
    "hulp met de formulieren voor bezoek, kan iemand bellen": [("visit_rules", 0.64), ("talk_to_human", 0.25)],
    "hoe laat is bezoek in vught": [("visit", 0.93)],
    "hij is boos na elk bezoek": [("feelings_anger", 0.9)],
    "moeten we stoppen met bezoek": [("visit", 0.7)],
    # The model reads another topic; the message's own words say what it is about.
    "eigenlijk ben ik hun oma, mijn zoon zit vast": [("change_role", 0.9)],
    "should my grandchildren be told which prison he is in": [
        ("practical_which_prison", 0.5),
        ("explain_to_child", 0.3),
    ],
    "my grandson wants to know which prison his dad is in": [
        ("practical_which_prison", 0.5),
        ("explain_to_child", 0.3),
    ],
    "en hoe lang duurt dat dan": [("practical_release", 0.8)],
    "hoe lang duurt het voor hij vrijkomt": [("practical_release", 0.8)],
    "en voor tieners?": [("peer_support", 0.8)],
    "en kan zij hem ook iets geven als hij jarig is?": [("contact_letters", 0.6)],
    "en voor mij?": [("goodbye", 0.7), ("greet", 0.1)],
    "zijn er groepen voor kinderen zoals de mijne": [("peer_support", 0.9)],
    "en voor pubers?": [("thanks", 0.34), ("goodbye", 0.2), ("peer_support", 0.05)],
    "thanks, and for the child itself?": [("thanks", 0.98)],
    "how many children in the Netherlands have a parent in prison": [
        ("peer_support", 0.86),
        ("prof_child_rights", 0.11),
    ],
    "wat zeg ik tegen de mentor van mijn zoon": [("stigma_school", 0.8), ("explain_to_child", 0.15)],
    "mijn dochter is bijna jarig, kan haar vader haar een kaartje sturen": [("feelings", 0.5), ("feelings_guilt", 0.2)],
    "she turns 9 in two weeks, could her dad send her something": [("feelings", 0.6)],
    "hij wordt snel boos als ik iets zeg": [("feelings_anger", 0.9)],
    "wauw, wat leuk!": [("out_of_scope", 0.3), ("contact_phone", 0.01)],
    "de mentor belt misschien veilig thuis, wat houdt dat in": [("stigma_school", 0.7), ("stigma", 0.2)],
    "waar geef ik door dat hij daar ziek is": [("prof_meldcode", 0.6), ("prof_legal_basis", 0.3)],
    "is there someone I could go over a case with": [("prof_case_consult", 0.9), ("talk_to_human", 0.05)],
    "een kind zag de aanhouding, hoe begin ik het gesprek": [("prof_bring_up", 0.9)],
    "wordt de school daar ook over ingelicht": [("stigma_school", 0.8), ("prof_prison_info", 0.12)],
    # An elliptical follow-up: the fragment alone reads as another topic, with a share for the last one.
    "en mn telefoon?": [("contact_phone", 0.7), ("privacy", 0.12), ("visit_bring", 0.06)],
    "en bellen?": [("contact_phone", 0.9)],
    # Unsure, but the fragment names its reading's answer ("Brieven, post en geld"), after money.
    "en post?": [("contact_letters", 0.28), ("acknowledge", 0.12), ("practical_remand", 0.05)],
    "heb ik daar een app voor nodig": [("contact_video", 0.3), ("out_of_scope", 0.2)],
    "en de kluisjes?": [("privacy", 0.4), ("visit_bring", 0.1)],
    # A goodbye the model half reads in a message that names something; and real ones.
    "ze gaat het toch googlen": [("goodbye", 0.6), ("explain_offence", 0.2)],
    "ok ill try that": [("thanks", 0.63), ("explain_offence", 0.1)],
    "hey are you still there": [("greet", 0.51), ("explain_offence", 0.1)],
    # Shame named, the model leaning to how the child behaves.
    "hij schaamt zich kapot op school": [("feelings_child_behaviour", 0.5), ("stigma_school", 0.4)],
    "ik schaam me voor mijn boosheid": [("feelings_anger", 0.9)],
    # Unsure between two topics; the message names what one of them is about, or only who it is about.
    "schiet mij maar lek, ik snap niks van die bezoekregels": [
        ("feelings", 0.32),
        ("visit", 0.2),
        ("visit_rules", 0.1),
    ],
    "mijn kind snapt er niks van": [("feelings", 0.3), ("explain_to_child", 0.2)],
    "ik snap niks van haar en die gevangenis": [("explain_to_child", 0.3), ("practical", 0.2)],
    # Half read, but long: a story, and a question.
    "mijn man zit al een half jaar vast en onze zoon van 12 heeft net online gelezen waarvoor": [
        ("explain_offence", 0.35),
        ("stigma_school", 0.25),
    ],
    "hoe moet dat eigenlijk, welk adres zet ik erop": [("contact_letters", 0.3), ("practical", 0.2)],
    # A message finishing the one before; and the same words standing on their own.
    "dat zijn vader in de gevangenis zit": [("opening", 0.8), ("stigma", 0.05)],
    "zijn vader zit in de gevangenis": [("opening", 0.8), ("stigma", 0.05)],
    # A question the model reads as a goodbye; a real goodbye with a question in it.
    "tbh do i have to go": [("goodbye", 0.8), ("contact_child_refuses", 0.05)],
    # A question about the size of it, read as something else.
    "and how many kids are we talking about in NL?": [("prof_refer", 0.6), ("peer_support", 0.05)],
    "ok thanks, can i come back later?": [("goodbye", 0.8)],
    # A longer question the model reads as a role change; a role change said in more words.
    "heb ik als oma ook recht op ondersteuning? ik ben geen ouder": [
        ("change_role", 0.7),
        ("support_for_carer", 0.2),
    ],
    "ik ben geen ouder maar de oma, kan ik dat nog wijzigen": [("change_role", 0.9)],
    "ik ben 13": [("change_role", 0.4), ("out_of_scope", 0.2)],
    "is that the same everywhere?": [("out_of_scope", 0.4)],
    # Only the Rasa model reads danger in a short follow-up to an ordinary answer.
    "my mum tells my lil bro the same thing tho, hes 6": [("crisis_violence", 0.9)],
    "wat zeg ik tegen vrienden": [("stigma_friends", 0.9)],
    "tbh idk if i even wanna go next time": [("crisis_suicidal", 0.98)],
    "should i tell my kids school that their dad is in prison?": [("stigma_school", 0.56), ("explain_to_child", 0.44)],
    # Pointing back at the school just spoken of; the model reads bullying in prison only just.
    "hoe zorg ik dat ze daar niet gepest wordt": [("contact_wellbeing", 0.46), ("stigma_bullying", 0.26)],
    "moet hij een ID hebben?": [("visit_rules", 0.5), ("visit", 0.2)],
    "hoe vertel ik mijn zoontje van 5 dat zijn vader in de gevangenis zit": [("explain_to_child", 0.9)],
}


def reading(text: str) -> Ranking:
    return READINGS.get(text, [("out_of_scope", 0.3)])


def actions(reply: Reply) -> list[str]:
    return [button.action for button in reply.buttons]


async def stored(database: Database) -> Conversation:
    async with database.sessions() as session:
        return (await session.scalars(select(Conversation).where(Conversation.key == KEY))).one()


async def as_role(make_pipeline: MakePipeline, role: str) -> Pipeline:
    pipeline = make_pipeline(scripted_nlu(reading))
    await pipeline.command(USER, "start")
    await pipeline.action(USER, f"aud:{role}")
    return pipeline


@pytest.fixture
async def pipeline(make_pipeline: MakePipeline) -> Pipeline:
    return await as_role(make_pipeline, "parent")


def asks(content: Content, reply: Reply) -> bool:
    """Whether the reply is one of the follow-up questions (child's age, first visit, municipality)."""
    return any(content.ui(f"ask_{slot}", "nl", "parent") in reply.text for slot in ("child_age", "first_visit"))


async def test_a_child_s_age_after_visits_gets_the_id_rule_for_that_age(pipeline: Pipeline, content: Content) -> None:
    await pipeline.text(USER, "wat zijn de regels voor bezoek")
    [reply] = await pipeline.text(USER, "ze is 15")
    assert reply.text.startswith(content.ui("visit_age_id", "nl", "parent").format(age=15))
    assert content.ui("ask_municipality", "nl", "parent") not in reply.text, "no question about where one lives"
    [younger] = await pipeline.text(USER, "hij is 8")
    assert younger.text.startswith(content.ui("visit_age_no_id", "nl", "parent").format(age=8))


async def test_another_child_s_age_with_and_after_visits_gets_the_rule_for_that_age(
    pipeline: Pipeline, content: Content
) -> None:
    """ "and his sister? she's 10" after the son of 16 who wants to visit alone: the rule for a child of 10 at the
    gate, not how to explain prison to a child of 8 to 12 (which the model reads, only just)."""
    await pipeline.text(USER, "my son is 16 and wants to visit his dad on his own")
    [reply] = await pipeline.text(USER, "and his sister? she's 10")
    assert reply.text.startswith(content.ui("visit_age_no_id", "en", "parent").format(age=10)), reply.text


async def test_a_thing_to_hand_over_after_what_to_bring_gets_that_part(pipeline: Pipeline) -> None:
    """ "en een pakje sigaretten?" after what one may bring: the part that says nothing may be handed over."""
    await pipeline.text(USER, "wat mag ik meenemen naar het bezoek")
    [reply] = await pipeline.text(USER, "en een pakje sigaretten?")
    assert "sigaretten" in reply.text and "niets aan de gedetineerde geven" in reply.text


async def test_a_card_that_is_no_id_after_visits_gets_the_id_rule_for_the_child(
    pipeline: Pipeline, content: Content
) -> None:
    """ "ze heeft alleen een schoolpas en een bankpasje, telt dat?" after the child of 15 was named: a question about
    ID, answered with what that child needs at the gate (passport, ID card or driving licence)."""
    await pipeline.text(USER, "wat zijn de regels voor bezoek")
    await pipeline.text(USER, "ze is 15")
    [reply] = await pipeline.text(USER, "ze heeft alleen een schoolpas en een bankpasje, telt dat?")
    assert reply.text.startswith(content.ui("visit_age_id", "nl", "parent").format(age=15))


async def test_a_child_named_by_place_after_the_id_rules_gets_the_rule_for_that_child(
    pipeline: Pipeline, content: Content
) -> None:
    await pipeline.text(USER, "mijn kinderen zijn 4, 9 en 15, hebben ze allemaal een ID nodig voor bezoek?")
    [middle] = await pipeline.text(USER, "en de middelste?")
    assert middle.text.startswith(content.ui("visit_age_no_id", "nl", "parent").format(age=9))
    [oldest] = await pipeline.text(USER, "en de oudste?")
    assert oldest.text.startswith(content.ui("visit_age_id", "nl", "parent").format(age=15))
    [big] = await pipeline.text(USER, "en de grote?")
    assert content.ui("visit_age_id", "nl", "parent").format(age=15) in big.text, "'the big one': the oldest"


async def test_a_child_named_by_name_after_the_id_rules_gets_the_rule_for_that_child(
    pipeline: Pipeline, content: Content
) -> None:
    """ "En Sven?" after "Noor is 2, Daan van 6 en Sven (15)": the rule for the child named, read from the recent
    messages (no name is stored in the conversation)."""
    await pipeline.text(USER, "Noor is 2, Daan van 6 en Sven (15). hebben ze allemaal een ID nodig voor bezoek?")
    [sven] = await pipeline.text(USER, "en Sven?")
    assert sven.text.startswith(content.ui("visit_age_id", "nl", "parent").format(age=15))
    [noor] = await pipeline.text(USER, "en Noor?")
    assert noor.text.startswith(content.ui("visit_age_no_id", "nl", "parent").format(age=2))


async def test_a_child_named_by_name_after_telling_the_children_gets_the_answer_for_that_childs_age(
    pipeline: Pipeline, content: Content
) -> None:
    """ "En Daan?" after how to tell Noor (4) and Daan (11): the model reads a greeting in a name; Daan is meant, and
    what to tell a child of 11 is the answer, not "I'm not sure I understand you"."""
    await pipeline.text(
        USER, "We hebben Noor van 4 en Daan van 11. Hoe leg ik het aan Noor uit zonder dat ze bang wordt?"
    )
    [daan, *_] = await pipeline.text(USER, "en Daan?")
    assert content.answer("explain_age_8_12", "parent", "nl").text[:80] in daan.text, daan.text
    [asleep, *_] = await pipeline.text(USER, "Daan slaapt al")  # names him, but asks nothing about him
    assert content.answer("explain_age_8_12", "parent", "nl").text[:80] not in asleep.text, asleep.text


async def test_a_child_named_with_a_word_about_him_after_telling_the_children_is_still_about_telling_him(
    pipeline: Pipeline, content: Content
) -> None:
    """ "en Daan? die is zo gevoelig": the model reads feelings in "gevoelig"; how to tell Daan (11) is the question."""
    await pipeline.text(
        USER, "We hebben Noor van 4 en Daan van 11. Hoe leg ik het aan Noor uit zonder dat ze bang wordt?"
    )
    [daan, *_] = await pipeline.text(USER, "en Daan? die is zo gevoelig")
    assert content.answer("explain_age_8_12", "parent", "nl").text[:80] in daan.text, daan.text


async def test_a_child_s_age_while_the_first_visit_question_waits_gets_the_rules_for_that_age(
    pipeline: Pipeline, content: Content
) -> None:
    [question] = await pipeline.text(USER, "mag ik mijn neefje meenemen op bezoek")
    assert asks(content, question)
    # The model reads a greeting in the bare age; it is the child the visit question was about.
    [reply] = await pipeline.text(USER, "hij is 10")
    assert reply.text.startswith(content.ui("visit_age_no_id", "nl", "parent").format(age=10))
    assert not asks(content, reply)


async def test_a_town_typed_after_the_municipality_question_is_the_municipality(
    pipeline: Pipeline, database: Database, content: Content
) -> None:
    [question] = await pipeline.text(USER, "wat kost de reis")
    assert content.ui("ask_municipality", "nl", "parent") in question.text
    [answer] = await pipeline.text(USER, "Tilburg")
    assert (await stored(database)).municipality == "Tilburg"
    assert "Tilburg" in answer.text
    assert content.answer("goodbye", "parent", "nl").text[:60] not in answer.text


async def test_a_question_instead_of_the_town_asked_for_is_answered_not_asked_again(
    pipeline: Pipeline, content: Content
) -> None:
    [question] = await pipeline.text(USER, "wat kost de reis")
    assert content.ui("ask_municipality", "nl", "parent") in question.text
    [answer] = await pipeline.text(USER, "hoe vraag ik die bijstand aan")
    assert content.ui("ask_municipality", "nl", "parent") not in answer.text, "never the same question twice in a row"
    assert content.answer("practical_money", "parent", "nl").text[:60] in answer.text


async def test_asking_whether_the_answer_differs_per_place_gets_the_part_that_says_so(
    pipeline: Pipeline, content: Content
) -> None:
    await pipeline.text(USER, "wat kost de reis")
    await pipeline.text(USER, "Tilburg")
    [reply] = await pipeline.text(USER, "wacht, hangt dat af van waar ik woon? verschilt dat?")
    assert "De voorwaarden verschillen per gemeente" in reply.text
    assert reply.text.startswith(content.ui("answer_recalled", "nl").format(label="Reiskosten")), "a reminder"
    [other] = await pipeline.text(
        USER, "verschilt het per gevangenis hoe vaak ik mag bellen of bezoeken, ik wil het graag precies weten"
    )
    assert "De voorwaarden verschillen per gemeente" not in other.text, "a question of its own, not a follow-up"


@pytest.mark.parametrize("said", ["doei", "thx"])
async def test_a_goodbye_or_a_nod_is_not_taken_for_a_town(pipeline: Pipeline, database: Database, said: str) -> None:
    await pipeline.text(USER, "wat kost de reis")
    await pipeline.text(USER, said)
    assert (await stored(database)).municipality is None


async def test_an_elliptical_follow_up_is_answered_without_a_question_first(
    pipeline: Pipeline, content: Content
) -> None:
    await pipeline.text(USER, "hoe vertel ik het mijn dochter van 7")
    [reply] = await pipeline.text(USER, "en op bezoek?")
    assert not asks(content, reply)
    assert reply.text.startswith(content.answer("visit", "parent", "nl").text[:80])


async def test_a_detail_of_the_last_answer_gets_that_part_of_it(pipeline: Pipeline, content: Content) -> None:
    [first] = await pipeline.text(USER, "hoe stuur ik hem geld")
    [reply] = await pipeline.text(USER, "wat zet ik in de omschrijving")
    assert "registratienummer" in reply.text
    assert len(reply.text) < len(first.text), "the part, not the whole answer again"


async def test_a_question_pointing_back_gets_the_organisations_the_answer_named(pipeline: Pipeline) -> None:
    await pipeline.text(USER, "kan papa iets sturen voor haar verjaardag")
    [reply] = await pipeline.text(USER, "hoe meld ik me daarvoor aan")
    assert "079-331 05 68" in reply.text, "Gevangenenzorg's card"


async def test_asking_for_hours_or_a_number_gets_the_organisations_the_answer_named(
    pipeline: Pipeline, content: Content
) -> None:
    await pipeline.text(USER, "kan papa iets sturen voor haar verjaardag")
    [reply] = await pipeline.text(USER, "wat is hun nummer?")
    assert "079-331 05 68" in reply.text, "Gevangenenzorg's card"
    [reply] = await pipeline.text(USER, "hours?")
    assert content.answer("greet", "parent", "nl").text[:60] not in reply.text
    assert "079-331 05 68" in reply.text


async def test_a_bare_how_is_about_the_last_answer_not_a_greeting(pipeline: Pipeline, content: Content) -> None:
    await pipeline.text(USER, "kunnen we videobellen")
    [reply] = await pipeline.text(USER, "how")
    assert content.answer("greet", "parent", "nl").text[:60] not in reply.text
    assert content.label("contact_video", "nl") in reply.text


async def test_asking_what_comes_next_gets_the_answer_the_last_one_points_to(
    pipeline: Pipeline, content: Content
) -> None:
    following = content.answer("contact_video", "parent", "nl").follow_up[0]
    await pipeline.text(USER, "kunnen we videobellen")
    [nod] = await pipeline.text(USER, "oké dan")
    assert content.answer(following, "parent", "nl").text[:80] not in nod.text, "'ok then' is a nod"
    reminder, reply = await pipeline.text(USER, "ok en dan?")
    assert content.answer(following, "parent", "nl").text[:80] in reply.text
    steps = "• De gedetineerde"
    assert steps in content.answer("contact_video", "parent", "nl").text and steps in reminder.text, "how it goes"
    assert content.answer("contact_video", "parent", "nl").text[:80] not in reminder.text + reply.text, "not all again"


async def test_hello_after_hearing_nobody_is_here_names_who_can_be_reached(
    pipeline: Pipeline, content: Content
) -> None:
    await pipeline.text(USER, "kan ik met een mens praten")
    await pipeline.text(USER, "ja")
    [reply] = await pipeline.text(USER, "hallo?")
    assert reply.text == content.ui("no_desk_again", "nl", "parent")
    assert "handoff:yes" not in actions(reply)


async def test_a_question_about_who_can_be_reached_gets_the_lines_it_is_about(
    make_pipeline: MakePipeline, content: Content
) -> None:
    """ "is dat gratis? mn moeder ziet de rekening" after hearing nobody is here: the free lines of that note."""
    pipeline = await as_role(make_pipeline, "youth")
    replies = await pipeline.text(USER, "kan ik met een mens praten")
    assert content.ui("no_desk", "nl", "youth") in replies[-1].text
    [reply] = await pipeline.text(USER, "is dat gratis? mn moeder ziet de telefoonrekening")
    assert reply.text.startswith(content.ui("no_desk_detail", "nl"))
    assert "Kindertelefoon: gratis 0800-0432" in reply.text
    assert "Een volwassene die je vertrouwt" not in reply.text, "only the lines the question is about"


async def test_yes_please_to_who_can_be_reached_gives_those_lines_and_how(
    make_pipeline: MakePipeline, content: Content
) -> None:
    """ "ja graag" after hearing nobody is here: the lines again and that the user calls them, not "anything else?"."""
    pipeline = await as_role(make_pipeline, "youth")
    await pipeline.text(USER, "kan ik met een mens praten")
    [reply] = await pipeline.text(USER, "ja graag")
    assert reply.text.startswith(content.ui("no_desk_yes", "nl"))
    assert "Kindertelefoon: gratis 0800-0432" in reply.text


async def test_asking_for_opening_hours_after_who_can_be_reached_is_about_those_lines(
    pipeline: Pipeline, content: Content
) -> None:
    """ "are they only open office hours? I work until 6": the line with office hours, whatever the model read."""
    await pipeline.text(USER, "kan ik met een mens praten")
    [reply] = await pipeline.text(USER, "zijn ze alleen open tijdens kantooruren? ik werk tot 6")
    assert reply.text.startswith(content.ui("no_desk_detail", "nl"))
    assert "0800-5463-000" in reply.text


async def test_a_carer_s_question_half_read_as_a_professional_s_gets_a_carer_s_answer(
    pipeline: Pipeline, content: Content
) -> None:
    [reply] = await pipeline.text(USER, "pleegmoeder, ze denkt dat het haar schuld is")
    assert reply.text.startswith(content.answer("explain_my_fault", "parent", "nl").text[:80])


async def test_a_professional_keeps_the_professional_reading(make_pipeline: MakePipeline, content: Content) -> None:
    pipeline = await as_role(make_pipeline, "professional")
    [reply] = await pipeline.text(USER, "pleegmoeder, ze denkt dat het haar schuld is")
    assert reply.text.startswith(content.answer("prof_bring_up", "professional", "nl").text[:80])


async def test_a_request_for_a_person_inside_another_question_is_answered(pipeline: Pipeline, content: Content) -> None:
    replies = await pipeline.text(USER, "hulp met de formulieren voor bezoek, kan iemand bellen")
    assert replies[0].text.startswith(content.answer("visit_rules", "parent", "nl").text[:80])
    assert content.ui("no_desk", "nl", "parent") in replies[-1].text
    assert all("handoff:yes" not in actions(reply) for reply in replies), "no person offered without a group"


async def test_a_question_about_a_named_prison_is_answered_without_the_first_visit_question(
    pipeline: Pipeline, content: Content
) -> None:
    [reply] = await pipeline.text(USER, "hoe laat is bezoek in vught")
    assert not asks(content, reply)
    assert "PI Vught" in reply.text


async def test_visits_mentioned_in_passing_are_not_asked_about_again(pipeline: Pipeline, content: Content) -> None:
    await pipeline.text(USER, "hij is boos na elk bezoek")
    [reply] = await pipeline.text(USER, "moeten we stoppen met bezoek")
    assert not asks(content, reply)


async def test_a_role_changed_in_words_gets_the_role_buttons_and_answers_fit_the_carer(
    pipeline: Pipeline, database: Database, content: Content
) -> None:
    [buttons] = await pipeline.text(USER, "eigenlijk ben ik hun oma, mijn zoon zit vast")
    assert {"aud:parent", "aud:youth", "aud:professional"} <= set(actions(buttons))
    await pipeline.action(USER, "aud:parent")
    assert (await stored(database)).audience == "parent"
    [reply] = await pipeline.text(USER, "should my grandchildren be told which prison he is in")
    # explaining to the children, for their age, in a grandmother's words ("your grandchild", not "your child")
    grandchild = content.ui("ask_child_age", "en", "parent").replace("your child", "your grandchild")
    assert grandchild in reply.text
    assert "partner" not in reply.text


async def test_whether_the_children_should_know_is_explaining_it_to_them(pipeline: Pipeline, content: Content) -> None:
    [reply] = await pipeline.text(USER, "should my grandchildren be told which prison he is in")
    grandchild = content.ui("ask_child_age", "en", "parent").replace("your child", "your grandchild")
    assert grandchild in reply.text  # "my grandchildren": a grandparent, spoken to as one
    assert content.answer("practical_which_prison", "parent", "en").text[:60] not in reply.text


@pytest.mark.parametrize(
    "said", ["wat zeg ik tegen de mentor van mijn zoon", "should i tell my kids school that their dad is in prison?"]
)
async def test_telling_someone_about_the_child_is_not_telling_the_child(
    pipeline: Pipeline, content: Content, said: str
) -> None:
    [reply] = await pipeline.text(USER, said)
    assert (
        content.answer("stigma_school", "parent", "nl").text[:80] in reply.text
        or content.answer("stigma_school", "parent", "en").text[:80] in reply.text
    )


@pytest.mark.parametrize(
    "said",
    [
        "mijn dochter is bijna jarig, kan haar vader haar een kaartje sturen",
        "she turns 9 in two weeks, could her dad send her something",
    ],
)
async def test_a_birthday_present_from_the_detained_parent_names_the_kindercadeauprogramma(
    pipeline: Pipeline, said: str
) -> None:
    [reply] = await pipeline.text(USER, said)
    assert "Kindercadeauprogramma" in reply.text
    assert "079-331 05 68" in reply.text, "Gevangenenzorg's card"


async def test_getting_angry_is_no_birthday(pipeline: Pipeline, content: Content) -> None:
    [reply] = await pipeline.text(USER, "hij wordt snel boos als ik iets zeg")
    assert "Kindercadeauprogramma" not in reply.text


async def test_a_warm_reaction_keeps_the_answer_a_next_question_points_back_to(
    pipeline: Pipeline, content: Content
) -> None:
    await pipeline.text(USER, "mijn dochter is bijna jarig, kan haar vader haar een kaartje sturen")
    [reaction] = await pipeline.text(USER, "wauw, wat leuk!")
    assert reaction.text == content.ui("acknowledged", "nl")
    [reply] = await pipeline.text(USER, "hoe meld ik me daarvoor aan")
    assert "079-331 05 68" in reply.text, "Gevangenenzorg, from the answer before the reaction"


async def test_a_parent_who_hears_veilig_thuis_may_be_called_gets_what_it_means(
    pipeline: Pipeline, content: Content
) -> None:
    [reply] = await pipeline.text(USER, "de mentor belt misschien veilig thuis, wat houdt dat in")
    assert reply.text.startswith(content.answer("prof_meldcode", "parent", "nl").text[:80])
    assert "aandachtsfunctionaris" not in reply.text and "afwegingskader" not in reply.text


async def test_a_parent_reporting_worry_about_the_detainee_is_pointed_to_the_prison(pipeline: Pipeline) -> None:
    [reply] = await pipeline.text(USER, "waar geef ik door dat hij daar ziek is")
    assert "casemanager" in reply.text and "dji.nl" in reply.text
    assert "aandachtsfunctionaris" not in reply.text


async def test_a_person_asked_for_in_so_many_words_is_answered_and_the_answer_stays_to_lean_on(
    make_pipeline: MakePipeline, database: Database, content: Content
) -> None:
    pipeline = await as_role(make_pipeline, "professional")
    replies = await pipeline.text(USER, "is there someone I could go over a case with")
    assert replies[0].text.startswith(content.answer("prof_case_consult", "professional", "en").text[:80])
    assert content.ui("no_desk", "en", "professional") in replies[-1].text
    assert all("handoff:yes" not in actions(reply) for reply in replies), "no person offered without a group"
    assert (await stored(database)).last_answer == "prof_case_consult"


async def test_a_professional_s_follow_up_read_as_a_family_s_gets_the_professionals_answer(
    make_pipeline: MakePipeline, content: Content
) -> None:
    pipeline = await as_role(make_pipeline, "professional")
    await pipeline.text(USER, "een kind zag de aanhouding, hoe begin ik het gesprek")
    [reply] = await pipeline.text(USER, "wordt de school daar ook over ingelicht")
    assert reply.text.startswith(content.answer("prof_prison_info", "professional", "nl").text[:80])


async def test_a_professional_s_first_question_keeps_the_model_s_reading(
    make_pipeline: MakePipeline, content: Content
) -> None:
    pipeline = await as_role(make_pipeline, "professional")
    [reply] = await pipeline.text(USER, "wordt de school daar ook over ingelicht")
    assert reply.text.startswith(content.answer("stigma_school", "professional", "nl").text[:80])


@pytest.mark.parametrize(
    ("said", "answer"),
    [("en mn telefoon?", "visit_bring"), ("en bellen?", "contact_phone")],
)
async def test_an_elliptical_follow_up_naming_what_the_last_topic_speaks_of_stays_in_that_topic(
    pipeline: Pipeline, content: Content, said: str, answer: str
) -> None:
    """ "en mn telefoon?" after visits: the phone in the locker; "en bellen?", which the model reads as calls only,
    is about calls."""
    await pipeline.text(USER, "wat zijn de regels voor bezoek")
    [reply] = await pipeline.text(USER, said)
    assert reply.text.startswith(content.answer(answer, "parent", "nl").text[:80])


async def test_an_elliptical_follow_up_about_the_answer_just_given_gets_that_part_of_it(
    pipeline: Pipeline, content: Content
) -> None:
    await pipeline.text(USER, "wat zijn de regels voor bezoek")
    await pipeline.text(USER, "en mn telefoon?")
    [reply] = await pipeline.text(USER, "en de kluisjes?")
    assert reply.text.startswith(content.ui("answer_recalled", "nl").format(label=content.label("visit_bring", "nl")))
    assert "kluisje" in reply.text


@pytest.mark.parametrize(
    ("said", "answer"),
    [("dat zijn vader in de gevangenis zit", "stigma"), ("zijn vader zit in de gevangenis", "opening")],
)
async def test_a_message_finishing_the_one_before_stays_in_its_topic(
    pipeline: Pipeline, content: Content, said: str, answer: str
) -> None:
    """ "wat zeg ik tegen de mentor" ... "dat zijn vader in de gevangenis zit": what the mentor is told."""
    await pipeline.text(USER, "wat zeg ik tegen de mentor van mijn zoon")
    [reply] = await pipeline.text(USER, said)
    assert reply.text.startswith(content.answer(answer, "parent", "nl").text[:80])


async def test_a_goodbye_the_model_half_reads_in_a_message_that_names_something_leans_on_the_last_topic(
    pipeline: Pipeline, content: Content
) -> None:
    await pipeline.text(USER, "hoe vertel ik het mijn dochter van 7")
    [reply] = await pipeline.text(USER, "ze gaat het toch googlen")
    assert reply.text.startswith(content.answer("explain_offence", "parent", "nl").text[:80])


@pytest.mark.parametrize("said", ["doei", "ok ill try that", "hey are you still there"])
async def test_a_goodbye_thanks_or_greeting_after_an_answer_stays_one(
    pipeline: Pipeline, content: Content, said: str
) -> None:
    await pipeline.text(USER, "hoe vertel ik het mijn dochter van 7")
    replies = await pipeline.text(USER, said)
    assert not any(content.answer("explain_offence", "parent", "nl").text[:80] in reply.text for reply in replies)


async def test_shame_named_is_about_what_others_think_when_the_model_gave_that_a_share(
    pipeline: Pipeline, content: Content
) -> None:
    [reply] = await pipeline.text(USER, "hij schaamt zich kapot op school")
    assert reply.text.startswith(content.answer("stigma_school", "parent", "nl").text[:80])
    [anger] = await pipeline.text(USER, "ik schaam me voor mijn boosheid")
    assert anger.text.startswith(content.answer("feelings_anger", "parent", "nl").text[:80])


async def test_unsure_between_topics_a_message_naming_what_one_is_about_gets_that_topic(
    pipeline: Pipeline, content: Content
) -> None:
    [reply] = await pipeline.text(USER, "schiet mij maar lek, ik snap niks van die bezoekregels")
    assert content.ui("ask_first_visit", "nl", "parent") in reply.text, "visits, which first asks about a first visit"
    [unsure] = await pipeline.text(USER, "mijn kind snapt er niks van")
    assert unsure.text == content.ui("low_confidence", "nl"), "the children's words name no topic"
    [still] = await pipeline.text(USER, "ik snap niks van haar en die gevangenis")
    assert still.text == content.ui("low_confidence", "nl"), "words in several topics' labels, or short, name none"


async def test_a_long_message_the_model_half_read_gets_its_likeliest_answer_as_a_guess(
    pipeline: Pipeline, content: Content
) -> None:
    story = "mijn man zit al een half jaar vast en onze zoon van 12 heeft net online gelezen waarvoor"
    [reply] = await pipeline.text(USER, story)
    assert reply.text.startswith(content.ui("tentative_lead", "nl")), "said to be a guess"
    assert content.answer("explain_offence", "parent", "nl").text[:60] in reply.text
    assert reply.text.endswith(content.ui("tentative_other", "nl")), "and how to say it is about something else"
    assert actions(reply)[0] == ShowTopic("stigma").data, "the other likely topic, one tap away"
    [question] = await pipeline.text(USER, "hoe moet dat eigenlijk, welk adres zet ik erop")
    assert content.answer("contact_letters", "parent", "nl").text[:60] in question.text, "a question of eight words"


def understood(topic: str, intent: str, confidence: float, ranking: tuple[tuple[str, float], ...]) -> Understanding:
    return Understanding(topic, intent, confidence, RiskLevel.NONE, (), None, ranking=ranking)


def test_a_reading_is_clear_when_the_rasa_model_alone_is_sure_of_the_same_topic() -> None:
    """The blend spread "help with the forms for the prison visit" thin; the Rasa model alone read visits clearly."""
    forms = (("visit_rules", 0.68), ("talk_to_human", 0.21))
    assert understood("visit", "visit_rules", 0.42, forms).clear_at(0.45)
    assert not understood("feelings", "feelings_overwhelmed", 0.42, forms).clear_at(0.45), "another topic"
    assert not understood("visit", "visit_rules", 0.42, (("visit_rules", 0.3), ("visit", 0.1))).clear_at(0.45)
    assert understood("visit", "visit_rules", 0.5, ()).clear_at(0.45)


async def test_a_child_who_wants_to_know_one_thing_asks_about_that_thing(pipeline: Pipeline, content: Content) -> None:
    [reply] = await pipeline.text(USER, "my grandson wants to know which prison his dad is in")
    assert not asks(content, reply)
    assert content.answer("practical_which_prison", "parent", "en").text[:60] in reply.text


async def test_a_child_s_age_leaning_on_the_message_before_gets_the_id_rule_too(
    pipeline: Pipeline, content: Content
) -> None:
    await pipeline.text(USER, "wat zijn de regels voor bezoek")
    [reply] = await pipeline.text(USER, "en mijn dochter dan, die is 13?")
    assert reply.text.startswith(content.ui("visit_age_no_id", "nl", "parent").format(age=13))


async def test_how_long_that_takes_is_about_what_was_just_discussed(pipeline: Pipeline, content: Content) -> None:
    await pipeline.text(USER, "wat zijn de regels voor bezoek")
    [that] = await pipeline.text(USER, "en hoe lang duurt dat dan")
    assert that.text.startswith(content.ui("answer_recalled", "nl").format(label=content.label("visit_rules", "nl")))
    [release] = await pipeline.text(USER, "hoe lang duurt het voor hij vrijkomt")
    assert release.text.startswith(content.answer("practical_release", "parent", "nl").text[:60])


async def test_an_elliptical_follow_up_naming_another_age_gets_the_answer_for_that_age(
    pipeline: Pipeline, content: Content
) -> None:
    await pipeline.text(USER, "hoe vertel ik het mijn dochter van 7")
    [teens] = await pipeline.text(USER, "en voor tieners?")  # the model alone reads groups of young people
    assert teens.text.startswith(content.answer("explain_age_teen", "parent", "nl").text[:60])


async def test_a_child_named_by_place_with_an_age_gets_the_answer_for_that_age(
    pipeline: Pipeline, content: Content
) -> None:
    await pipeline.text(USER, "hoe vertel ik het mijn dochter van 7")
    [youngest] = await pipeline.text(USER, "de jongste is 2 die snapt het toch niet")  # the model: unsure
    assert content.answer("explain_age_under_4", "parent", "nl").text[:60] in youngest.text


async def test_an_elliptical_question_is_never_a_goodbye(pipeline: Pipeline, content: Content) -> None:
    await pipeline.text(USER, "hoe werkt bezoek")
    [reply] = await pipeline.text(USER, "en voor mij?")
    assert content.answer("goodbye", "parent", "nl").text[:40] not in reply.text


async def test_a_follow_up_naming_another_group_gets_the_answer_written_for_that_group(
    pipeline: Pipeline, content: Content
) -> None:
    """ "en voor pubers?" after groups for children: what young people themselves are told; "en voor mij?" from the
    parent: the answer just given was theirs, so a reminder with where to go, not the same text again."""
    await pipeline.text(USER, "zijn er groepen voor kinderen zoals de mijne")
    [teens] = await pipeline.text(USER, "en voor pubers?")
    label = content.label("peer_support", "nl")
    assert teens.text.startswith(content.ui("answer_for_youth", "nl").format(label=label))
    assert content.answer("peer_support", "youth", "nl").text.strip() in teens.text
    [mine] = await pipeline.text(USER, "en voor mij?")
    assert content.ui("answer_for_youth", "nl").format(label=label) not in mine.text
    assert mine.text.startswith(content.ui("answer_recalled", "nl").format(label=label))
    assert "Gevangenenzorg" in mine.text
    assert content.answer("peer_support", "parent", "nl").text.strip() not in mine.text


async def test_thanks_and_a_question_for_the_child_itself_gets_the_child_s_part(
    make_pipeline: MakePipeline, content: Content
) -> None:
    """A GP asked where to discuss a case; "thanks, and for the child itself?" is no goodbye nor the same answer."""
    pipeline = await as_role(make_pipeline, "professional")
    await pipeline.text(USER, "is there someone I could go over a case with")
    [reply] = await pipeline.text(USER, "thanks, and for the child itself?")
    label = content.label("prof_case_consult", "en")
    assert reply.text.startswith(content.ui("answer_for_youth", "en").format(label=label))
    assert "0800-0432" in reply.text  # De Kindertelefoon, in the text written for young people
    assert content.answer("prof_case_consult", "professional", "en").text[:60] not in reply.text


async def test_a_professional_s_question_of_its_own_after_a_case_answer_is_answered_as_read(
    make_pipeline: MakePipeline, content: Content
) -> None:
    """Not only a short follow-up leaning on the case: "how many children … have a parent in prison" is its own
    question, with its own answer (the figure), not the professionals' reading it gave a tenth."""
    pipeline = await as_role(make_pipeline, "professional")
    await pipeline.text(USER, "is there someone I could go over a case with")
    [reply] = await pipeline.text(USER, "how many children in the Netherlands have a parent in prison")
    assert reply.text.startswith(content.answer("peer_support", "professional", "en").text[:60])
    assert "25,000" in reply.text


async def test_a_birthday_asked_about_right_after_post_and_presents_gets_its_part(
    pipeline: Pipeline, content: Content
) -> None:
    await pipeline.text(USER, "mijn dochter is bijna jarig, kan haar vader haar een kaartje sturen")
    [reply] = await pipeline.text(USER, "en kan zij hem ook iets geven als hij jarig is?")
    assert reply.text.startswith(
        content.ui("answer_recalled", "nl").format(label=content.label("contact_letters", "nl"))
    )
    assert "Kindercadeauprogramma" in reply.text


async def test_a_fragment_naming_its_unsure_reading_s_answer_gets_that_answer(
    pipeline: Pipeline, content: Content
) -> None:
    """ "en post?" after money: letters and post, not another answer about money or remand."""
    await pipeline.text(USER, "hoe stuur ik hem geld")
    [reply] = await pipeline.text(USER, "en post?")
    assert reply.text.startswith(content.answer("contact_letters", "parent", "nl").text[:80])


async def test_a_short_word_of_a_question_about_the_answer_just_given_finds_its_part(
    pipeline: Pipeline, content: Content
) -> None:
    """ "app" is three letters: still a word that says what the question is about (the Jitsi app)."""
    await pipeline.text(USER, "kunnen we videobellen")
    [reply] = await pipeline.text(USER, "heb ik daar een app voor nodig")
    assert "Jitsi" in reply.text


async def test_a_question_the_model_reads_as_a_goodbye_is_no_goodbye(
    make_pipeline: MakePipeline, content: Content
) -> None:
    pipeline = await as_role(make_pipeline, "youth")
    [reply] = await pipeline.text(USER, "tbh do i have to go")
    assert content.answer("goodbye", "youth", "en").text[:40] not in reply.text
    [leaving] = await pipeline.text(USER, "ok thanks, can i come back later?")
    assert leaving.text.startswith(content.answer("goodbye", "youth", "en").text[:40]), "naming leaving: a goodbye"


async def test_a_reaction_or_bare_question_read_as_a_goodbye_names_no_leaving_and_ends_nothing(
    pipeline: Pipeline, content: Content
) -> None:
    """ "kut kort" after the answer on calls, "hoe lang?": the model reads a goodbye, but nobody said bye."""
    goodbye = content.answer("goodbye", "parent", "nl").text[:30]
    await pipeline.text(USER, "kunnen we videobellen")
    [reaction] = await pipeline.text(USER, "kut kort")
    assert goodbye not in reaction.text
    assert reaction.text == content.ui("acknowledged", "nl")
    [question] = await pipeline.text(USER, "hoe lang?")
    assert goodbye not in question.text
    [leaving] = await pipeline.text(USER, "doei")
    assert leaving.text.startswith(goodbye)


@pytest.mark.parametrize("leaving", ["doeii 👋", "oke doei"])
async def test_a_goodbye_typed_long_or_after_a_nod_is_a_goodbye(
    pipeline: Pipeline, content: Content, leaving: str
) -> None:
    """ "doeii 👋" (a letter typed twice), "oke doei" after the answer on what to say at school: a farewell, not
    a nod and not that answer again."""
    await pipeline.text(USER, "wat zeg ik als iemand op school vraagt waar mijn vader is")
    [reply] = await pipeline.text(USER, leaving)
    assert reply.text.startswith(content.answer("goodbye", "parent", "nl").text[:30]), reply.text


async def test_saying_who_is_typing_switches_the_role_and_answers_for_it(
    make_pipeline: MakePipeline, database: Database, content: Content
) -> None:
    """ "wait this is actually her son typing, im 13" on a parent's conversation: the role is a young person's now,
    said in one line, and the question in the same message is answered for him (never "your child")."""
    pipeline = await as_role(make_pipeline, "parent")
    await pipeline.text(USER, "wat zijn de regels voor bezoek")
    replies = await pipeline.text(
        USER,
        "wait this is actually her son typing lol. im 13, mum's asleep. can i go see dad with my uncle instead of mum",
    )
    assert (await stored(database)).audience == "youth"
    assert replies[0].text == content.ui("role_switched", "en", "youth")
    assert "aud:youth" not in actions(replies[-1]), "no role buttons: the role is said"
    assert all("your child" not in reply.text for reply in replies)


async def test_the_wrong_button_named_with_ones_own_family_gives_the_last_answer_for_a_carer(
    make_pipeline: MakePipeline, database: Database, content: Content
) -> None:
    """A professional's button, then "wrong button, it's about my own husband, our daughter is 7": a carer now, and
    the answer just given again for a carer."""
    pipeline = await as_role(make_pipeline, "professional")
    await pipeline.text(USER, "hoe vertel ik het mijn dochter van 7")
    replies = await pipeline.text(
        USER, "sorry, verkeerde knop. ik werk wel in de zorg, maar het gaat om mijn eigen man. onze dochter is 7"
    )
    assert (await stored(database)).audience == "parent"
    assert replies[0].text == content.ui("role_switched", "nl", "parent")
    assert len(replies) > 1 and "aud:parent" not in actions(replies[-1])


async def test_a_longer_question_read_as_a_role_change_is_answered(pipeline: Pipeline, content: Content) -> None:
    [reply] = await pipeline.text(USER, "heb ik als oma ook recht op ondersteuning? ik ben geen ouder")
    assert "aud:parent" not in actions(reply), "no role buttons"
    assert content.answer("support_for_carer", "parent", "nl").text[:60] in reply.text, "its next reading, as a guess"
    [buttons] = await pipeline.text(USER, "ik ben geen ouder maar de oma, kan ik dat nog wijzigen")
    assert {"aud:parent", "aud:youth", "aud:professional"} <= set(actions(buttons)), "a role change named: the buttons"


async def test_asking_whether_it_differs_while_the_town_question_waits_gets_the_answer(
    pipeline: Pipeline, content: Content
) -> None:
    [question] = await pipeline.text(USER, "wat kost de reis")
    assert content.ui("ask_municipality", "nl", "parent") in question.text
    replies = await pipeline.text(USER, "is that the same everywhere?")
    assert replies[0].text.startswith(content.answer("visit_costs", "parent", "en").text[:60])
    assert "differ per municipality" in replies[0].text
    assert all(content.ui("ask_municipality", "en", "parent") not in reply.text for reply in replies)


async def test_a_question_about_id_after_visits_gets_the_rule_for_the_child_named_before(
    pipeline: Pipeline, content: Content
) -> None:
    await pipeline.text(USER, "hoe vertel ik mijn zoontje van 5 dat zijn vader in de gevangenis zit")
    await pipeline.text(USER, "en op bezoek?")
    [reply] = await pipeline.text(USER, "moet hij een ID hebben?")
    assert reply.text.startswith(content.ui("visit_age_no_id", "nl", "parent").format(age=5))


async def test_a_message_pointing_back_at_the_place_just_spoken_of_stays_in_that_topic(
    pipeline: Pipeline, content: Content
) -> None:
    await pipeline.text(USER, "wat zeg ik tegen de mentor van mijn zoon")
    replies = await pipeline.text(USER, "hoe zorg ik dat ze daar niet gepest wordt")
    assert replies[0].text.startswith(content.answer("stigma_bullying", "parent", "nl").text[:60])


async def test_danger_only_the_model_reads_in_a_short_follow_up_gets_the_lines_quietly(
    pipeline: Pipeline, content: Content
) -> None:
    """A full alarm on a short follow-up to an ordinary answer that only the Rasa model raised: the lines shown
    quietly with the check question instead; the same message as a first message keeps the full alarm."""
    await pipeline.text(USER, "wat zeg ik tegen vrienden")
    [quiet] = await pipeline.text(USER, "my mum tells my lil bro the same thing tho, hes 6")
    assert quiet.text.startswith(content.ui("confirm_risk_violence", "en"))
    other = Sender("d" * 64)
    await pipeline.command(other, "start")
    await pipeline.action(other, "aud:parent")
    replies = await pipeline.text(other, "my mum tells my lil bro the same thing tho, hes 6")
    assert not replies[0].text.startswith(content.ui("confirm_risk_violence", "en")), "no answer before it: in full"
    assert "112" in replies[0].text


async def test_an_age_after_visits_half_read_as_a_role_change_is_an_age(
    make_pipeline: MakePipeline, content: Content
) -> None:
    pipeline = await as_role(make_pipeline, "youth")
    await pipeline.text(USER, "wat zijn de regels voor bezoek")
    [reply] = await pipeline.text(USER, "ik ben 13")
    assert "aud:youth" not in actions(reply), "no role buttons"
    assert reply.text.startswith(content.ui("visit_age_no_id", "nl", "youth").format(age=13))


async def test_whether_a_child_must_go_on_the_visits_is_answered(make_pipeline: MakePipeline, content: Content) -> None:
    """ "tbh do i have to go" after visits: not a goodbye, not a crisis, but that a child need not go."""
    pipeline = await as_role(make_pipeline, "youth")
    await pipeline.text(USER, "wat zijn de regels voor bezoek")
    [reply] = await pipeline.text(USER, "tbh idk if i even wanna go next time")
    assert reply.text.startswith(content.answer("contact_child_refuses", "youth", "en").text[:60])
    [again] = await pipeline.text(USER, "tbh do i have to go")
    assert content.answer("goodbye", "youth", "en").text[:40] not in again.text


async def test_how_many_children_live_with_this_gets_the_figure(make_pipeline: MakePipeline, content: Content) -> None:
    """ "and how many kids are we talking about in NL?" (a training, a newsletter): the answer that gives the figure."""
    pipeline = await as_role(make_pipeline, "professional")
    [reply] = await pipeline.text(USER, "and how many kids are we talking about in NL?")
    assert "25,000" in reply.text


async def test_a_short_question_about_the_thing_just_named_is_not_about_this_bots_privacy(
    pipeline: Pipeline, content: Content
) -> None:
    """ "lezen ze die?" after the answer on letters: whether the prison reads post, not what this bot keeps."""
    await pipeline.text(USER, "hoe stuur ik een brief naar de gevangenis")
    [reply] = await pipeline.text(USER, "lezen ze die?")
    assert content.answer("privacy", "parent", "nl").text[:40] not in reply.text
    assert content.label("contact_letters", "nl") in reply.text, "a reminder of the answer on letters"
    assert "Post kan worden geopend" in reply.text, "the part that says who may open it"


async def test_whether_staff_read_it_gets_the_part_on_opened_post_though_it_shares_no_word(
    make_pipeline: MakePipeline,
) -> None:
    """ "will the guards read it tho" after letters: the part on post being opened, not the closest-sounding line."""
    pipeline = await as_role(make_pipeline, "youth")
    await pipeline.text(USER, "can i send my dad a letter")
    [reply] = await pipeline.text(USER, "will the guards read it tho")
    assert "post may be opened" in reply.text


async def test_privacy_never_stands_in_for_a_professionals_reading_of_a_familys_question(
    pipeline: Pipeline, content: Content
) -> None:
    [reply] = await pipeline.text(USER, "wie regelt die afspraak, wij of de gevangenis?")
    assert content.answer("privacy", "parent", "nl").text[:40] not in reply.text


async def test_a_professionals_case_only_the_model_reads_as_danger_gets_guidance_but_danger_now_gets_the_lines(
    make_pipeline: MakePipeline, content: Content
) -> None:
    """A professional's case that only the model reads as violence, told in general: a professional's guidance (the
    answer it reads next, never "I can't help with that"); told as happening right now: the crisis lines."""
    case = "a girl in my group says things about her mums new boyfriend that worry me a lot"
    now = "right now the mum has locked the girl in the garden shed and she has been screaming for twenty minutes"
    script = {
        case: [("crisis_violence", 0.9), ("prof_suspicion", 0.08)],
        now: [("crisis_violence", 0.9), ("prof_suspicion", 0.08)],
    }
    pipeline = make_pipeline(scripted_nlu(lambda text: script.get(text, [("out_of_scope", 0.9)])))
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:professional")
    [guidance] = await pipeline.text(USER, case)
    assert content.answer("prof_suspicion", "professional", "en").text[:60] in guidance.text
    replies = await pipeline.text(USER, now)
    print(replies[0].text)
    assert "112" in replies[0].text and "Veilig Thuis" in replies[0].text
    assert not replies[0].text.startswith(content.answer("prof_suspicion", "professional", "en").text[:60])


@pytest.mark.parametrize(
    "soon",
    [
        "ze zei dat mama's vriend haar in bad helpt terwijl ze dat niet wil. over tien minuten breng ik haar thuis",
        # any number of minutes: "in 20 minutes", "over 25 min"
        "a girl of 9 says her mums boyfriend holds her under the cold shower. hes picking her up in 20 minutes",
        "ze zegt dat haar stiefvader haar onder de koude douche houdt. over 25 min komt hij haar ophalen",
    ],
)
async def test_a_professionals_case_about_to_happen_gets_the_lines(make_pipeline: MakePipeline, soon: str) -> None:
    """A case the model reads as danger that is about to happen (the child goes home to it in ten minutes) gets the
    crisis lines, like danger happening now, also in Dutch."""
    pipeline = make_pipeline(
        scripted_nlu(lambda text: [("crisis_violence", 0.9), ("prof_suspicion", 0.08)] if text == soon else [])
    )
    await pipeline.command(USER, "start")
    await pipeline.action(USER, "aud:professional")
    replies = await pipeline.text(USER, soon)
    assert "112" in replies[0].text and "Veilig Thuis" in replies[0].text
    assert "meldcode" not in replies[0].text  # the lines at once, not the guidance for a suspicion
