"""Cases: a user's request for a professional, opened by risk or on request, and their life cycle.

offered -> requested (group alerted) -> claimed (a professional joined) -> closed
offered -> declined;  requested/claimed -> closed (by the professional, or the user's /stop)
outside_hours -> parked (left for the next working day) -> requested, or -> closed

The sets of statuses below are the only definitions of "open", "live", "waiting" and "active": use them.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Case

logger = logging.getLogger(__name__)

# No 0/O or 1/I: a professional reads the pseudonym aloud to a colleague.
_PSEUDONYM_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class CaseStatus(StrEnum):
    """Where a case is in its life cycle (stored as its string value)."""

    OFFERED = "offered"
    REQUESTED = "requested"
    CLAIMED = "claimed"
    CLOSED = "closed"
    DECLINED = "declined"
    OUTSIDE_HOURS = "outside_hours"
    PARKED = "parked"


FINISHED: tuple[CaseStatus, ...] = (CaseStatus.CLOSED, CaseStatus.DECLINED)
"""Nobody is asked or talking any more."""
OPEN: tuple[CaseStatus, ...] = tuple(status for status in CaseStatus if status not in FINISHED)
"""Every status that is not finished: what /mijngegevens counts as open, and what /vergeet closes first."""
LIVE: tuple[CaseStatus, ...] = (CaseStatus.REQUESTED, CaseStatus.CLAIMED)
"""A professional has been asked or is in the conversation: the user's messages go to the topic."""
WAITING: tuple[CaseStatus, ...] = (CaseStatus.REQUESTED, CaseStatus.PARKED)
"""Waiting for a professional to pick it up: what the sweeper publishes and /casussen lists."""
ACTIVE: tuple[CaseStatus, ...] = (*LIVE, CaseStatus.PARKED)
"""Still needs a professional: never removed by retention, and the user is told a professional may be waiting."""


@dataclass(frozen=True)
class CaseReason:
    """Why a case was opened: a risk level and a detail ("acute:suicidal", "concern:sleep", or just "request").

    Stored as text (`Case.reason`, `Conversation.offer_reason`); parsed and printed only here.
    """

    risk: str
    detail: str

    REQUEST = "request"

    @classmethod
    def acute(cls, category: str) -> CaseReason:
        return cls("acute", category)

    @classmethod
    def request(cls) -> CaseReason:
        return cls("none", cls.REQUEST)

    @classmethod
    def parse(cls, text: str) -> CaseReason:
        risk, separator, detail = text.partition(":")
        if not separator:
            return cls("none", text)
        return cls(risk, detail or risk)

    def __str__(self) -> str:
        return self.detail if self.risk == "none" else f"{self.risk}:{self.detail}"

    @property
    def urgent(self) -> bool:
        return self.risk == "acute"


def reason_of(case: Case) -> CaseReason:
    return CaseReason.parse(case.reason)


def new_pseudonym() -> str:
    return "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(4))


async def open_case(
    session: AsyncSession,
    user_key: str,
    reason: CaseReason,
    status: CaseStatus,
    audience: str | None,
    language: str,
) -> Case:
    case = Case(
        user_key=user_key,
        pseudonym=new_pseudonym(),
        reason=str(reason),
        risk=reason.risk,
        status=status,
        audience=audience,
        language=language,
        urgent=reason.urgent,
    )
    session.add(case)
    await session.flush()
    logger.info("case %s opened: reason=%s status=%s", case.pseudonym, reason, status)
    return case


async def latest(session: AsyncSession, user_key: str, statuses: tuple[CaseStatus, ...]) -> Case | None:
    query = (
        select(Case)
        .where(Case.user_key == user_key, Case.status.in_(statuses))
        .order_by(Case.created_at.desc(), Case.id.desc())
        .limit(1)
    )
    return (await session.scalars(query)).first()


async def set_status(case: Case, status: CaseStatus) -> None:
    case.status = status
    logger.info("case %s: %s", case.pseudonym, status)
