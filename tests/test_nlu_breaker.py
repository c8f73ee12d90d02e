"""A stalled NLU service: after a few timeouts the bot stops waiting for it, and tries again after a cool-down.

The service here is a real HTTP server on loopback that either answers like Rasa or holds every request open.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from bot.understanding.nlu_client import BreakerState, CircuitBreaker, NluClient, NluUnavailable
from bot.understanding.understander import Understander
from safety.risk import RiskLevel, SafetyNet

TIMEOUT = 0.2


class FakeRasa:
    """Answers `/model/parse` like Rasa, or, while stalled, holds each request until released."""

    def __init__(self) -> None:
        self.requests = 0
        self.stalled = threading.Event()
        self._release = threading.Event()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                text = json.loads(self.rfile.read(length))["text"]
                service.requests += 1
                if service.stalled.is_set():
                    service._release.wait(5.0)
                    return
                intent = {"name": "visit", "confidence": 0.9}
                body = json.dumps({"text": text, "intent": intent, "intent_ranking": [intent]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def rasa() -> Iterator[FakeRasa]:
    service = FakeRasa()
    yield service
    service.stop()


def client(rasa: FakeRasa, clock: Clock) -> NluClient:
    return NluClient(rasa.url, TIMEOUT, breaker=CircuitBreaker(failures=2, cool_down=30.0, clock=clock))


async def test_after_repeated_timeouts_the_stalled_service_is_not_called_at_all(rasa: FakeRasa) -> None:
    nlu = client(rasa, Clock())
    try:
        rasa.stalled.set()
        for _ in range(2):
            with pytest.raises(NluUnavailable):
                await nlu.parse("hoe regel ik een bezoek")
        assert nlu.breaker.state is BreakerState.OPEN
        for _ in range(5):
            with pytest.raises(NluUnavailable):
                await nlu.parse("hoe regel ik een bezoek")
        assert rasa.requests == 2
    finally:
        await nlu.aclose()


async def test_after_the_cool_down_one_trial_call_closes_the_breaker_again(rasa: FakeRasa) -> None:
    clock = Clock()
    nlu = client(rasa, clock)
    try:
        rasa.stalled.set()
        for _ in range(2):
            with pytest.raises(NluUnavailable):
                await nlu.parse("hallo")
        rasa.stalled.clear()
        with pytest.raises(NluUnavailable):
            await nlu.parse("hallo")  # still cooling down, though the service is back
        clock.now += 31
        parse = await nlu.parse("hoe regel ik een bezoek")
        assert parse.intent == "visit"
        assert nlu.breaker.state is BreakerState.CLOSED
        assert rasa.requests == 3
    finally:
        await nlu.aclose()


async def test_a_failed_trial_call_opens_the_breaker_for_another_cool_down(rasa: FakeRasa) -> None:
    clock = Clock()
    nlu = client(rasa, clock)
    try:
        rasa.stalled.set()
        for _ in range(2):
            with pytest.raises(NluUnavailable):
                await nlu.parse("hallo")
        clock.now += 31
        with pytest.raises(NluUnavailable):
            await nlu.parse("hallo")  # the trial call: the service still stalls
        assert rasa.requests == 3
        with pytest.raises(NluUnavailable):
            await nlu.parse("hallo")
        assert rasa.requests == 3
        assert nlu.breaker.state is BreakerState.OPEN
    finally:
        await nlu.aclose()


async def test_only_one_trial_call_goes_out_while_others_fail_at_once(rasa: FakeRasa) -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=1, cool_down=30.0, clock=clock)
    nlu = NluClient(rasa.url, TIMEOUT, breaker=breaker)
    try:
        rasa.stalled.set()
        with pytest.raises(NluUnavailable):
            await nlu.parse("hallo")
        clock.now += 31
        assert breaker.allow()  # someone's trial call is on its way
        with pytest.raises(NluUnavailable):
            await nlu.parse("hallo")
        assert rasa.requests == 1
        breaker.succeeded()
        assert breaker.state is BreakerState.CLOSED
    finally:
        await nlu.aclose()


async def test_with_the_breaker_open_a_crisis_is_still_recognised(rasa: FakeRasa, safety_net: SafetyNet) -> None:
    nlu = client(rasa, Clock())
    try:
        rasa.stalled.set()
        understander = Understander(safety_net, nlu, 0.45, 0.5)
        for _ in range(2):
            await understander.understand("hoe regel ik een bezoek")
        understanding = await understander.understand("ik wil niet meer leven")
        assert understanding.risk is RiskLevel.ACUTE
        assert not understanding.nlu_available
        assert rasa.requests == 2
    finally:
        await nlu.aclose()
