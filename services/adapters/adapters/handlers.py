"""The two ways a platform's payload comes in, and what happens to it (O8).

- HTTP webhook ``POST /webhooks/<platform>``: the signature is checked on the raw bytes
  before anything is parsed (bad: 401, nothing stored or published); the payload is mapped
  and the resulting messages are published to ``<ns>.upstream``, persistent and confirmed,
  before the answer 202. A broker that does not confirm is a 503: the platform retries.
- Queue ``<ns>.adapters.<platform>`` bound ``platform.<platform>.#`` on ``<ns>.upstream``,
  for systems that publish the platform's payload to the broker (the broker's credentials
  authenticate them); the routing key's tail names the topic (``platform.shopify.orders.create``).

A payload that cannot be mapped is dead-lettered with the failing platform fields and the
raw body, on both routes, to ``<ns>.adapters.dead-letter`` with the original exchange and
routing key of the broker route: ``omsctl dlq replay --service adapters`` sends it through
the adapter again once the mapping (or the settings) is fixed. The webhook answers 202 even
then: the payload is kept, and a 4xx would only make the platform retry the same bytes
(Shopify deletes a subscription that keeps failing). The answer's body lists the errors.

A payload that is not an order (customer_topics.py) is never kept as it came, on either
route: a customer topic is acknowledged and ignored, a customer deletion and a compliance
topic travel on as their ids only, and the dead letter of one that cannot be read, or of a
topic no adapter maps, keeps its ids only (``kept_body``), never a name, email, phone or
address. Whatever is acknowledged and ignored is counted in ``oms_adapters_ignored_total``.

A body that cannot be read at all is checked before any parser sees it (plumbing.bodies):
larger than ``OMS_ADAPTERS_MAX_BODY_BYTES`` is 413 (not read past the limit, so not kept);
not JSON, or nested deeper than ``OMS_MAX_BODY_DEPTH``, is dead-lettered as ``malformed``
and answered 400 with the dead letter's id. Never a 500, never a payload lost once read.

Publishing directly (not through an outbox) is safe here: the adapter keeps no state, and
every message id is derived from the platform's ids, so a retried webhook or redelivered
message publishes the same ids and order-sync's inbox and order-key dedup absorb them.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from aio_pika import IncomingMessage
from faststream.asgi import AsgiResponse, Request, post
from faststream.rabbit import RabbitExchange, RabbitRouter
from faststream.rabbit.annotations import RabbitMessage
from prometheus_client import Counter

from contracts.envelope import Envelope
from plumbing import dead_letters as dl
from plumbing.bodies import DEFAULT_MAX_DEPTH
from plumbing.client import OmsClientPool, publish_upstream
from plumbing.dead_letters import MalformedMessage
from plumbing.errors import Rejected
from plumbing.messaging import dead_letter_exchange, original_route, upstream_exchange, work_queue
from plumbing.retries import ensure_confirmed
from plumbing.runtime import Injected, Runtime, ServiceRuntime

from . import (
    amazon,
    bigcommerce,
    bigcommerce_client,
    commercetools,
    customer_topics,
    ebay,
    magento,
    marketplace,
    medusa,
    privacy,
    rules,
    saleor,
    shopify,
    shopware,
    woocommerce,
)
from .bigcommerce_client import BigCommerceOrders, FetchFailed
from .mapping import Ignored, Mapper, MappingError, PrivacyRequested
from .rules import UnreadablePayload
from .settings import PLATFORMS, AdapterSettings
from .signatures import Verifier

log = logging.getLogger("oms.adapters")

SERVICE = "adapters"


@dataclass(frozen=True)
class Platform:
    name: str
    map_event: Mapper
    #: The HTTP header that names the event; None when the body says (commercetools).
    topic_header: str | None
    topic_from_routing: Callable[[str], str]
    routing_from_topic: Callable[[str], str]
    #: A platform's test delivery, answered 200 before any signature check and never kept
    #: (WooCommerce's unsigned ``webhook_id=NN`` ping when a webhook is created).
    is_ping: Callable[[bytes], bool] | None = None
    #: Reads what a thin webhook names before mapping (BigCommerce): ``(state, topic, body)
    #: -> (topic, body to map)``; raises ``FetchFailed``.
    prepare: Callable[[Adapters, str, bytes], Awaitable[tuple[str, bytes]]] | None = None
    #: Has a webhook route. Marketplaces push no order bodies (eBay, Amazon): a poller or
    #: relay publishes their Order objects to the platform's queue, the only way in.
    webhook: bool = True


async def _bigcommerce_prepare(state: Adapters, topic: str, body: bytes) -> tuple[str, bytes]:
    return await bigcommerce_client.prepare(state.bigcommerce, topic, body)


PLATFORM_ADAPTERS = {
    "shopify": Platform(
        "shopify", shopify.map_event, "x-shopify-topic", shopify.topic_from_routing, shopify.routing_from_topic
    ),
    "commercetools": Platform(
        "commercetools",
        commercetools.map_event,
        None,
        commercetools.topic_from_routing,
        commercetools.routing_from_topic,
    ),
    "saleor": Platform(
        "saleor", saleor.map_event, "saleor-event", saleor.topic_from_routing, saleor.routing_from_topic
    ),
    "medusa": Platform(
        "medusa", medusa.map_event, "x-medusa-event", medusa.topic_from_routing, medusa.routing_from_topic
    ),
    "woocommerce": Platform(
        "woocommerce",
        woocommerce.map_event,
        "x-wc-webhook-topic",
        woocommerce.topic_from_routing,
        woocommerce.routing_from_topic,
        is_ping=woocommerce.is_ping,
    ),
    # No topic header: the body's ``scope`` names the event (and the order to read).
    "bigcommerce": Platform(
        "bigcommerce",
        bigcommerce.map_event,
        None,
        bigcommerce.topic_from_routing,
        bigcommerce.routing_from_topic,
        prepare=_bigcommerce_prepare,
    ),
    # The forwarding module or relay may name the event in a header; the body's name wins.
    "magento": Platform(
        "magento", magento.map_event, "x-magento-event", magento.topic_from_routing, magento.routing_from_topic
    ),
    # No topic header: the body's ``data.event`` names the event.
    "shopware": Platform(
        "shopware", shopware.map_event, None, shopware.topic_from_routing, shopware.routing_from_topic
    ),
    # Polled marketplaces: the routing key names the topic (platform.ebay.order).
    "ebay": Platform("ebay", ebay.map_event, None, ebay.topic_from_routing, ebay.routing_from_topic, webhook=False),
    "amazon": Platform(
        "amazon", amazon.map_event, None, amazon.topic_from_routing, amazon.routing_from_topic, webhook=False
    ),
}
assert tuple(PLATFORM_ADAPTERS) == PLATFORMS


@dataclass
class Adapters:
    """What the adapters' handlers and webhooks use, built once by ``app.py``."""

    settings: AdapterSettings
    verifier: Verifier
    #: Request/reply to the other services, for privacy requests (C18); started at startup.
    clients: OmsClientPool
    #: ``oms_adapters_ignored_total{platform, kind}``: payloads acknowledged and ignored.
    ignored: Counter
    #: BigCommerce's V2 Orders API (thin webhooks are read through it); None: not configured.
    bigcommerce: BigCommerceOrders | None = None

    def count_ignored(self, platform: str, exc: Ignored) -> None:
        self.ignored.labels(platform, exc.kind).inc()

    async def start(self) -> None:
        await self.clients.start()

    async def close(self) -> None:
        await self.clients.close()
        close = getattr(self.bigcommerce, "close", None)
        if close is not None:
            await close()


#: The broker consumers declare ``state: AdaptersOf``.
AdaptersOf = Annotated[Adapters, Injected("adapters")]


def ignored_counter(runtime: ServiceRuntime) -> Counter:
    return Counter(
        "oms_adapters_ignored",
        "Platform payloads acknowledged and ignored (customer topics, test orders, pings, "
        "unshipped fulfillments...), per platform and kind: nothing of them is kept.",
        ["platform", "kind"],
        registry=runtime.registry,
    )


def routing_key(platform: Platform, topic: str) -> str:
    return f"platform.{platform.name}.{platform.routing_from_topic(topic)}"


def translate(
    settings: AdapterSettings, platform: Platform, topic: str, body: bytes, *, max_depth: int = DEFAULT_MAX_DEPTH
) -> list[Envelope[Any]]:
    """Raw body -> our messages; ``MappingError`` names the platform field that failed,
    ``UnreadablePayload`` a body no parser should be handed (checked before parsing)."""
    if platform.is_ping is not None and platform.is_ping(body):
        raise Ignored(f"{platform.name} ping (test delivery)")
    payload = rules.read_payload(body, max_bytes=settings.max_body_bytes, max_depth=max_depth)
    return rules.map_payload(platform.name, platform.map_event, topic, payload, settings.platform(platform.name))


async def publish(runtime: ServiceRuntime, messages: list[Envelope[Any]]) -> None:
    """To ``<ns>.upstream`` as a storefront publishes: persistent, mandatory, confirmed."""
    for message in messages:
        await publish_upstream(runtime.broker, runtime.settings.topology, message)


def is_personal_topic(platform: str, topic: str) -> bool:
    """A topic whose body is about a person, not an order, by its name alone."""
    return (platform == shopify.PLATFORM and topic in shopify.PRIVACY_KINDS) or customer_topics.is_customer_topic(
        platform, topic
    )


def kept_body(platform: str, topic: str, body: bytes, exc: MappingError | None = None) -> bytes:
    """What a dead letter keeps of a payload that could not be mapped: the bytes as sent,
    except for a payload that is not an order (a compliance or customer topic, an unsupported
    topic, named by the topic or found so by the mapper): its ids only (C18); and a Magento
    body never keeps card data (``magento.without_card_data``: its order's payment carries
    ``cc_last4``, ``cc_exp_*``...), nor a marketplace's (``marketplace.without_card_data``)."""
    if platform == shopify.PLATFORM and topic in shopify.PRIVACY_KINDS:
        return shopify.privacy_dead_letter_body(body)  # the same shape: replayable once fixed
    kept = body
    if isinstance(exc, customer_topics.NotAnOrder) or is_personal_topic(platform, topic):
        kept = customer_topics.id_skeleton(body, platform)
    if platform == magento.PLATFORM:
        return magento.without_card_data(kept)
    if platform in (ebay.PLATFORM, amazon.PLATFORM):
        return marketplace.without_card_data(kept)
    return kept


def redact_dead_letter(routing_key: str, body: bytes) -> bytes:
    """Plumbing's last word on what a broker-route dead letter keeps (whatever failed: retries
    exhausted, a body that cannot be read): a personal topic's ids only."""
    _, _, tail = routing_key.partition("platform.")
    name, _, rest = tail.partition(".")
    platform = PLATFORM_ADAPTERS.get(name)
    if platform is None or not routing_key.startswith("platform."):
        return body
    return kept_body(name, platform.topic_from_routing(rest), body)


async def dead_letter_webhook(
    runtime: ServiceRuntime, platform: Platform, topic: str, body: bytes, error: MappingError, *, route: str = "http"
) -> str:
    """Keep an unmappable (or unreadable: malformed) body, replayable through the broker
    route. Confirmed. The broker route uses it for what must not be kept as it came
    (``kept_body``); plumbing's dead letters keep the rest."""
    topology = runtime.settings.topology
    queue = topology.queue(SERVICE, platform.name)
    origin = rules.Origin(topology.upstream_exchange, routing_key(platform, topic), queue)
    headers = rules.dead_letter_headers(SERVICE, error, route, origin, datetime.now(UTC))
    letter_id = rules.dead_letter_id(platform.name, route, topic, body)
    what = f"dead letter {letter_id}"
    await _publish_kept(runtime, body, dead_letter_exchange(topology), queue, letter_id, what=what, headers=headers)
    log.warning("dead-lettered a %s webhook (%s): %s", platform.name, topic, headers[dl.ERROR][:300])
    return letter_id


async def _publish_kept(
    runtime: ServiceRuntime,
    body: bytes,
    exchange: RabbitExchange,
    key: str,
    message_id: str,
    *,
    what: str,
    headers: dict[str, Any] | None = None,
) -> None:
    """A payload kept for later (a dead letter, a privacy request's ids): persistent,
    mandatory and confirmed, or an exception naming ``what``."""
    result = await runtime.broker.publish(
        body,
        exchange=exchange,
        routing_key=key,
        headers=headers,
        message_id=message_id,
        content_type="application/json",
        persist=True,
        mandatory=True,
    )
    ensure_confirmed(result, what)


def _json(status: int, body: dict[str, Any]) -> AsgiResponse:
    return AsgiResponse(json.dumps(body).encode(), status, headers={"content-type": "application/json"})


async def _read_body(request: Any, limit: int) -> bytes | None:
    """The raw bytes, or None past ``limit`` (checked while reading, not only on Content-Length)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def webhook(runtime: ServiceRuntime, state: Adapters, platform: Platform) -> Any:
    """``POST /webhooks/<platform>``."""

    @post(include_in_schema=False, description=f"{platform.name} webhooks (O8)")
    async def receive(scope: Any, request: Request) -> AsgiResponse:
        received = await _admitted(state, platform, request)
        if isinstance(received, AsgiResponse):
            return received
        topic = request.headers.get(platform.topic_header, "") if platform.topic_header else ""
        return await _take_webhook(runtime, state, platform, topic, received)

    return receive


async def _admitted(state: Adapters, platform: Platform, request: Request) -> bytes | AsgiResponse:
    """The signed bytes as the platform sent them, or the answer: 413 past the size limit,
    200 to a ping, 401 to a signature missing or wrong."""
    body = await _read_body(request, state.settings.max_body_bytes)
    if body is None:
        return _json(413, {"error": "body too large"})
    if platform.is_ping is not None and platform.is_ping(body):
        # Unsigned by the platform itself; nothing in it is read, kept or published.
        log.info("%s webhook ping acknowledged", platform.name)
        return _json(200, {"status": "ignored", "reason": "ping"})
    # Signature first, on the raw bytes: nothing is parsed or kept for a stranger.
    if not await asyncio.to_thread(state.verifier.verify, platform.name, body, request.headers):
        log.warning("%s webhook refused: signature missing or wrong", platform.name)
        return _json(401, {"error": "invalid signature"})
    return body


async def _take_webhook(
    runtime: ServiceRuntime, state: Adapters, platform: Platform, topic: str, received: bytes
) -> AsgiResponse:
    """Signed bytes: what a thin webhook names read first (503 or kept when it cannot be),
    then mapped and answered."""
    try:
        topic, body = await _prepared(state, platform, topic, received)
    except FetchFailed as exc:
        return await _fetch_failed(runtime, platform, exc.topic or topic, received, exc)
    return await _map_webhook(runtime, state, platform, topic, body, received)


async def _prepared(state: Adapters, platform: Platform, topic: str, body: bytes) -> tuple[str, bytes]:
    """The topic and the body to map: what a thin webhook names read first (``FetchFailed``)."""
    if platform.prepare is None:
        return topic, body
    return await platform.prepare(state, topic, body)


async def _map_webhook(
    runtime: ServiceRuntime, state: Adapters, platform: Platform, topic: str, body: bytes, received: bytes
) -> AsgiResponse:
    """Published (202), ignored (200), a privacy request (200) or kept (202; 400 unreadable).
    ``received`` is what a dead letter keeps: the bytes the platform sent (see kept_body)."""
    try:
        messages = translate(state.settings, platform, topic, body, max_depth=runtime.settings.max_body_depth)
    except Ignored as exc:
        _acknowledge(state, platform, "webhook", topic, exc)
        return _json(200, {"status": "ignored", "reason": exc.reason})
    except PrivacyRequested as exc:
        return await _privacy_webhook(runtime, platform, topic, exc.request, received)
    except MappingError as exc:
        return await _dead_letter_answer(runtime, platform, topic, kept_body(platform.name, topic, received, exc), exc)
    return await _published_answer(runtime, platform, messages)


def _acknowledge(state: Adapters, platform: Platform, route: str, topic: str, exc: Ignored) -> None:
    """Nothing of it is for us: counted and logged, nothing published or kept."""
    state.count_ignored(platform.name, exc)
    log.info("%s %s (%s) acknowledged and ignored: %s", platform.name, route, topic, exc.reason)


async def _published_answer(runtime: ServiceRuntime, platform: Platform, messages: list[Envelope[Any]]) -> AsgiResponse:
    """202 with the messages once RabbitMQ confirmed them all; 503 otherwise."""
    try:
        await publish(runtime, messages)
    except Exception:  # noqa: BLE001 - not confirmed: the platform retries, ids are stable
        log.exception("could not publish a %s webhook's messages", platform.name)
        return _json(503, {"error": "could not publish; retry"})
    return _json(202, rules.accepted(messages))


async def _fetch_failed(
    runtime: ServiceRuntime, platform: Platform, topic: str, body: bytes, exc: FetchFailed
) -> AsgiResponse:
    """A thin webhook whose order could not be read. Transient (timeout, 429, 5xx): 503, the
    platform sends it again (BigCommerce retries with back-off). Otherwise (404, a refused
    token, no API account): the webhook is kept as a dead letter naming the reason, replayed
    (and read again) by ``omsctl dlq replay`` once fixed; 202, as for a payload not mappable."""
    if exc.transient:
        log.warning(
            "%s webhook (%s): the order could not be read, asking for a retry: %s", platform.name, topic, exc.reason
        )
        return _json(503, {"error": "could not read the order; retry"})
    return await _dead_letter_answer(runtime, platform, topic, body, rules.order_not_read(exc.reason))


async def _dead_letter_answer(
    runtime: ServiceRuntime, platform: Platform, topic: str, kept: bytes, error: MappingError
) -> AsgiResponse:
    """A webhook's payload kept as a dead letter (answered 202, or 400 for unreadable bytes);
    503 when it could not be kept."""
    try:
        letter = await dead_letter_webhook(runtime, platform, topic, kept, error)
    except Exception:  # noqa: BLE001 - not kept: the platform must send it again
        log.exception("could not dead-letter a %s webhook", platform.name)
        return _json(503, {"error": "could not keep the payload; retry"})
    # Kept either way. Unreadable bytes are the sender's fault (400); a payload we
    # cannot map yet is ours to fix, and answered 202 (see the module's docstring).
    return _json(*rules.dead_lettered(letter, error))


def privacy_body(platform: str, topic: str, request: dict[str, Any], body: bytes) -> bytes:
    """A privacy request as it travels on and is kept: its ids only, in a shape that maps
    again to the same request (Shopify's compliance body rebuilt, any other the ids of the
    body as it came)."""
    if platform == shopify.PLATFORM and topic in shopify.PRIVACY_KINDS:
        return json.dumps(shopify.redacted_body(request)).encode()
    return customer_topics.id_skeleton(body, platform)


async def queue_privacy_request(runtime: ServiceRuntime, platform: Platform, topic: str, body: bytes) -> None:
    """To the adapters' own queue (the broker route), persistent and confirmed."""
    exchange, key = upstream_exchange(runtime.settings.topology), routing_key(platform, topic)
    what = f"{platform.name} {topic} privacy request"
    await _publish_kept(runtime, body, exchange, key, rules.privacy_request_id(platform.name, body), what=what)


async def _privacy_webhook(
    runtime: ServiceRuntime, platform: Platform, topic: str, request: dict[str, Any], received: bytes
) -> AsgiResponse:
    """A compliance webhook or a customer deletion: its ids only (no name, email or phone) go
    to the adapters' own queue, confirmed, then 200 as the platform requires; the queue's
    consumer acts (privacy.py)."""
    topic = rules.privacy_topic(topic, request)
    try:
        await queue_privacy_request(runtime, platform, topic, privacy_body(platform.name, topic, request, received))
    except Exception:  # noqa: BLE001 - not kept: the platform must send it again
        log.exception("could not queue a %s %s privacy request", platform.name, topic)
        return _json(503, {"error": "could not keep the request; retry"})
    log.info("%s %s privacy request queued (customer %s)", platform.name, topic, request.get("source_customer_id"))
    return _json(200, {"status": "accepted", "privacy_request": request["kind"]})


def consumer(platform: Platform) -> Callable[..., Any]:
    async def from_broker(body: Any, message: RabbitMessage, runtime: Runtime, state: AdaptersOf) -> None:
        topic, payload = await _read_message(state, platform, message.raw_message)
        await _map_message(runtime, state, platform, topic, payload)

    from_broker.__name__ = f"{platform.name}_from_broker"
    from_broker.__doc__ = f"O8: {platform.name} payloads published to the broker, mapped to our order contract."
    return from_broker


async def _read_message(state: Adapters, platform: Platform, raw: IncomingMessage) -> tuple[str, bytes]:
    """The topic (the routing key's tail) and the body to map, what a thin message names read
    first: a read that may succeed later is retried, one that will not is rejected."""
    _, key = original_route(raw)
    topic = platform.topic_from_routing(rules.routing_tail(platform.name, key))
    try:
        return await _prepared(state, platform, topic, raw.body)
    except FetchFailed as exc:
        if exc.transient:
            raise  # retried with back-off, then dead-lettered
        raise Rejected.invalid_fields(rules.order_not_read(exc.reason).fields) from None


async def _map_message(runtime: ServiceRuntime, state: Adapters, platform: Platform, topic: str, body: bytes) -> None:
    """Published, acknowledged and ignored, a privacy request acted on, or dead-lettered."""
    try:
        messages = translate(state.settings, platform, topic, body, max_depth=runtime.settings.max_body_depth)
    except Ignored as exc:
        _acknowledge(state, platform, "message", topic, exc)
    except PrivacyRequested as exc:
        await _privacy_message(runtime, state, platform, topic, exc.request, body)
    except MappingError as exc:
        await _unmapped_message(runtime, platform, topic, body, exc)
    else:
        await publish(runtime, messages)


async def _privacy_message(
    runtime: ServiceRuntime, state: Adapters, platform: Platform, topic: str, request: dict[str, Any], body: bytes
) -> None:
    """A privacy request on the queue: acted on (privacy.py) when it holds its ids only."""
    redacted = privacy_body(platform.name, topic, request, body)
    if redacted == body:
        await privacy.handle(state.clients, request)
    else:
        # As sent, with the person's data in it: only its ids are retried and kept.
        await queue_privacy_request(runtime, platform, rules.privacy_topic(topic, request), redacted)


async def _unmapped_message(
    runtime: ServiceRuntime, platform: Platform, topic: str, body: bytes, exc: MappingError
) -> None:
    """Dead-lettered: by plumbing as it came (unreadable: malformed at once; otherwise rejected
    with its fields), except a payload that is not an order, kept here as its ids only.
    Called while ``exc`` is handled: plumbing's exceptions keep no context of it."""
    kept = kept_body(platform.name, topic, body, exc)
    if kept != body:
        # Not an order: its ids only are kept (plumbing's dead letter would keep it all).
        await dead_letter_webhook(runtime, platform, topic, kept, exc, route="broker")
    elif isinstance(exc, UnreadablePayload):
        raise MalformedMessage(str(exc), exc.fields) from None  # dead-lettered at once as malformed
    else:
        raise Rejected.invalid_fields(exc.fields) from None  # dead-lettered with its fields


def build_routers(runtime: ServiceRuntime) -> list[RabbitRouter]:
    # One router per subscriber: a router keeps its subscribers in a set, and the AsyncAPI
    # document lists them in that set's order, which varies from process to process.
    routers = []
    settings = runtime.settings
    for platform in PLATFORM_ADAPTERS.values():
        router = RabbitRouter()
        routers.append(router)
        router.subscriber(
            work_queue(
                settings.topology,
                SERVICE,
                platform.name,
                binding=f"platform.{platform.name}.#",
                max_attempts=settings.max_attempts,
            ),
            upstream_exchange(settings.topology),
            title=f"{SERVICE}.{platform.name}",
            description=f"{platform.name}'s own order payloads (routing key platform.{platform.name}.<topic>).",
        )(consumer(platform))
    return routers
