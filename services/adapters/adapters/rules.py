"""What the adapters' routes decide, without I/O (O8): how a body is read before a mapper
sees it, what a mapper's failure becomes, what a dead letter of it holds and answers, and
the topic a message or privacy request travels by.

handlers.py reads the request or the message, calls these, and publishes or answers.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import datetime
from decimal import Decimal
from typing import Any, NamedTuple

from contracts.envelope import Envelope
from plumbing import dead_letters as dl
from plumbing.bodies import UnreadableBody, check_body

from .mapping import Ignored, Mapper, MappingError, PlatformConfig, PrivacyRequested, message_id

log = logging.getLogger("oms.adapters")

#: Marks a dead letter that came in over HTTP (its signature was checked there).
ROUTE_HEADER = "x-oms-adapter-route"


class UnreadablePayload(MappingError):
    """The body cannot be read at all (not JSON, or nested too deeply): malformed, not merely
    unmappable."""


def read_payload(body: bytes, *, max_bytes: int, max_depth: int) -> Any:
    """The body as JSON (amounts as ``Decimal``); ``UnreadablePayload`` for a body no parser
    should be handed (checked on the raw bytes before parsing) or no message could hold."""
    try:
        check_body(body, max_bytes=max_bytes, max_depth=max_depth)
        payload = json.loads(body, parse_float=Decimal, parse_constant=_no_constant)
    except UnreadableBody as exc:
        raise UnreadablePayload.at("body", exc.reason) from None
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise UnreadablePayload.at("body", f"not JSON: {exc}") from None
    surrogate = lone_surrogate_at(payload)
    if surrogate is not None:
        # Valid JSON ("\ud800"), but no text: it cannot be written as UTF-8 in any message.
        raise UnreadablePayload.at(surrogate, "not valid Unicode: a lone surrogate escape (\\ud800-\\udfff)")
    return payload


def map_payload(
    platform: str, map_event: Mapper, topic: str, payload: Any, config: PlatformConfig
) -> list[Envelope[Any]]:
    """The mapper's messages; whatever else it raises is a ``MappingError`` naming it."""
    try:
        return map_event(topic, payload, config)
    except (MappingError, Ignored, PrivacyRequested):
        raise
    except RecursionError:  # a mapper never recurses into a checked body; kept as a guard
        raise UnreadablePayload.at("body", "nested too deeply to read") from None
    except Exception as exc:  # noqa: BLE001 - a shape no mapper expected: kept, never a 500
        # A value of a type the mapper did not expect where it did not check (a list where an
        # address is, an object as a status). The payload is kept as a dead letter naming
        # what failed, replayable once the mapper reads that shape.
        log.exception("%s %s payload of an unexpected shape", platform, topic)
        raise MappingError.at(
            "body", f"a field of an unexpected type or value ({type(exc).__name__}: {str(exc)[:200]})"
        ) from None


def lone_surrogate_at(payload: Any) -> str | None:
    """The path of the first key or string holding a lone UTF-16 surrogate, or None. The body
    is already checked for depth, so an explicit stack walks it without recursion limits."""
    stack: list[tuple[str, Any]] = [("", payload)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str):
            if _SURROGATE.search(value):
                return path or "body"
        elif isinstance(value, dict):
            for key, inner in value.items():
                if _SURROGATE.search(key):
                    return path or "body"  # the object whose key it is
                stack.append((f"{path}.{key}" if path else key, inner))
        elif isinstance(value, list):
            stack.extend((f"{path}[{index}]", inner) for index, inner in enumerate(value))
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not an amount")


class Origin(NamedTuple):
    """Where a dead letter is replayed through: the broker route's exchange, key and queue."""

    exchange: str
    routing_key: str
    queue: str


def dead_letter_id(platform: str, route: str, topic: str, body: bytes) -> str:
    """The same bytes kept twice are one dead letter."""
    # The topic is part of the id: the same bytes under two topics (Shopify sends one order
    # as orders/create and orders/updated) are two dead letters, each replayed as itself.
    return message_id(platform, "webhook" if route == "http" else route, topic, hashlib.sha256(body).hexdigest())


def dead_letter_headers(service: str, error: MappingError, route: str, origin: Origin, at: datetime) -> dict[str, Any]:
    """As plumbing's dead letters say why and where from: unreadable bytes are ``malformed``,
    a payload not mapped (yet) ``rejected``; the failing fields named."""
    text = "; ".join(f"{f.field}: {f.reason}" for f in error.fields)
    return {
        dl.REASON: dl.MALFORMED if isinstance(error, UnreadablePayload) else dl.REJECTED,
        dl.ERROR: text[:4000],
        dl.FIELD_ERRORS: json.dumps([f.model_dump() for f in error.fields])[:4000],
        dl.EXCEPTION: "",
        dl.ORIGINAL_EXCHANGE: origin.exchange,
        dl.ORIGINAL_ROUTING_KEY: origin.routing_key,
        dl.ORIGINAL_QUEUE: origin.queue,
        dl.ATTEMPTS: 1,
        dl.DEAD_LETTERED_AT: at.isoformat(),
        dl.SERVICE: service,
        ROUTE_HEADER: route,
    }


def dead_lettered(letter: str, error: MappingError) -> tuple[int, dict[str, Any]]:
    """A webhook's answer once its payload is kept: unreadable bytes are the sender's fault
    (400); a payload we cannot map yet is ours to fix, and answered 202 (see handlers.py)."""
    status = 400 if isinstance(error, UnreadablePayload) else 202
    return status, {
        "status": "dead-lettered",
        "dead_letter_id": letter,
        "errors": [f.model_dump() for f in error.fields],
    }


def routing_tail(platform: str, key: str) -> str:
    """What follows ``platform.<platform>.`` in a routing key, which names the topic; "" for a
    key of another platform or none."""
    prefix = f"platform.{platform}."
    return key[len(prefix) :] if key.startswith(prefix) else ""


def privacy_topic(topic: str, request: dict[str, Any]) -> str:
    """The topic a privacy request travels on: the one it came by, else the one it names."""
    return topic or str(request.get("topic") or "")


def accepted(messages: list[Envelope[Any]]) -> dict[str, Any]:
    """A webhook's answer once its messages are published: their ids and routing keys."""
    return {
        "status": "accepted",
        "messages": [{"message_id": m.message_id, "routing_key": m.routing_key()} for m in messages],
    }


def order_not_read(reason: str) -> MappingError:
    """A thin webhook whose order the platform's API would not give (404, a refused token, no
    API account): kept naming the order's id, replayed (and read again) once fixed."""
    return MappingError.at("data.id", f"the order could not be read: {reason}")


def privacy_request_id(platform: str, body: bytes) -> str:
    """A privacy request's ids sent twice are one message."""
    return message_id(platform, "privacy", hashlib.sha256(body).hexdigest())
