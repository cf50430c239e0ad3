"""Prometheus metrics of the platform (P5), next to FastStream's own.

FastStream's ``RabbitPrometheusMiddleware`` counts messages in and out and times handlers
(``faststream_received_messages_total``, ``faststream_published_messages_total``,
``faststream_received_processed_messages_duration_seconds``, ...). These add what the
platform knows: the outbox (events not yet published, age of the oldest, events published
by this process's relay), the depth of the service's dead-letter queue and retry tiers, and
the sizes of the batches its handlers' work is gathered into (plumbing.batching).
Gauges are read when ``/metrics`` is scraped: one indexed count in MongoDB and one queue
declare per queue, each bounded by a timeout, so a scrape stays cheap and never hangs.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from .messaging import dead_letter_queue, retry_tiers

if TYPE_CHECKING:
    import aio_pika
    from faststream.rabbit import RabbitQueue

    from .runtime import ServiceRuntime

log = logging.getLogger("oms.metrics")

SCRAPE_TIMEOUT = 2.0


class PlatformMetrics:
    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        labels = {"service": service}
        self.service = service
        self.outbox_pending = Gauge(
            "oms_outbox_pending_events", "Events written but not yet published.", ["service"], registry=registry
        ).labels(**labels)
        self.outbox_lag = Gauge(
            "oms_outbox_lag_seconds", "Age of the oldest unpublished event (0: none).", ["service"], registry=registry
        ).labels(**labels)
        self.outbox_published = Counter(
            "oms_outbox_published_events",
            "Events this process's relay published (confirmed).",
            ["service"],
            registry=registry,
        ).labels(**labels)
        self.dead_letters = Gauge(
            "oms_dead_letter_messages",
            "Messages in the service's dead-letter queue.",
            ["service", "queue"],
            registry=registry,
        )
        self.retry_waiting = Gauge(
            "oms_retry_waiting_messages",
            "Failed messages waiting in a retry tier.",
            ["service", "queue"],
            registry=registry,
        )
        self.scrape_errors = Counter(
            "oms_metrics_scrape_errors",
            "Gauges that could not be read at a scrape.",
            ["service", "source"],
            registry=registry,
        )
        self.batch_sizes = Histogram(
            "oms_batch_size",
            "Items a batch gathered (what arrived together), per batch step.",
            ["service", "batch"],
            buckets=(1, 2, 4, 8, 16, 32, 64, 128),
            registry=registry,
        )
        self._channel: aio_pika.abc.AbstractChannel | None = None

    async def refresh(self, runtime: ServiceRuntime) -> None:
        await asyncio.gather(self._refresh_outbox(runtime), self._refresh_queues(runtime))

    async def _refresh_outbox(self, runtime: ServiceRuntime) -> None:
        if not (runtime.connected and runtime.outbox_running):
            return
        try:
            pending, lag = await asyncio.wait_for(
                asyncio.gather(runtime.outbox.pending(), runtime.outbox.lag_seconds()), SCRAPE_TIMEOUT
            )
        except Exception:  # noqa: BLE001 - a scrape reports what it can
            self.scrape_errors.labels(self.service, "outbox").inc()
            return
        self.outbox_pending.set(pending)
        self.outbox_lag.set(lag)

    async def _refresh_queues(self, runtime: ServiceRuntime) -> None:
        topology = runtime.settings.topology
        try:
            await asyncio.wait_for(
                self._depth(runtime, dead_letter_queue(topology, runtime.name), self.dead_letters), SCRAPE_TIMEOUT
            )
            for tier in retry_tiers(topology, runtime.name):
                await asyncio.wait_for(self._depth(runtime, tier, self.retry_waiting), SCRAPE_TIMEOUT)
        except Exception:  # noqa: BLE001
            self.scrape_errors.labels(self.service, "rabbitmq").inc()
            self._channel = None

    async def _depth(self, runtime: ServiceRuntime, spec: RabbitQueue, gauge: Gauge) -> None:
        # A declare with the queue's own arguments: quorum queues answer a passive declare
        # with a message count of 0 on RabbitMQ 3.10, an idempotent full declare correctly.
        if self._channel is None or self._channel.is_closed:
            connection = runtime.broker._connection  # noqa: SLF001 - one light channel for scrapes
            if connection is None:
                return
            self._channel = await connection.channel(publisher_confirms=False)
        queue = await self._channel.declare_queue(spec.name, durable=True, arguments=spec.arguments)
        gauge.labels(self.service, spec.name).set(queue.declaration_result.message_count or 0)
