"""One way to wire a service: broker, MongoDB, dead letters, ping, health, readiness, metrics.

Nothing connects at import time: ``create_service_app`` builds objects, and the app's
startup hooks open the MongoDB client and the broker connection.

Shutdown (SIGTERM, P5), within ``settings.shutdown_deadline_seconds``:
1. in-place retries stop; ordered partitions are released (cancel, finish what was
   delivered, give the lease back);
2. the broker stops consuming and waits for in-flight handlers (up to 60% of the
   deadline); messages prefetched but not started go back to their queues unacknowledged;
3. the outbox relay publishes what is pending (up to 30%), then MongoDB closes.
With ``OMS_SHUTDOWN_HARD_EXIT=true`` (the container image) a process still alive at the
deadline exits anyway: anything unacknowledged is redelivered, nothing is lost.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import threading
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from faststream.asgi import AsgiFastStream, AsgiResponse, get
from faststream.rabbit import Channel, RabbitRouter
from faststream.rabbit.opentelemetry import RabbitTelemetryMiddleware
from faststream.rabbit.prometheus import RabbitPrometheusMiddleware
from faststream.specification import AsyncAPI
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pymongo import AsyncMongoClient
from typing_extensions import TypeVar

from contracts.replies import Reply
from contracts.service import Ping, Pong, PongReply

from . import unit_of_work
from .amqp import ClusterRabbitBroker
from .bodies import guarded_decoder
from .dead_letters import DeadLetters
from .logs import keep_payloads_out_of_logs
from .messaging import (
    commands_exchange,
    commands_queue,
    declare_dead_letter_queue,
    events_exchange,
    replace_classic_retry_tiers,
    retry_exchange,
    retry_tiers,
    routed_as,
    upstream_exchange,
)
from .metrics import PlatformMetrics
from .outbox import OutboxRelay
from .replies import ReplyConnection, replies_through
from .retries import Backoff
from .runtime import Runtime, ServiceRuntime
from .settings import ServiceSettings
from .telemetry import configure_tracing

log = logging.getLogger("oms.service")

VERSION = "0.1.0"

#: For the functions that build a runtime (``SettingsT`` is covariant: it cannot be a parameter).
S = TypeVar("S", bound=ServiceSettings)


async def ping(cmd: Ping, runtime: Runtime) -> PongReply:
    """Answer ``<service>.ping.v1`` with the state of this instance's connections."""
    database, broker = await asyncio.gather(runtime.database_ok(), runtime.broker_ok())
    return Reply[Pong].success(
        Pong(
            service=runtime.name,
            instance=runtime.instance,
            version=VERSION,
            database=database,
            broker=broker,
        )
    )


#: Allocations between two young-generation collections (CPython's default: 700).
GC_YOUNG_THRESHOLD = 50_000


def settle_garbage_collection() -> None:
    """Once started: what the imports and the startup made lives as long as the process, so
    it leaves the collector's view (``gc.freeze``), and the young generation is collected
    every 50,000 allocations instead of 700. A consumer allocates many short-lived objects
    per message, nearly all freed by reference counting; collecting that often cost
    order-sync about a tenth of its CPU in the order benchmark, for no memory it could give
    back (RSS under load 80 -> 87 MB with the change)."""
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def build_runtime(name: str, settings: S, *, description: str = "") -> tuple[ServiceRuntime[S], ReplyConnection]:
    """The runtime every service shares, nothing connected: the broker with its middlewares
    (tracing, metrics, dead letters, replies), its command queue answering ping, and the
    reply connection the app starts. (Tests build one to drive plumbing on its own.)"""
    tracing = configure_tracing(name) is not None
    topology = settings.topology
    registry = CollectorRegistry()
    dead_letters = DeadLetters(
        service=name,
        dead_letter_exchange=topology.dead_letter_exchange,
        max_attempts=settings.max_attempts,
        backoff=Backoff(settings.retry_delays_seconds, settings.retry_jitter),
        topology=topology,
    )
    deadline = settings.shutdown_deadline_seconds
    replies = ReplyConnection(settings.amqp_url, name)
    dead_letters.replies = replies
    # Every node of OMS_AMQP_URL: a lost node's connection moves to the next (plumbing.amqp).
    broker = ClusterRabbitBroker(
        settings.amqp_url,
        app_id=name,
        # The access log's lines at DEBUG are below the logger's INFO: off unless asked for. (The
        # CLI's --log-level sets the level these lines are written at, so it turns them on.)
        log_level=logging.INFO if settings.access_log else logging.DEBUG,
        # At most this many messages in flight per consumer; FastStream handles them concurrently.
        default_channel=Channel(prefetch_count=settings.prefetch_count),
        # Too large or too deep a body is refused before JSON parsing (malformed, never retried).
        decoder=guarded_decoder(max_bytes=settings.max_body_bytes, max_depth=settings.max_body_depth),
        middlewares=[
            *([RabbitTelemetryMiddleware()] if tracing else []),
            RabbitPrometheusMiddleware(registry=registry, app_name=name),
            dead_letters,
            replies_through(replies),  # innermost: a reply goes out on its own connection
        ],
        # In-flight handlers get this long to finish at shutdown; the outbox flush the rest.
        graceful_timeout=deadline * 0.6,
        description=description,
    )
    dead_letters.bind(broker)
    platform_metrics = PlatformMetrics(registry, name)
    commands = broker.subscriber(
        commands_queue(topology, name, max_attempts=settings.max_attempts),
        commands_exchange(topology),
        title=f"{name}.commands",
        description=f"Commands to the {name} service, answered over request/reply.",
    )
    commands(filter=routed_as(Ping.routing_key_for(name)))(ping)
    runtime = ServiceRuntime(
        name=name,
        settings=settings,
        broker=broker,
        registry=registry,
        dead_letters=dead_letters,
        metrics=platform_metrics,
        commands=commands,
    )
    return runtime, replies


def create_service_app(
    name: str,
    settings: S,
    build_routers: Callable[[ServiceRuntime[S]], Sequence[RabbitRouter]],
    *,
    on_startup: Sequence[Callable[[ServiceRuntime[S]], Awaitable[None]]] = (),
    on_shutdown: Sequence[Callable[[ServiceRuntime[S]], Awaitable[None]]] = (),
    dependencies: Callable[[ServiceRuntime[S]], Mapping[str, object]] | None = None,
    description: str = "",
) -> AsgiFastStream:
    """Build the service's FastStream app. ``build_routers`` registers its handlers;
    ``dependencies`` builds, once, what they declare besides the runtime (``Injected`` by
    name: clients, renderers, batchers), started by the service's ``on_startup`` hooks."""
    keep_payloads_out_of_logs()
    runtime, replies = build_runtime(name, settings, description=description)
    broker, topology, deadline = runtime.broker, settings.topology, settings.shutdown_deadline_seconds
    platform_metrics = runtime.metrics
    dead_letters = runtime.dead_letters
    # Retry tiers: queues nobody consumes, declared (and bound) like any subscriber's.
    for tier in retry_tiers(topology, name):
        broker.subscriber(tier, retry_exchange(topology, name), include_in_schema=False)
    for router in build_routers(runtime):
        broker.include_router(router)

    async def connect() -> None:
        for tier in await replace_classic_retry_tiers(settings.amqp_url, topology, name):
            log.warning("%s: retry tier %s of an earlier version (a classic queue) replaced", name, tier)
        # A seed list finds the replica set's primary; a write or read that meets a failover is
        # retried once on the new primary (PyMongo's defaults, kept on whatever the URL says),
        # and transactions are retried whole by with_transaction (plumbing.unit_of_work).
        mongo: AsyncMongoClient[Any] = AsyncMongoClient(
            settings.mongodb_url, appname=name, tz_aware=True, retryWrites=True, retryReads=True
        )
        runtime.mongo = mongo
        await mongo.admin.command("ping")
        # Declared before any subscriber consumes, so the first bad message has somewhere to go.
        await broker.connect()
        await replies.start()
        for exchange in (commands_exchange, events_exchange, upstream_exchange):
            await broker.declare_exchange(exchange(topology))
        await declare_dead_letter_queue(broker, topology, name)
        await unit_of_work.ensure_indexes(runtime.db)
        for subscription in runtime.ordered:
            await subscription.declare(broker)
            await subscription.balancer.first_claim()
        for hook in on_startup:
            await hook(runtime)

    async def start_background() -> None:
        relay = OutboxRelay(
            runtime.db,
            settings.amqp_url,
            holder=runtime.instance,
            lease_seconds=settings.outbox_lease_seconds,
            on_published=platform_metrics.outbox_published.inc,
        )
        runtime.outbox = relay
        await relay.start()
        for subscription in runtime.ordered:
            subscription.balancer.start()
        runtime.consuming = True
        settle_garbage_collection()

    async def begin_shutdown() -> None:
        runtime.consuming = False
        if settings.shutdown_hard_exit:
            _arm_deadline(deadline, name)
        dead_letters.stopping = True
        await asyncio.gather(*(s.balancer.stop() for s in runtime.ordered))

    async def flush_outbox() -> None:
        if runtime.outbox_running:
            await runtime.outbox.stop(flush_seconds=deadline * 0.3)

    async def disconnect() -> None:
        for hook in on_shutdown:
            await hook(runtime)
        await replies.close()
        await runtime.close_mongo()

    @get(include_in_schema=False)
    async def health(scope: Any) -> AsgiResponse:
        """Liveness: the process answers."""
        return AsgiResponse(b"ok", 200)

    @get(include_in_schema=False)
    async def ready(scope: Any) -> AsgiResponse:
        """Readiness: every queue is consumed, and the broker and the database answer.
        (uvicorn reports startup before FastStream's subscribers are up; shutdown clears it.)"""
        database, broker_up = await asyncio.gather(runtime.database_ok(), runtime.broker_ok())
        consuming = runtime.consuming and runtime.all_consuming()
        status = 200 if database and broker_up and consuming else 503
        body = json.dumps({"consuming": consuming, "database": database, "broker": broker_up})
        return AsgiResponse(body.encode(), status, headers={"content-type": "application/json"})

    @get(include_in_schema=False)
    async def metrics(scope: Any) -> AsgiResponse:
        """Prometheus: FastStream's message counters and handler latency, plus the outbox,
        dead-letter and retry gauges (plumbing.metrics), read now."""
        await platform_metrics.refresh(runtime)
        return AsgiResponse(generate_latest(runtime.registry), 200, headers={"content-type": CONTENT_TYPE_LATEST})

    app = AsgiFastStream(
        broker,
        asgi_routes=[("/health", health), ("/ready", ready), ("/metrics", metrics)],
        on_startup=[connect],
        after_startup=[start_background],
        # Stop taking work, let in-flight messages finish (broker.stop), then flush the outbox.
        on_shutdown=[begin_shutdown],
        after_shutdown=[flush_outbox, disconnect],
        specification=AsyncAPI(title=f"OMS {name} service", version=VERSION, description=description),
    )
    app.context.set_global("runtime", runtime)
    for dependency, value in (dependencies(runtime) if dependencies else {}).items():
        app.context.set_global(dependency, value)
    return app


def _arm_deadline(deadline: float, name: str) -> None:
    """Exit the process if shutdown is still running at the deadline (container stop)."""

    def expire() -> None:
        log.error("%s: shutdown exceeded %.0fs; exiting now (unacknowledged messages are redelivered)", name, deadline)
        logging.shutdown()
        os._exit(70)

    timer = threading.Timer(deadline, expire)
    timer.daemon = True
    timer.start()
