"""Cases: a user's request for a professional, opened by risk or on request.

This issue records cases; the live handoff to the professionals' group plugs in behind `Desk`.
"""

from __future__ import annotations

import logging
import secrets
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage import Case

logger = logging.getLogger(__name__)

# No 0/O or 1/I: a professional reads the pseudonym aloud to a colleague.
_PSEUDONYM_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

OFFERED = "offered"
REQUESTED = "requested"
DECLINED = "declined"


def new_pseudonym() -> str:
    return "".join(secrets.choice(_PSEUDONYM_ALPHABET) for _ in range(4))


async def open_case(session: AsyncSession, user_key: str, reason: str, risk: str, status: str) -> Case:
    case = Case(user_key=user_key, pseudonym=new_pseudonym(), reason=reason, risk=risk, status=status)
    session.add(case)
    await session.flush()
    logger.info("case %s opened: reason=%s risk=%s status=%s", case.pseudonym, reason, risk, status)
    return case


async def latest_offered(session: AsyncSession, user_key: str) -> Case | None:
    query = (
        select(Case)
        .where(Case.user_key == user_key, Case.status == OFFERED)
        .order_by(Case.created_at.desc(), Case.id.desc())
        .limit(1)
    )
    return (await session.scalars(query)).first()


async def set_status(case: Case, status: str) -> None:
    case.status = status
    logger.info("case %s: %s", case.pseudonym, status)


class Desk(Protocol):
    """Where requested cases go. Returns whether a professional was actually alerted."""

    async def request(self, case: Case) -> bool: ...


class OfflineDesk:
    """No professionals' group is connected: the case stays recorded and the user is told honestly."""

    async def request(self, case: Case) -> bool:
        return False
