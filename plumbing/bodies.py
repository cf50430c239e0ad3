"""Limits on a message body, checked on its raw bytes before any JSON parser sees it (P4,
security step 12).

Python's ``json`` and pydantic recurse once per level of nesting: a body a few thousand
levels deep raises ``RecursionError`` (or worse, exhausts the stack of a thread with a
small one), and a huge body costs memory and CPU before validation can say no. Neither is a
fault of the service, and no retry helps, so both are *malformed*: a command is answered
``validation`` naming ``body``, any other message is dead-lettered at once with the reason.

The depth check is linear in C: strings are cut out with one regular expression, every
byte but the brackets is deleted, then innermost pairs are removed once per level, at most
``max_depth`` times. Balanced brackets left after that are deeper than the limit; brackets
that never pair are not JSON. No pure-Python loop over the body, whatever its shape.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

#: Nesting no contract comes near (an order is 5 levels deep, an import batch 6).
DEFAULT_MAX_DEPTH = 64
#: The largest body a service reads: an import batch of 1,000 customers or an order of
#: 2,000 lines fits several times over.
DEFAULT_MAX_BYTES = 8 * 1024 * 1024

#: A JSON string, escapes included (the unrolled form: no backtracking per character).
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_INNERMOST_PAIR = re.compile(rb"\[\]|\{\}")


class UnreadableBody(ValueError):
    """The body is too large or nested too deeply to be read; ``reason`` says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def nesting_depth_exceeds(body: bytes, max_depth: int) -> bool:
    """Whether JSON ``body`` nests arrays and objects deeper than ``max_depth``. Raises
    ``UnreadableBody`` when its brackets do not pair up (it is not JSON either way)."""
    brackets = _JSON_STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    if len(brackets) <= max_depth:
        return False  # fewer brackets than levels allowed: cannot be deeper
    for _ in range(max_depth):
        brackets, removed = _INNERMOST_PAIR.subn(b"", brackets)
        if not brackets:
            return False
        if not removed:
            raise UnreadableBody("not JSON: brackets do not pair up")
    if _INNERMOST_PAIR.search(brackets):
        return True
    raise UnreadableBody("not JSON: brackets do not pair up")


def check_body(body: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
    """Raise ``UnreadableBody`` if ``body`` is larger than ``max_bytes`` or nests deeper than
    ``max_depth``; a body that passes can be handed to any JSON parser and to pydantic."""
    if len(body) > max_bytes:
        raise UnreadableBody(f"body of {len(body)} bytes is larger than the limit of {max_bytes}")
    if nesting_depth_exceeds(body, max_depth):
        raise UnreadableBody(f"body nested deeper than {max_depth} levels")


def guarded_decoder(*, max_bytes: int, max_depth: int) -> Callable[..., Awaitable[Any]]:
    """A FastStream decoder (``RabbitBroker(decoder=...)``) that checks the raw body before the
    default decoder parses it; what it refuses, the dead-letter policy sees as malformed."""

    async def decode(message: Any, original: Callable[[Any], Awaitable[Any]]) -> Any:
        check_body(message.body, max_bytes=max_bytes, max_depth=max_depth)
        return await original(message)

    return decode
