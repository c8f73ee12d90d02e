"""A user's rights over their data, through the real pipeline and database: /privacy, /mijngegevens, /vergeet.

The handoff desk is the real LiveDesk; only Telegram (the messenger) and the NLU service's answers are stood in for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from bot import app
from bot.app import Handoff
from bot.content import AUDIENCES, GROUP_TEXTS, LANGUAGES, Content
from bot.conversation.pipeline import Pipeline
from bot.conversation.privacy import Retention
from bot.conversation.steps import Step
from bot.replies import Reply, Sender
from bot.storage.cases import CaseStatus
from bot.storage.models import Case, Conversation, Database, RecentMessage, RelayedMessage
from bot.understanding.nlu_client import NluClient
from bot.understanding.understander import Understander
from handoff.desk import OfflineDesk
from safety.risk import SafetyNet
from tests.conftest import make_desk, scripted_nlu
from tests.fakes import RecordingMessenger, by_keyword

KEY = "a" * 64
OTHER_KEY = "b" * 64
CHAT_ID = 424242
ANNA = 1001
MakePipeline = Callable[[NluClient | None], Pipeline]
COMMAND = {
    ("nl", "privacy"): "privacy",
    ("en", "privacy"): "privacy",
    ("nl", "mydata"): "mijngegevens",
    ("en", "mydata"): "mydata",
    ("nl", "forget"): "vergeet",
    ("en", "forget"): "forget",
}


def actions(reply: Reply) -> list[str]:
    return [button.action for button in reply.buttons]


def user(language: str, key: str = KEY) -> Sender:
    return Sender(key, language, CHAT_ID)


async def count(database: Database, model: type[Conversation | Case | RelayedMessage], key: str = KEY) -> int:
    """Rows stored for `key` in one table (relayed messages through their case)."""
    async with database.sessions() as session:
        query = select(func.count()).select_from(model)
        if model is Conversation:
            query = query.where(Conversation.key == key)
        elif model is Case:
            query = query.where(Case.user_key == key)
        else:
            query = query.join(Case, Case.id == RelayedMessage.case_id).where(Case.user_key == key)
        return int(await session.scalar(query) or 0)


async def recent_lines(pipeline: Pipeline, database: Database, key: str = KEY) -> list[str]:
    """The recent messages kept for a consented transcript (sealed in the database)."""
    async with database.sessions() as session:
        return await pipeline.memory.recent_lines(session, key)


async def stored_rows(database: Database, key: str = KEY) -> tuple[int, int, int]:
    return (
        await count(database, Conversation, key),
        await count(database, Case, key),
        await count(database, RelayedMessage, key),
    )


@pytest.fixture
def live(database: Database, content: Content) -> tuple[Handoff, RecordingMessenger]:
    messenger = RecordingMessenger(first_topic=899)
    return make_desk(database, content, messenger), messenger


@pytest.fixture
def pipeline(
    live: tuple[Handoff, RecordingMessenger], database: Database, content: Content, safety_net: SafetyNet
) -> Pipeline:
    """A pipeline with a professionals' group, so that a person can be asked for (and their data deleted)."""
    understander = Understander(safety_net, scripted_nlu(by_keyword), 0.45, 0.5)
    return Pipeline(understander, content, database, live[0].desk)


async def begin(pipeline: Pipeline, language: str, audience: str, key: str = KEY) -> None:
    await pipeline.command(user(language, key), "start")
    await pipeline.action(user(language, key), f"aud:{audience}")


async def ask_for_a_person(pipeline: Pipeline, language: str, key: str = KEY) -> None:
    [offer] = await pipeline.text(user(language, key), "kan ik een mens spreken" if language == "nl" else "a person")
    assert actions(offer) == ["handoff:yes", "handoff:no"]
    await pipeline.action(user(language, key), "handoff:yes")


# -- /privacy ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("audience", AUDIENCES)
async def test_privacy_says_what_is_kept_for_how_long_who_sees_it_and_how_to_see_or_delete_it(
    safety_net: SafetyNet, database: Database, content: Content, language: str, audience: str
) -> None:
    pipeline = Pipeline(
        Understander(safety_net, scripted_nlu(by_keyword), 0.45, 0.5),
        content,
        database,
        OfflineDesk(),
        Retention(case_days=14, state_days=90),
    )
    await begin(pipeline, language, audience)
    [reply] = await pipeline.command(user(language), "privacy")
    text = reply.text
    assert "{" not in text and "}" not in text
    assert "14" in text and "90" in text and "112" in text and "K7F3" in text
    assert f"/{COMMAND[language, 'mydata']}" in text and f"/{COMMAND[language, 'forget']}" in text
    assert ("Telegram-id" if language == "nl" else "Telegram ID") in text
    assert text == Retention(14, 90).fill(content.answer("privacy", audience, language).text)
    others = {content.answer("privacy", a, language).text for a in AUDIENCES}
    assert len(others) == len(AUDIENCES)  # a version per audience, not one text for all


async def test_privacy_asked_through_a_message_gets_the_same_filled_in_text(
    make_pipeline: MakePipeline, content: Content
) -> None:
    pipeline = make_pipeline(scripted_nlu(lambda text: ("privacy", 0.9)))
    await begin(pipeline, "nl", "youth")
    [reply] = await pipeline.text(user("nl"), "wat bewaren jullie van mij")
    assert reply.text.startswith(Retention().fill(content.answer("privacy", "youth", "nl").text))
    assert "30 dagen" in reply.text and "180 dagen" in reply.text


@pytest.mark.parametrize("language", LANGUAGES)
async def test_asking_about_privacy_or_your_data_as_a_stranger_stores_nothing(
    pipeline: Pipeline, database: Database, language: str
) -> None:
    [statement] = await pipeline.command(user(language), "privacy")
    assert "112" in statement.text
    [data] = await pipeline.command(user(language), COMMAND[language, "mydata"])
    assert data.text.startswith("Ik bewaar op dit moment niets" if language == "nl" else "I don't keep anything")
    [forget] = await pipeline.command(user(language), COMMAND[language, "forget"])
    assert forget.buttons == ()
    assert ("niets te wissen" if language == "nl" else "nothing to delete") in forget.text
    assert await stored_rows(database) == (0, 0, 0)


# -- /mijngegevens -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("audience", AUDIENCES)
async def test_my_data_shows_role_language_step_and_no_requests(
    pipeline: Pipeline, content: Content, language: str, audience: str
) -> None:
    await begin(pipeline, language, audience)
    [reply] = await pipeline.command(user(language), COMMAND[language, "mydata"])
    assert content.value_label("roles", audience, language) in reply.text
    assert ("Taal: Nederlands" if language == "nl" else "Language: English") in reply.text
    assert content.value_label("steps", "chat", language) in reply.text
    assert content.ui("mydata_cases_none", language) in reply.text
    assert Retention().fill(content.ui("mydata_footer", language)) in reply.text
    for absent in ("mydata_municipality", "mydata_first_visit_yes", "mydata_first_visit_no"):
        assert content.ui(absent, language).split(":")[0] not in reply.text
    assert KEY not in reply.text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("audience", AUDIENCES)
async def test_my_data_shows_what_the_user_told_and_their_requests_with_status_dates_and_consent(
    pipeline: Pipeline, database: Database, content: Content, language: str, audience: str
) -> None:
    await begin(pipeline, language, audience)
    await ask_for_a_person(pipeline, language)
    await pipeline.action(user(language), "transcript:yes")  # there were messages before: consent is recorded
    async with database.sessions.begin() as session:
        conversation = await session.get(Conversation, KEY)
        assert conversation is not None
        conversation.child_age, conversation.first_visit, conversation.municipality = 9, True, "Zwolle"
        [case] = (await session.scalars(select(Case).where(Case.user_key == KEY))).all()
        assert case.transcript_shared
        closed = Case(
            user_key=KEY,
            pseudonym="QQ22",
            reason="acute:violence",
            risk="acute",
            status=CaseStatus.CLOSED,
            language=language,
            claimed_by="c" * 64,
            claimed_name="Anna",
            closed_at=case.created_at,
        )
        session.add(closed)
    [reply] = await pipeline.command(user(language), COMMAND[language, "mydata"])
    text = reply.text
    assert content.ui("mydata_child_age", language, audience).format(age=9) in text
    assert content.ui("mydata_first_visit_yes", language) in text
    assert "Zwolle" in text
    assert content.ui("mydata_cases", language).format(open=1, closed=1) in text
    assert content.value_label("reasons", "request", language) in text
    assert content.value_label("reasons", "violence", language) in text
    assert content.value_label("statuses", CaseStatus.REQUESTED, language) in text
    assert content.value_label("statuses", CaseStatus.CLOSED, language) in text
    assert content.ui("professional_named", language).format(name="Anna") in text
    assert content.ui("mydata_case_transcript_yes", language) in text
    assert content.ui("mydata_case_transcript_no", language) in text
    for internal in (KEY, "c" * 64, "QQ22", "acute:violence"):
        assert internal not in text


async def test_my_data_never_shows_another_users_requests(pipeline: Pipeline) -> None:
    await begin(pipeline, "nl", "parent", key=OTHER_KEY)
    await ask_for_a_person(pipeline, "nl", key=OTHER_KEY)
    await begin(pipeline, "nl", "youth")
    [reply] = await pipeline.command(user("nl"), "mijngegevens")
    assert "Hulpvragen aan een hulpverlener: geen." in reply.text


# -- /vergeet --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("audience", AUDIENCES)
async def test_forget_asks_first_and_a_no_deletes_nothing(
    pipeline: Pipeline, database: Database, content: Content, language: str, audience: str
) -> None:
    await begin(pipeline, language, audience)
    await ask_for_a_person(pipeline, language)
    [question] = await pipeline.command(user(language), COMMAND[language, "forget"])
    assert actions(question) == ["forget:yes", "forget:no"]
    # A professional was asked for, so the question says that deleting ends that conversation.
    confirm, live_note = content.ui("forget_confirm", language), content.ui("forget_confirm_live", language)
    assert question.text == f"{confirm}\n\n{live_note}"
    [kept] = await pipeline.action(user(language), "forget:no")
    assert kept.text == content.ui("forget_kept", language)
    assert await stored_rows(database) == (1, 1, 0)
    [late] = await pipeline.action(user(language), "forget:yes")  # the question was answered: a yes now is stale
    assert "/" + COMMAND[language, "forget"] in late.text
    assert await stored_rows(database) == (1, 1, 0)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("audience", AUDIENCES)
async def test_forget_yes_deletes_everything_and_the_next_message_starts_fresh(
    pipeline: Pipeline, database: Database, content: Content, language: str, audience: str
) -> None:
    await begin(pipeline, language, audience)
    await begin(pipeline, language, "parent", key=OTHER_KEY)
    await ask_for_a_person(pipeline, language)
    await ask_for_a_person(pipeline, language, key=OTHER_KEY)
    await pipeline.command(user(language), COMMAND[language, "forget"])
    [done] = await pipeline.action(user(language), "forget:yes")
    assert "/start" in done.text and "112" in done.text
    assert await stored_rows(database) == (0, 0, 0)
    assert await stored_rows(database, OTHER_KEY) == (1, 1, 0)  # nobody else's data goes with it

    [again] = await pipeline.action(user(language), "forget:yes")  # pressed twice
    assert ("niets te wissen" if language == "nl" else "nothing to delete") in again.text
    [data] = await pipeline.command(user(language), COMMAND[language, "mydata"])
    assert data.text == content.ui("mydata_none", language)
    [welcome] = await pipeline.text(user(language), "hallo daar" if language == "nl" else "hello there")
    assert actions(welcome)[:3] == ["aud:parent", "aud:youth", "aud:professional"]


async def test_a_stale_or_tampered_forget_button_deletes_nothing(
    pipeline: Pipeline, database: Database, content: Content
) -> None:
    await begin(pipeline, "nl", "youth")
    await pipeline.command(user("nl"), "vergeet")
    await pipeline.text(user("nl"), "hoe gaat een bezoek")  # the user moved on without answering
    [stale] = await pipeline.action(user("nl"), "forget:yes")
    assert stale.text == content.ui("forget_expired", "nl")
    for tampered in ("forget:YES", "forget:", "forget:yes:now"):
        [reply] = await pipeline.action(user("nl"), tampered)
        assert reply.text == content.ui("menu", "nl")  # not one of the bot's buttons: ignored
    assert await stored_rows(database) == (1, 0, 0)


async def test_forget_during_a_live_handoff_tells_the_topic_closes_the_case_and_deletes_it_all(
    pipeline: Pipeline,
    database: Database,
    content: Content,
    live: tuple[Handoff, RecordingMessenger],
    caplog: pytest.LogCaptureFixture,
) -> None:
    desk, messenger = live
    await begin(pipeline, "nl", "youth")
    await ask_for_a_person(pipeline, "nl")
    await desk.settle()  # the case reaches the group: a topic with its card
    [(case_id, topic_id)] = [(case.id, case.topic_id) for case in await cases_of(database)]
    assert topic_id is not None
    await desk.professionals.claim(case_id, ANNA)
    await pipeline.text(user("nl"), "ben je er nog", message_id=31)
    assert await stored_rows(database) == (1, 1, 1)
    assert await recent_lines(pipeline, database)

    app.configure_logging("DEBUG")  # the most a deployment can turn on
    caplog.set_level(logging.DEBUG)
    [question] = await pipeline.command(user("nl"), "vergeet")
    assert content.ui("forget_confirm_live", "nl") in question.text
    [done] = await pipeline.action(user("nl"), "forget:yes")
    await desk.sender.drain()

    assert (content.group("user_forgot"), topic_id) in messenger.group
    assert messenger.closed_topics == [topic_id]
    assert content.ui("forget_done_group", "nl") in done.text
    assert await stored_rows(database) == (0, 0, 0)
    assert await recent_lines(pipeline, database) == []
    async with database.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(RecentMessage)) == 0
    [deleted] = [record for record in caplog.records if "deleted on request" in record.getMessage()]
    assert deleted.getMessage().endswith("1 cases (1 open), 1 relayed-message records")
    assert KEY not in caplog.text and "ben je er nog" not in caplog.text

    # The professional writing on in the topic reaches nobody: the case is gone.
    await desk.professionals.from_professional(topic_id, ANNA, "hallo?", 77)
    await desk.sender.drain()
    assert all(text != "hallo?" and "hallo?" not in text for _, text in messenger.users)


async def test_forget_while_the_confirmation_is_the_open_step_keeps_other_steps_working(
    pipeline: Pipeline, database: Database
) -> None:
    await begin(pipeline, "en", "parent")
    await pipeline.command(user("en"), "forget")
    async with database.sessions() as session:
        conversation = await session.get(Conversation, KEY)
        assert conversation is not None and conversation.step == Step.FORGET_CONFIRM
    [reply] = await pipeline.command(user("en"), "mydata")
    assert "I asked whether you want to delete everything" in reply.text


async def cases_of(database: Database) -> list[Case]:
    async with database.sessions() as session:
        return list((await session.scalars(select(Case).order_by(Case.id))).all())


# -- content ----------------------------------------------------------------------------------------------------


def test_every_stored_value_has_a_name_in_both_languages(content: Content) -> None:
    statuses = list(CaseStatus)
    reasons = [path.split(".", 1)[1] for path in GROUP_TEXTS if path.startswith("reason.")]
    for language in LANGUAGES:
        for status in statuses:
            assert content.value_label("statuses", status, language)
        for step in ("choose_audience", "chat", "handoff_offer", "safety_check", Step.FORGET_CONFIRM, Step.ASK):
            assert content.value_label("steps", step, language)
        for role in (*AUDIENCES, "none"):
            assert content.value_label("roles", role, language)
        for reason in reasons:
            assert content.value_label("reasons", reason, language)
    assert len(statuses) >= 7 and "request" in reasons and "suicidal" in reasons
