"""The one client for the Rasa NLU service (`rasa run --enable-api`, endpoint `/model/parse`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import httpx

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Parse:
    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...]


class NluUnavailable(Exception):
    """The NLU service could not be reached or answered nonsense; callers fall back to the safety net and menu."""


class NluClient:
    def __init__(self, base_url: str, timeout: float, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)

    async def parse(self, text: str) -> Parse:
        try:
            response = await self._client.post("/model/parse", json={"text": text})
            response.raise_for_status()
            body = response.json()
            intent = body["intent"]
            ranking = tuple(
                (str(item["name"]), float(item["confidence"])) for item in body.get("intent_ranking") or [intent]
            )
            return Parse(str(intent["name"]), float(intent["confidence"]), ranking)
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            logger.warning("NLU service unavailable: %s", type(error).__name__)
            raise NluUnavailable from error

    async def ready(self) -> bool:
        try:
            await self.parse("hallo")
        except NluUnavailable:
            return False
        return True

    async def aclose(self) -> None:
        await self._client.aclose()
