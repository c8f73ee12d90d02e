"""The facts the bot picks out of a message: a child's age, a prison, a first visit, a municipality."""

from __future__ import annotations

import pytest

from bot.content import Content, Prison
from bot.understanding import entities

PRISONS = (
    Prison("pi_vught", "PI Vught", ("vught", "nieuw vosseveld")),
    Prison("pi_rotterdam", "PI Rotterdam", ("de schie", "hoogvliet")),
)


@pytest.mark.parametrize(
    ("text", "age"),
    [
        ("mijn zoon van 5 vraagt steeds waar papa is", 5),
        ("Mn dochter (7) huilt elke avond", 7),
        ("ik heb een dochtertje van drie", 3),
        ("hoe leg ik het uit aan een 6-jarige", 6),
        ("ze is 12 jaar en wil niks zeggen", 12),
        ("she's seven and keeps asking about her dad", 7),
        ("my 9 year old son thinks it's his fault", 9),
        ("my daughter is fourteen", 14),
        ("hij zit 3 jaar vast en mijn zoon is 10", 10),
        ("mijn baby mist haar vader", 0),
        ("onze puber praat er niet over", 14),
        ("ja ik weet het maar de kleine is pas 5", 5),  # a word softening the age
        ("my son is only 6 and asks every day", 6),
        ("en die van 2 dan die snapt er toch niks van", 2),  # one of the children named before, by age
        ("mag die van 17 alleen op bezoek", 17),
    ],
)
def test_a_child_s_age_is_found_in_a_sentence(text: str, age: int) -> None:
    assert entities.child_age(text) == age


@pytest.mark.parametrize(
    "text",
    [
        "hij heeft 4 jaar gekregen",  # a sentence, not an age
        "he got 5 years",
        "we mogen 10 minuten bellen met mijn kind",
        "mijn zoon van 30 zit vast",  # an adult child: not a child's age
        "hoe vertel ik het mijn kinderen",
        "ik ben 35 en op",
        "mijn zoon is al 3 jaar niet bij hem geweest",  # "al": time, not an age
        "die van 5 uur is handiger",  # a time of day
    ],
)
def test_numbers_that_are_not_a_child_s_age_are_left_alone(text: str) -> None:
    assert entities.child_age(text) is None


@pytest.mark.parametrize(
    ("text", "age"),
    [("5", 5), ("vijf jaar", 5), ("ze is 9", 9), ("11 years", 11), ("ze zijn 4 en 9", 4), ("7, 10 and 13", 7)],
)
def test_a_bare_age_counts_when_the_bot_asked_for_one(text: str, age: int) -> None:
    assert entities.age_reply(text) == age


@pytest.mark.parametrize(
    ("age", "group"),
    [(0, "under_4"), (3, "under_4"), (4, "4_8"), (7, "4_8"), (8, "8_12"), (11, "8_12"), (12, "teen"), (17, "teen")],
)
def test_age_groups_follow_the_answers_choices(age: int, group: str) -> None:
    assert entities.age_group(age) == group


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("hij zit in Vught", "PI Vught"),
        ("Bezoektijden PI VUGHT?", "PI Vught"),
        ("mijn vader zit in de Schie in rotterdam", "PI Rotterdam"),
        ("how do I visit my dad in Hoogvliet", "PI Rotterdam"),
        ("hoe werkt bezoek", None),
        ("vughtse markt", None),  # a word that only starts like a prison's name
    ],
)
def test_prisons_are_recognised_by_name_and_alias(text: str, name: str | None) -> None:
    found = entities.prison(text, PRISONS)
    assert (found.name if found else None) == name


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("het is de eerste keer dat we op bezoek gaan", True),
        ("we zijn nog nooit op bezoek geweest", True),
        ("first time visiting, what do I bring", True),
        ("we zijn al vaker geweest maar nu met de kleine", False),
        ("not our first visit", False),
        ("hij is na elk bezoek helemaal van slag", False),
        ("he gets really upset after visits", False),
        ("hoe laat is het bezoek", None),
        ("what happens after the visit", None),
    ],
)
def test_a_first_visit_is_recognised(text: str, first: bool | None) -> None:
    assert entities.first_visit(text) is first


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("ik woon in den bosch, waar kan ik heen", "'s-Hertogenbosch"),
        ("we live in Tilburg and need help", "Tilburg"),
        ("de gemeente Breda helpt niet", "Breda"),
        ("hoe betaal ik de reis", None),
    ],
)
def test_a_municipality_is_found_in_a_sentence(text: str, place: str | None) -> None:
    assert entities.municipality(text) == place


@pytest.mark.parametrize(
    ("text", "place"),
    [("Zaanstad", "Zaanstad"), ("alphen aan den rijn", "Alphen aan den Rijn"), ("bergen op zoom.", "Bergen op Zoom")],
)
def test_a_municipality_alone_counts_when_the_bot_asked_for_one(text: str, place: str) -> None:
    assert entities.municipality_reply(text) == place


@pytest.mark.parametrize(
    "text", ["hoe werkt bezoek dan?", "dat wil ik liever niet zeggen want het is een klein dorp", "1234 AB"]
)
def test_questions_and_long_sentences_are_not_taken_for_a_municipality(text: str) -> None:
    assert entities.municipality_reply(text) is None


@pytest.mark.parametrize(
    ("text", "place"),
    [
        ("ik werk bij het cjg in tilburg. welke lokale hulp is er", "Tilburg"),
        ("wijkteam breda. moeder met 3 kinderen, partner zit vast", "Breda"),
        ("I work for the municipality of Tilburg. Where can families get support?", "Tilburg"),
        ("community police officer in Utrecht. a boy keeps getting into fights", "Utrecht"),
        ("ik ben ib'er op een basisschool in 's-hertogenbosch", "'s-Hertogenbosch"),
        ("school in s-Hertogenbosch", "'s-Hertogenbosch"),
        ("gezin uit Hertogenbosch", "'s-Hertogenbosch"),
        ("ik woon in \u2019s-Hertogenbosch", "'s-Hertogenbosch"),  # a phone's curly apostrophe
        ("een gezin in Bergen op Zoom", "Bergen op Zoom"),
        ("wij wonen in etten leur", "Etten-Leur"),
        ("jeugdwerker in Etten-Leur", "Etten-Leur"),
        ("welke organisaties in EINDHOVEN helpen", "Eindhoven"),
        ("hulp in tilbrug", "Tilburg"),
        ("ik woon in de buurt van Roosendaal", "Roosendaal"),
        ("we live in The Hague", "Den Haag"),
        ("we wonen in Zevenaar", "Zevenaar"),
    ],
)
def test_a_municipality_is_recognised_anywhere_in_a_sentence(text: str, place: str) -> None:
    assert entities.municipality(text) == place


@pytest.mark.parametrize(
    "text",
    [
        "de gemeente helpt niet",
        "ik heb een brede vraag over de beste hulp",
        "hij zit vast in Tilburg",
        "mijn man zit in de gevangenis in Zwolle",
        "the prison in Rotterdam won't tell me anything",
        "bezoek in PI Vught",
        "morgen op bezoek in Breda",
        "wat kan ik inzetten voor dit gezin",
    ],
)
def test_ordinary_words_and_a_prison_s_town_are_no_municipality(text: str) -> None:
    assert entities.municipality(text) is None


@pytest.mark.parametrize(("text", "place"), [("utrecht", "Utrecht"), ("in Den Bosch.", "'s-Hertogenbosch")])
def test_a_known_town_alone_is_read_as_the_municipality(text: str, place: str) -> None:
    assert entities.named_alone(text) == place


def test_every_town_with_a_local_entry_is_recognised_by_name(content: Content) -> None:
    towns = {
        organisation.region.partition(":")[2]
        for organisation in content.organisations
        if organisation.region.startswith("municipality:")
    }
    assert towns, "the sociale kaart has local entries"
    for town in towns:
        assert entities.municipality(f"een gezin in {town.lower()}") == town, town


@pytest.mark.parametrize(
    ("text", "ages"),
    [
        ("we hebben een zoon van 4 en een dochter van 14. hoe leg ik het de kleine uit?", [4, 14]),
        ("ze zijn 4 en 9", [4, 9]),
        ("mijn dochter van 12 en haar broertje van 3", [3, 12]),
        ("hij zit 4 jaar en mijn zoon van 8 mist hem", [8]),
    ],
)
def test_every_child_s_age_in_a_message_is_found(text: str, ages: list[int]) -> None:
    assert entities.child_ages(text) == ages


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Noor is 2, Daan van 6 en Sven (15). hebben ze een ID nodig?", {"noor": 2, "daan": 6, "sven": 15}),
        ("the twins are 3 and Jayden (13) was standing right there", {"twins": 3, "jayden": 13}),
        ("we hebben een tweeling van 4", {"tweeling": 4}),
        ("Hij zit in PI Vught (3 jaar)", {}),
        ("Daarna is 1 ding belangrijk", {}),
        ("Mijn zoon is 9", {}),
        ("Sandra is 40 en zit vast", {}),
    ],
)
def test_children_named_with_an_age_are_found_and_places_are_not(text: str, named: dict[str, int]) -> None:
    assert entities.named_children(text) == named
