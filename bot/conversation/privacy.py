"""A user's rights over their data: seeing what is stored (/mijngegevens) and deleting all of it (/vergeet).

Everything stored about a user hangs off their pseudonymous key: the conversation row, their cases, the records
(ids only) of the messages relayed in those cases, and their last few messages (sealed, for at most 30 minutes).
What is shown comes from `responses/ui.yml`; nothing here logs a key or any text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import DEFAULT_RETENTION_CASE_DAYS, DEFAULT_RETENTION_STATE_DAYS
from bot.content import Content
from bot.storage import cases as case_states
from bot.storage.models import Case, Conversation, RecentMessage, RelayedMessage, utcnow
from handoff.desk import Desk
from handoff.hours import AMSTERDAM
from handoff.outbox import erase_for_cases


@dataclass(frozen=True)
class Retention:
    """How long data is kept, in days (RETENTION_CASE_DAYS, RETENTION_STATE_DAYS); fills the texts' placeholders."""

    case_days: int = DEFAULT_RETENTION_CASE_DAYS
    state_days: int = DEFAULT_RETENTION_STATE_DAYS

    def fill(self, text: str) -> str:
        """Put the retention periods into a text with {case_days} and {state_days}."""
        return text.format(case_days=self.case_days, state_days=self.state_days)


@dataclass(frozen=True)
class Stored:
    """Everything stored under one user's key."""

    conversation: Conversation | None
    cases: tuple[Case, ...]

    @property
    def empty(self) -> bool:
        return self.conversation is None and not self.cases


@dataclass(frozen=True)
class Erased:
    """What /vergeet deleted, as counts only (what the log may say)."""

    cases: int
    open_cases: int
    relayed: int
    published: bool
    """Whether any case had reached the professionals' group, where relayed messages stay."""


async def stored(session: AsyncSession, key: str) -> Stored:
    """Read what is stored under `key`, without creating anything."""
    conversation = await session.get(Conversation, key)
    found = await session.scalars(select(Case).where(Case.user_key == key).order_by(Case.created_at, Case.id))
    return Stored(conversation, tuple(found.all()))


def open_cases(found: Stored) -> list[Case]:
    """The cases in which a professional is asked, waiting, or talking with the user."""
    return [case for case in found.cases if case.status in case_states.OPEN]


async def erase(session: AsyncSession, key: str, desk: Desk) -> Erased | None:
    """Delete everything stored under `key`; None when there was nothing.

    An open case is closed through the desk first, which tells its topic ("user_forgot") while the case still
    exists, and its encrypted chat reference is wiped before any row is deleted. Whatever was still on its way to or
    from the user (the outbox) is deleted: nothing reaches them after this, and their words do not reach the group.
    The deletes are explicit, child tables first, so they do not depend on the database enforcing the foreign keys'
    ON DELETE CASCADE.
    """
    found = await stored(session, key)
    if found.empty:
        return None
    still_open = open_cases(found)
    for case in still_open:
        await desk.user_left(session, case, "user_forgot")
        case.chat_ref = None
    await session.flush()
    case_ids = [case.id for case in found.cases]
    relayed = await session.scalar(
        select(func.count()).select_from(RelayedMessage).where(RelayedMessage.case_id.in_(case_ids))
    )
    await erase_for_cases(session, case_ids)
    await session.execute(delete(RelayedMessage).where(RelayedMessage.case_id.in_(case_ids)))
    await session.execute(delete(Case).where(Case.user_key == key))
    await session.execute(delete(RecentMessage).where(RecentMessage.user_key == key))
    await session.execute(delete(Conversation).where(Conversation.key == key))
    return Erased(
        cases=len(found.cases),
        open_cases=len(still_open),
        relayed=relayed or 0,
        published=any(case.topic_id is not None for case in found.cases),
    )


def render(content: Content, found: Stored, language: str, retention: Retention) -> str:
    """What /mijngegevens shows: every stored item in plain words, in the user's language."""
    if found.empty:
        return content.ui("mydata_none", language)
    lines = [content.ui("mydata_intro", language)]
    if found.conversation is not None:
        lines += _conversation_lines(content, found.conversation, language)
    lines += ["", *_case_lines(content, found.cases, language)]
    lines += ["", retention.fill(content.ui("mydata_footer", language))]
    return "\n".join(lines)


def _conversation_lines(content: Content, conversation: Conversation, language: str) -> list[str]:
    """Role, language, step, and what the user chose to tell (child's age, first visit, municipality, who is inside,
    what kind of carer)."""
    role = content.value_label("roles", conversation.audience or "none", language)
    lines = [
        content.ui("mydata_role", language).format(role=role),
        content.ui("mydata_language", language),
        content.ui("mydata_step", language).format(step=content.value_label("steps", conversation.step, language)),
    ]
    if conversation.safety_check:
        lines.append(content.ui("mydata_safety_check", language))
    if conversation.child_age is not None:
        text = content.ui("mydata_child_age", language, conversation.audience or "parent")
        lines.append(text.format(age=conversation.child_age))
    if conversation.first_visit is not None:
        lines.append(
            content.ui("mydata_first_visit_yes" if conversation.first_visit else "mydata_first_visit_no", language)
        )
    if conversation.municipality:
        lines.append(content.ui("mydata_municipality", language).format(municipality=conversation.municipality))
    if conversation.inside:
        who = content.value_label("inside", conversation.inside, language)
        lines.append(content.ui("mydata_inside", language).format(who=who))
    if conversation.carer:
        kind = content.value_label("carers", conversation.carer, language)
        lines.append(content.ui("mydata_carer", language).format(kind=kind))
    if conversation.updated_at is not None:
        lines.append(content.ui("mydata_updated", language).format(date=_date(conversation.updated_at)))
    return lines


def _case_lines(content: Content, found: Sequence[Case], language: str) -> list[str]:
    """A count of open and closed requests, then one line per request: when, why, status, who, transcript."""
    if not found:
        return [content.ui("mydata_cases_none", language)]
    still_open = sum(case.status in case_states.OPEN for case in found)
    lines = [content.ui("mydata_cases", language).format(open=still_open, closed=len(found) - still_open)]
    for case in found:
        detail = case_states.reason_of(case).detail
        parts = [
            content.ui("mydata_case", language).format(
                opened=_date(case.created_at),
                reason=content.value_label("reasons", detail, language),
                status=content.value_label("statuses", case.status, language),
            )
        ]
        if case.closed_at is not None:
            parts.append(content.ui("mydata_case_closed", language).format(date=_date(case.closed_at)))
        if case.claimed_name is not None:
            parts.append(content.ui("mydata_case_who", language).format(who=_who(content, case, language)))
        transcript = "mydata_case_transcript_yes" if case.transcript_shared else "mydata_case_transcript_no"
        parts.append(content.ui(transcript, language))
        lines.append(" ".join(parts))
    return lines


def _who(content: Content, case: Case, language: str) -> str:
    """The professional as the user saw them: the name they chose, or only their role. Never more."""
    name = case.claimed_name
    if not name or name == content.group("default_name"):
        return content.ui("professional_unnamed", language)
    return content.ui("professional_named", language).format(name=name)


def _date(moment: datetime) -> str:
    """A day in Amsterdam time (SQLite hands back naive datetimes; they were stored in UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=utcnow().tzinfo)
    return aware.astimezone(AMSTERDAM).strftime("%d-%m-%Y")
