"""What every platform mapper shares: reading a platform payload, field-level errors that
name the *platform's* field, money, and message ids derived from the platform's own ids.

A mapper is a pure function ``(topic, payload, config) -> list[message]``: no I/O, so the
same payload always gives the same messages with the same ``message_id`` (a webhook
delivered twice, or a dead letter replayed after a fix, is deduplicated downstream).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import AwareDatetime, TypeAdapter, ValidationError

from contracts.envelope import Envelope
from contracts.replies import FieldError
from contracts.types import OptionalHttpsLink

#: Fixed forever: changing it would change every derived message id.
_ID_NAMESPACE = uuid.UUID("5f0c3c1e-8a5e-4d0e-9a53-0f3c6e0a0d18")


class MappingError(Exception):
    """The payload cannot become our contract; each field error names the platform field."""

    def __init__(self, fields: list[FieldError]) -> None:
        super().__init__("; ".join(f"{f.field}: {f.reason}" for f in fields))
        self.fields = fields

    @classmethod
    def at(cls, field: str, reason: str) -> MappingError:
        return cls([FieldError(field=field, reason=reason)])


def message_id(platform: str, *parts: Any) -> str:
    """A UUID derived from the platform's own ids: the same event gives the same id."""
    return str(uuid.uuid5(_ID_NAMESPACE, "|".join([platform, *(str(p) for p in parts)])))


@dataclass(frozen=True)
class PlatformConfig:
    """How one platform's orders enter: which source system they belong to, and which scope.

    ``scopes`` maps the platform's own channel or store key (commercetools store key, Saleor
    channel slug, Medusa sales channel id) to one of our scopes; ``scope`` is used when the
    key is absent or not listed. With neither, the order cannot be mapped.
    """

    platform: str
    source_system: str
    scope: str | None = None
    scopes: Mapping[str, str] = field(default_factory=dict)

    @property
    def producer(self) -> str:
        return f"adapter:{self.platform}"

    def scope_for(self, key: Any, path: str) -> str:
        if key not in (None, "") and str(key) in self.scopes:
            return self.scopes[str(key)]
        if self.scope:
            return self.scope
        raise MappingError.at(path, f"no scope configured for {key!r} (and no default scope)")


def get(data: Any, path: str, default: Any = None) -> Any:
    """``get(order, "customer.default_address.city")``: None (or ``default``) where any step is missing."""
    value = data
    for key in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(key)
        elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            return default
        if value is None:
            return default
    return value


def require(data: Any, path: str, where: str = "") -> Any:
    value = get(data, path)
    if value in (None, "", [], {}):
        raise MappingError.at(f"{where}{path}", "required, missing")
    return value


def obj(data: Any, path: str) -> dict[str, Any]:
    value = get(data, path)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MappingError.at(path, "must be an object")
    return dict(value)


def items(data: Any, path: str) -> list[Any]:
    value = get(data, path)
    if value is None:
        return []
    if not isinstance(value, list):
        raise MappingError.at(path, "must be a list")
    return value


def text(value: Any) -> str | None:
    """Ids arrive as numbers (Shopify) or strings; our contract wants text."""
    if value is None or isinstance(value, (dict, list)):
        return None
    if isinstance(value, bool):
        return None
    return str(value)


def decimal(value: Any, path: str) -> Decimal:
    """An amount as the platform wrote it: a decimal string, an integer, or a JSON number
    read as Decimal (bodies are parsed with ``parse_float=Decimal``), never a float."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        raise MappingError.at(path, f"not an exact amount: {value!r}")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise MappingError.at(path, f"not a decimal amount: {value!r}") from None
    if not amount.is_finite():
        raise MappingError.at(path, f"not a decimal amount: {value!r}")
    return amount


def total_of(values: list[tuple[Any, str]]) -> Decimal:
    return sum((decimal(v, p) for v, p in values), Decimal(0))


def language(value: Any) -> str | None:
    """``fr-CA``, ``fr_CA`` or Saleor's ``FR_CA`` -> ``fr-CA``; anything else is dropped
    (a missing language falls back to the scope's; a wrong one must not refuse an order)."""
    if not isinstance(value, str):
        return None
    parts = re.split(r"[-_]", value.strip())
    if not parts or not re.fullmatch(r"[A-Za-z]{2,3}", parts[0]):
        return None
    rest = [p.upper() if len(p) == 2 else p for p in parts[1:] if re.fullmatch(r"[A-Za-z0-9]{2,8}", p)]
    return "-".join([parts[0].lower(), *rest])


_AWARE = TypeAdapter(AwareDatetime)
_HTTPS_LINK = TypeAdapter(OptionalHttpsLink)


def https_link(value: Any) -> str | None:
    """A platform's link (a carrier's tracking page) if it is one our contract takes (https,
    contracts.types), else None: Shopify still gives ``http://`` tracking pages for some
    carriers, and a shipment must not be refused for a link it can do without."""
    if not isinstance(value, str):
        return None
    try:
        return _HTTPS_LINK.validate_python(value)
    except ValidationError:
        return None

#: For each contract field (``lines.*.unit_price``), the platform field it came from
#: (``line_items[*].price``): turns a contract validation error into the platform's name.
Origins = Mapping[str, str]


def build(
    message_type: type[Envelope[Any]],
    *,
    config: PlatformConfig,
    message_id: str,
    correlation_id: str,
    occurred_at: Any,
    payload: dict[str, Any],
    origins: Origins,
) -> Envelope[Any]:
    """Validate ``payload`` as ``message_type``; an invalid field is reported by its platform name."""
    envelope = {"message_id": message_id, "correlation_id": correlation_id, "producer": config.producer}
    try:
        # The platform's own time when it is one; a bad one is reported on the payload field.
        envelope["occurred_at"] = _AWARE.validate_python(occurred_at)
    except ValidationError:
        pass
    try:
        return message_type.model_validate({**envelope, "payload": payload})
    except ValidationError as exc:
        raise MappingError(
            [
                FieldError(field=_platform_field(err["loc"], origins), reason=err["msg"])
                for err in exc.errors(include_url=False)
            ]
        ) from None


def _platform_field(loc: tuple[Any, ...], origins: Origins) -> str:
    if not loc or loc[0] != "payload":
        return ".".join(map(str, loc)) or "body"
    ours = [str(part) for part in loc[1:]]
    # The longest prefix of our path that has an origin, indexes generalized to "*".
    for end in range(len(ours), 0, -1):
        pattern = ".".join("*" if p.isdigit() else p for p in ours[:end])
        if pattern in origins:
            indexes = iter(p for p in ours[:end] if p.isdigit())
            return re.sub(r"\*", lambda _: next(indexes, "*"), origins[pattern])
    return "payload." + ".".join(ours)


Mapper = Callable[[str, Any, PlatformConfig], list[Envelope[Any]]]
