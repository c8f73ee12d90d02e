"""Who may act on cases: only members of the professionals' group, checked once per action at the desk's door."""

from __future__ import annotations

import logging

from handoff.messenger import Messenger, attempt

logger = logging.getLogger(__name__)


class Membership:
    """The guard in front of every professional's action (claim, close, reply, /naam, /casussen)."""

    def __init__(self, messenger: Messenger) -> None:
        self._messenger = messenger

    async def admits(self, professional_id: int, action: str) -> bool:
        """Whether the professional is in the group; someone outside it is ignored (and logged, without id)."""
        member = await attempt(self._messenger.is_member(professional_id), "check a membership")
        if not member:
            logger.warning("ignored a %s from someone outside the professionals' group", action)
        return bool(member)
