"""Rejections: the typed errors a handler raises for input or state it will not accept (I1).

A request gets the error as its reply. Any other message that is rejected is dead-lettered
at once with the error as its reason: retrying cannot change the answer.
"""

from __future__ import annotations

from typing import Any

from contracts.replies import Error, ErrorCode, FieldError


class Rejected(Exception):
    def __init__(self, error: Error) -> None:
        super().__init__(error.message)
        self.error = error

    @classmethod
    def of(cls, code: ErrorCode, message: str, *, fields: list[FieldError] | None = None, **details: Any) -> Rejected:
        return cls(Error(code=code, message=message, fields=fields or [], details=details))

    @classmethod
    def invalid(cls, field: str, reason: str) -> Rejected:
        return cls(
            Error(code="validation", message=f"{field}: {reason}", fields=[FieldError(field=field, reason=reason)])
        )

    @classmethod
    def invalid_fields(cls, fields: list[FieldError]) -> Rejected:
        message = "; ".join(f"{f.field}: {f.reason}" for f in fields)
        return cls(Error(code="validation", message=message, fields=fields))

    @classmethod
    def not_found(cls, what: str, key: str, field: str | None = None) -> Rejected:
        fields = [FieldError(field=field, reason=f"no {what} {key!r}")] if field else []
        return cls(Error(code="not_found", message=f"no {what} {key!r}", fields=fields))

    @classmethod
    def conflict(cls, message: str, *, current_version: int | None = None, field: str | None = None) -> Rejected:
        fields = [FieldError(field=field, reason=message)] if field else []
        return cls(Error(code="conflict", message=message, fields=fields, current_version=current_version))

    @classmethod
    def invalid_state(cls, message: str) -> Rejected:
        return cls(Error(code="invalid_state", message=message))


class ArrivedEarly(Exception):
    """A message arrived before one it depends on was applied here (an unmerge before its
    merge, on another queue): raised to have it retried with back-off, never dead-lettered
    while attempts remain."""


class Unavailable(Exception):
    """Another service could not do what was asked just now (it answered ``unavailable``, or
    failed inside, as during a database failover): not the message's fault, so it is tried
    again with back-off, and dead-lettered only when its attempts run out."""


#: Error codes of a reply that another try may change.
TRANSIENT_CODES: frozenset[ErrorCode] = frozenset({"unavailable", "internal", "rate_limited"})


def refusal(error: Error) -> Exception:
    """What a handler raises for another service's error reply: ``Rejected`` (dead-lettered at
    once) when the answer is about the message, ``Unavailable`` (retried) when it is about
    the moment."""
    if error.code in TRANSIENT_CODES:
        return Unavailable(f"{error.code}: {error.message}")
    return Rejected(error)
