"""Cases: a user's request for a professional, opened by risk or on request, and their life cycle.

offered -> requested (group alerted) -> claimed (a professional joined) -> closed
offered -> declined;  requested/claimed -> closed (by the professional, or the user's /stop)
outside_hours -> parked (left for the next working day) -> requested, or -> closed
"""

from __future__ import annotations

import logging
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Case

logger = logging.getLogger(__name__)

# No 0/O or 1/I: a professional reads the pseudonym aloud to a colleague.
_PSEUDONYM_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

OFFERED = "offered"
REQUESTED = "requested"
CLAIMED = "claimed"
CLOSED = "closed"
DECLINED = "declined"
OUTSIDE_HOURS = "outside_hours"
PARKED = "parked"
LIVE = (REQUESTED, CLAIMED)
"""A professional has been asked or is in the conversation: the user's messages go to the topic."""


def new_pseudonym() -> str:
    return "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(4))


async def open_case(
    session: AsyncSession, user_key: str, reason: str, risk: str, status: str, audience: str | None, language: str
) -> Case:
    case = Case(
        user_key=user_key,
        pseudonym=new_pseudonym(),
        reason=reason,
        risk=risk,
        status=status,
        audience=audience,
        language=language,
        urgent=risk == "acute",
    )
    session.add(case)
    await session.flush()
    logger.info("case %s opened: reason=%s risk=%s status=%s", case.pseudonym, reason, risk, status)
    return case


async def latest(session: AsyncSession, user_key: str, statuses: tuple[str, ...]) -> Case | None:
    query = (
        select(Case)
        .where(Case.user_key == user_key, Case.status.in_(statuses))
        .order_by(Case.created_at.desc(), Case.id.desc())
        .limit(1)
    )
    return (await session.scalars(query)).first()


async def set_status(case: Case, status: str) -> None:
    case.status = status
    logger.info("case %s: %s", case.pseudonym, status)
