"""Secrets sealed for one reader (C14): the single-use links of password and verification
emails travel from the customer service, which issues their tokens, to the notification
service, which emails them, encrypted and authenticated with ``OMS_LINK_KEY`` (Fernet:
AES-128-CBC with an HMAC-SHA256). Only those two services are given the key; everything
else that sees the event (outboxes, queues, dead letters, other consumers, logs) holds
ciphertext, or the link with its token replaced by ``[redacted]``.

``OMS_LINK_KEY`` is one Fernet key, or several separated by commas to rotate: the first
seals, every one opens. A new key: ``python -m plumbing.sealing``.
"""

from __future__ import annotations

import binascii
import functools
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

if TYPE_CHECKING:
    from plumbing.settings import ServiceSettings

REDACTED = "[redacted]"


class KeyMissing(RuntimeError):
    """``OMS_LINK_KEY`` is not set, or is not a Fernet key: the service cannot start."""


class SealBroken(ValueError):
    """Sealed with a key this service does not hold, or altered on the way."""


class Sealer:
    def __init__(self, keys: str) -> None:
        parts = [key.strip() for key in keys.split(",") if key.strip()]
        if not parts:
            raise KeyMissing("OMS_LINK_KEY is empty")
        try:
            self._fernet = MultiFernet([Fernet(key) for key in parts])
        except (ValueError, binascii.Error):
            # Never echo the value: it is the secret.
            raise KeyMissing("OMS_LINK_KEY is not a Fernet key (32 url-safe base64-encoded bytes)") from None

    def seal(self, text: str) -> str:
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError):
            raise SealBroken(
                "sealed with another OMS_LINK_KEY, or altered: the customer and notification services "
                "must share the key"
            ) from None


def sealer(settings: ServiceSettings) -> Sealer:
    """The sealer of a service's settings; raises KeyMissing, with what to do, if it has none."""
    if settings.link_key is None:
        raise KeyMissing(
            "OMS_LINK_KEY is not set: the customer and notification services need the same Fernet key "
            "(generate one with `python -m plumbing.sealing`)"
        )
    return _sealer_of(settings.link_key.get_secret_value())


@functools.lru_cache(maxsize=4)
def _sealer_of(keys: str) -> Sealer:
    """One ``Sealer`` per key (a link is sealed per invitation: a million in one burst)."""
    return Sealer(keys)


def redact_link(link: str) -> str:
    """The link with every query value (the token) and any fragment replaced: safe to store and show."""
    parts = urlsplit(link)
    query = urlencode([(name, REDACTED) for name, _ in parse_qsl(parts.query, keep_blank_values=True)], safe="[]")
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, REDACTED if parts.fragment else ""))


if __name__ == "__main__":
    print(Fernet.generate_key().decode("ascii"))
