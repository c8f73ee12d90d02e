"""The one client for the Rasa NLU service (`rasa run --enable-api`, endpoint `/model/parse`).

Two guards keep a slow or stalled service from slowing the bot down. At most `MAX_IN_FLIGHT` parses are on
their way at once (Rasa works through them one by one; more in flight only makes each wait longer and time out).
And a circuit breaker: after `BREAKER_FAILURES` failures in a row the client stops calling for `BREAKER_COOL_DOWN`
seconds and every parse fails at once, so messages are answered from the safety net and the menu straight away
instead of each waiting out the timeout; then one trial call decides whether to close it again.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import httpx

logger = logging.getLogger(__name__)

MAX_IN_FLIGHT = 8
BREAKER_FAILURES = 5
BREAKER_COOL_DOWN = 15.0


@dataclass(frozen=True)
class Parse:
    intent: str
    confidence: float
    ranking: tuple[tuple[str, float], ...]


class NluUnavailable(Exception):
    """The NLU service could not be reached or answered nonsense; callers fall back to the safety net and menu."""


class BreakerState(Enum):
    CLOSED = 0
    """Calls go through."""
    OPEN = 1
    """Calls fail at once, until the cool-down is over."""
    HALF_OPEN = 2
    """The cool-down is over: one trial call goes through; the others still fail at once."""


class CircuitBreaker:
    """Opens after `failures` failed calls in a row; after `cool_down` seconds one trial call may close it."""

    def __init__(
        self,
        failures: int = BREAKER_FAILURES,
        cool_down: float = BREAKER_COOL_DOWN,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._threshold = failures
        self._cool_down = cool_down
        self._clock = clock
        self._failures = 0
        self._opened_at = 0.0
        self._trial_running = False
        self.state = BreakerState.CLOSED

    def allow(self) -> bool:
        """May a call go out now? In the half-open state only one caller gets a yes, until it reports back."""
        if self.state is BreakerState.OPEN and self._clock() - self._opened_at >= self._cool_down:
            self.state = BreakerState.HALF_OPEN
        if self.state is BreakerState.CLOSED:
            return True
        if self.state is BreakerState.HALF_OPEN and not self._trial_running:
            self._trial_running = True
            return True
        return False

    def succeeded(self) -> None:
        if self.state is not BreakerState.CLOSED:
            logger.info("NLU service answers again; calling it again")
        self.state, self._failures, self._trial_running = BreakerState.CLOSED, 0, False

    def failed(self) -> None:
        self._failures += 1
        if self.state is BreakerState.HALF_OPEN or (
            self.state is BreakerState.CLOSED and self._failures >= self._threshold
        ):
            logger.warning("NLU service failing; not calling it for %.0f s", self._cool_down)
            self.state, self._opened_at = BreakerState.OPEN, self._clock()
        self._trial_running = False

    def abandoned(self) -> None:
        """A call ended without an answer either way (cancelled): let another caller try."""
        self._trial_running = False


class NluClient:
    def __init__(
        self,
        base_url: str,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout, transport=transport)
        self.breaker = breaker if breaker is not None else CircuitBreaker()
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self.errors = 0
        """Calls that failed or were refused by the open breaker (for the metrics)."""

    async def parse(self, text: str) -> Parse:
        async with self._in_flight:
            if not self.breaker.allow():
                self.errors += 1
                raise NluUnavailable("the NLU service is failing; not called for now")
            reported = False
            try:
                parse = await self._call(text)
                self.breaker.succeeded()
                reported = True
                return parse
            except NluUnavailable:
                self.errors += 1
                self.breaker.failed()
                reported = True
                raise
            finally:
                if not reported:
                    self.breaker.abandoned()

    async def _call(self, text: str) -> Parse:
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
