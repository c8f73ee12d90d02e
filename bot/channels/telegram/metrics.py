"""What `/metrics` shows, in Prometheus's text format: counts and durations only, never text, names or ids."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.channels.telegram.inbound import Inbox
from bot.channels.telegram.rate_limit import PriorityRateLimiter
from bot.channels.telegram.updates import PerChatProcessor
from bot.understanding.nlu_client import NluClient

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds from an update's arrival to the end of its handling (replies sent): mostly tens of milliseconds, seconds
# when the sends queue behind Telegram's limit.
LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class _Live(Collector):
    """Read at each scrape from the parts that keep the counts, so the hot path does no bookkeeping of its own."""

    def __init__(
        self,
        processor: PerChatProcessor,
        limiter: PriorityRateLimiter,
        nlu: NluClient | None,
        inbox: Inbox | None = None,
    ) -> None:
        self._processor, self._limiter, self._nlu, self._inbox = processor, limiter, nlu, inbox

    def collect(self) -> Iterator[Metric]:
        processor, limiter = self._processor, self._limiter
        counters = [
            ("bot_replies_sent", "Messages the bot sent", limiter.sent),
            ("bot_crisis_replies_sent", "Messages sent in the urgent lane (crisis lines)", limiter.sent_urgent),
            ("bot_telegram_retry_after", "Times Telegram asked to slow down", limiter.retries),
            ("bot_urgent_updates", "Acute messages that skipped the wait for a free slot", processor.urgent_runs),
        ]
        gauges = [
            ("bot_updates_pending", "Updates accepted and not handled yet", processor.pending),
            ("bot_chats_active", "Chats with an update waiting or running", processor.active_chats),
            ("bot_sends_waiting", "Messages waiting for Telegram's rate limit", limiter.waiting),
        ]
        if self._inbox is not None:
            inbox = self._inbox
            counters += [
                ("bot_updates_duplicate", "Updates already in the journal, not acted on again", inbox.duplicates),
                ("bot_updates_taken_over", "Updates taken over from a replica whose lease ran out", inbox.taken_over),
                ("bot_updates_in_memory", "Updates handled without the journal (database down)", inbox.in_memory),
                ("bot_replies_not_resent", "Messages of a taken-over update not sent again", inbox.not_resent),
            ]
        if self._nlu is not None:
            counters.append(("bot_nlu_errors", "NLU calls that failed or were not made", self._nlu.errors))
            state = self._nlu.breaker.state.value
            gauges.append(("bot_nlu_breaker_state", "NLU circuit breaker: 0 closed, 1 open, 2 half-open", state))
        for name, help_text, count in counters:
            yield CounterMetricFamily(name, help_text, value=count)
        for name, help_text, value in gauges:
            yield GaugeMetricFamily(name, help_text, value=value)


class Metrics:
    def __init__(
        self,
        processor: PerChatProcessor,
        limiter: PriorityRateLimiter,
        nlu: NluClient | None,
        inbox: Inbox | None = None,
    ) -> None:
        self.registry = CollectorRegistry()
        self.updates_received = Counter(
            "bot_updates_received", "Updates Telegram delivered (accepted by the webhook)", registry=self.registry
        )
        self.handled_seconds = Histogram(
            "bot_update_handled_seconds",
            "Seconds from an update's arrival to the end of its handling, replies sent",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(_Live(processor, limiter, nlu, inbox))
        processor.on_handled = self.handled_seconds.observe

    def render(self) -> bytes:
        return generate_latest(self.registry)
