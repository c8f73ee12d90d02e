"""Routing cases to several professionals' groups: the rules file as staff write it, checked at start, and a case
that stays with its group (claims, relays, /casussen), on a real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bot.app import Handoff, handoff_routing, live_handoff
from bot.config import ROOT
from bot.content import Content
from bot.storage import cases
from bot.storage.cases import CaseReason, CaseStatus
from bot.storage.models import Case, Conversation, Database
from handoff.routing import CaseFacts, Routing, RoutingError, parse
from tests.conftest import make_settings
from tests.fakes import RecordingMessenger

ENV = {"HANDOFF_GROUP_LANDELIJK": "-1001", "HANDOFF_GROUP_JEUGD": "-1002", "HANDOFF_GROUP_NOORD": "-1003"}
TUESDAY_NOON = datetime(2026, 12, 8, 11, 0, tzinfo=UTC)
TUESDAY_EVENING = datetime(2026, 12, 8, 19, 0, tzinfo=UTC)  # 20:00 in Amsterdam: jeugd open, noord closed
SUNDAY_NIGHT = datetime(2026, 12, 6, 2, 0, tzinfo=UTC)
ANNA, JOOST = 1001, 2001  # Anna is in the youth team's group, Joost in the national team's


def example() -> Routing:
    """The example file that ships in the repository, with its chat ids from the environment."""
    return Routing.load(ROOT / "handoff" / "routing.yml", ENV, "mon-fri 09:00-17:00")


def facts(audience: str | None = "parent", risk: str = "none", category: str = "request", town: str | None = None):
    return CaseFacts(audience, risk, category, town)


def test_the_first_matching_rule_picks_the_group() -> None:
    routing = example()
    assert routing.chosen(facts("youth")).name == "jeugd"
    # A child in danger goes to the team on call, also when a young person writes (that rule comes first).
    assert routing.chosen(facts("youth", "acute", "child_unsafe")).name == "landelijk"
    assert routing.chosen(facts("youth", "acute", "suicidal")).name == "jeugd"
    assert routing.chosen(facts("parent", town="Groningen")).name == "noord"
    assert routing.chosen(facts("parent", town="  leeuwarden ")).name == "noord"
    assert routing.chosen(facts("parent", town="Tilburg")).name == "landelijk"  # no rule: the default
    assert routing.chosen(facts(None)).name == "landelijk"


def test_a_closed_group_hands_new_cases_to_its_fallback() -> None:
    routing = example()
    assert routing.route(facts("parent", town="Assen"), TUESDAY_NOON).group.name == "noord"
    evening = routing.route(facts("parent", town="Assen"), TUESDAY_EVENING)
    assert (evening.group.name, evening.in_hours) == ("landelijk", True)
    assert routing.route(facts("youth"), TUESDAY_EVENING).group.name == "jeugd"


def test_with_no_group_open_on_the_way_the_case_stays_with_its_group_out_of_hours() -> None:
    spec = {
        "groups": {
            "jeugd": {"chat_id_env": "HANDOFF_GROUP_JEUGD", "hours": "mon-fri 09:00-17:00", "fallback": "noord"},
            "noord": {"chat_id_env": "HANDOFF_GROUP_NOORD", "hours": "mon-fri 09:00-21:00", "fallback": "jeugd"},
        },
        "rules": [{"when": {"audience": "youth"}, "group": "jeugd"}],
        "default": "noord",
    }
    routing = parse(spec, ENV, "always", "test")
    routed = routing.route(facts("youth"), SUNDAY_NIGHT)  # a fallback loop does not hang
    assert (routed.group.name, routed.in_hours) == ("jeugd", False)
    # The user hears the first opening on the way: Monday 09:00 (both open then).
    assert routing.next_opening(routed.group, SUNDAY_NIGHT) == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def test_without_a_routing_file_one_group_takes_every_case(tmp_path: Path) -> None:
    routing = handoff_routing(make_settings(tmp_path, handoff_chat_id=-100777, handoff_hours="always"))
    assert routing is not None and list(routing.groups) == ["team"]
    assert routing.chosen(facts("youth", "acute", "suicidal")).chat_id == -100777
    assert handoff_routing(make_settings(tmp_path)) is None  # no group at all: no live handoff


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s["rules"].append({"when": {"audience": "kids"}, "group": "jeugd"}), "unknown audience kids"),
        (lambda s: s["rules"].append({"when": {"risk": "high"}, "group": "jeugd"}), "unknown risk high"),
        (lambda s: s["rules"].append({"when": {"audience": "youth"}, "group": "zuid"}), "'zuid' is not one of"),
        (lambda s: s["rules"].append({"when": {"region": "zuiden"}, "group": "jeugd"}), "region 'zuiden'"),
        (lambda s: s["rules"].append({"when": {"age": 12}, "group": "jeugd"}), "unknown key(s) age"),
        (lambda s: s["groups"]["jeugd"].update(fallback="zuid"), "fallback 'zuid' is not a group"),
        (lambda s: s["groups"]["jeugd"].update(chat_id_env="HANDOFF_GROUP_ZUID"), "HANDOFF_GROUP_ZUID is not set"),
        (lambda s: s["groups"]["jeugd"].update(chat_id_env="-1001234"), "chat_id_env must name"),
        (lambda s: s["groups"]["jeugd"].update(hours="weekdays"), "cannot read 'weekdays'"),
        (lambda s: s.update(default="zuid"), "'default' must name one of the groups"),
    ],
)
def test_a_mistake_in_the_routing_file_stops_the_start_and_says_what_to_fix(change, message: str) -> None:
    spec = yaml.safe_load((ROOT / "handoff" / "routing.yml").read_text(encoding="utf-8"))
    change(spec)
    with pytest.raises(RoutingError, match=_literal(message)):
        parse(spec, ENV, "always", "routing.yml")


def test_two_groups_on_one_chat_id_are_refused() -> None:
    with pytest.raises(RoutingError, match="same chat id"):
        example_with({**ENV, "HANDOFF_GROUP_NOORD": ENV["HANDOFF_GROUP_JEUGD"]})


def test_the_bot_refuses_to_start_on_a_broken_routing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("HANDOFF_GROUP_NOORD")
    settings = make_settings(tmp_path, handoff_routing=ROOT / "handoff" / "routing.yml")
    with pytest.raises(SystemExit, match="HANDOFF_GROUP_NOORD is not set"):
        handoff_routing(settings)


def example_with(environ: dict[str, str]) -> Routing:
    return Routing.load(ROOT / "handoff" / "routing.yml", environ, "always")


def _literal(text: str) -> str:
    return text.replace("(", r"\(").replace(")", r"\)")


# -- a case stays with its group --------------------------------------------------------------------------------


def two_groups(database: Database, content: Content, now: datetime) -> tuple[Handoff, dict[str, RecordingMessenger]]:
    """The example's groups: Anna is only in the youth team's group, Joost only in the national team's."""
    messengers = {
        "landelijk": RecordingMessenger(members={JOOST}, first_topic=100),
        "jeugd": RecordingMessenger(members={ANNA}, first_topic=100),  # topic ids repeat across groups
        "noord": RecordingMessenger(members=set(), first_topic=100),
    }
    users = RecordingMessenger()
    handoff = live_handoff(
        database,
        users,
        content,
        b"s",
        example().groups["landelijk"].hours,
        timedelta(minutes=5),
        lambda: now,
        routing=example(),
        groups=messengers,
    )
    messengers["users"] = users
    return handoff, messengers


async def open_case(handoff: Handoff, database: Database, key: str, audience: str, town: str | None = None) -> int:
    async with database.sessions.begin() as session:
        session.add(Conversation(key=key, audience=audience, municipality=town, step="chat"))
        await session.flush()
        case = await cases.open_case(session, key, CaseReason.request(), CaseStatus.REQUESTED, audience, "nl")
        await handoff.desk.open(session, case, 555)
        case_id = case.id
    await handoff.settle()
    return case_id


async def stored(database: Database, case_id: int) -> Case:
    async with database.sessions() as session:
        case = await session.get(Case, case_id)
    assert case is not None
    return case


async def test_a_youth_case_goes_to_the_youth_group_and_only_that_group_can_claim_it(
    database: Database, content: Content
) -> None:
    handoff, sent = two_groups(database, content, TUESDAY_NOON)
    youth = await open_case(handoff, database, "y" * 64, "youth")
    parent = await open_case(handoff, database, "p" * 64, "parent")
    assert len(sent["jeugd"].topics) == 1 and len(sent["landelijk"].topics) == 1 and sent["noord"].topics == []
    assert (await stored(database, youth)).handoff_group == "jeugd"
    # Both topics got id 101, each in its own group: the case card went to the right one.
    assert (await stored(database, youth)).topic_id == (await stored(database, parent)).topic_id == 101
    assert [b for b in sent["jeugd"].buttons if b] == [[f"case:claim:{youth}", f"case:close:{youth}"]]

    national, youth_team = handoff.teams["landelijk"], handoff.teams["jeugd"]
    assert await national.claim(youth, JOOST) is None  # another group's case: ignored, nothing changes
    assert await national.close(youth, JOOST) is None
    assert (await stored(database, youth)).status == CaseStatus.REQUESTED
    listed = await national.waiting_list(JOOST)
    assert listed is not None and (await stored(database, parent)).pseudonym in listed
    assert (await stored(database, youth)).pseudonym not in listed

    assert await youth_team.claim(youth, ANNA) is not None
    assert (await stored(database, youth)).status == CaseStatus.CLAIMED
    # Joost writes in "his" topic 101: it is the parent's case, not the young person's.
    await national.from_professional(101, JOOST, "hallo", 9)
    await youth_team.from_professional(101, ANNA, "Hoi, ik ben Anna", 10)
    await handoff.settle()
    assert [text for _, text in sent["users"].users if "Hoi, ik ben Anna" in text]
    assert not [text for _, text in sent["users"].users if "hallo" in text]


async def test_a_case_for_a_closed_group_goes_to_its_fallback_group(database: Database, content: Content) -> None:
    handoff, sent = two_groups(database, content, TUESDAY_EVENING)
    case_id = await open_case(handoff, database, "g" * 64, "parent", town="Groningen")
    assert (await stored(database, case_id)).handoff_group == "landelijk"
    assert len(sent["landelijk"].topics) == 1 and sent["noord"].topics == []
