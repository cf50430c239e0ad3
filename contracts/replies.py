"""Replies to commands: a result, or a typed error that names the field and the reason (I1)."""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

ResultT = TypeVar("ResultT")

ErrorCode = Literal[
    "validation",  # the command is malformed or a field breaks a rule
    "not_found",  # the thing the command names does not exist
    "conflict",  # stale version, or a uniqueness rule (same email in the scope)
    "invalid_state",  # the thing exists but the command does not apply to its state
    "forbidden",  # the actor may not do this
    "unauthenticated",  # sign-in failed (deliberately vague)
    "rate_limited",  # too many attempts; details.retry_after_seconds says when to try again
    "unavailable",  # a dependency is down; retrying later may work
    "internal",  # a bug; the operator sees it in the logs
]


class FieldError(BaseModel):
    model_config = ConfigDict(frozen=True)

    field: str = Field(description="Dotted path of the offending field, e.g. payload.email.")
    reason: str


class Error(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: ErrorCode
    message: str
    fields: list[FieldError] = Field(default_factory=list)
    current_version: int | None = Field(
        default=None, description="On a version conflict: the version the record has now."
    )
    details: dict[str, Any] = Field(default_factory=dict)


class Reply(BaseModel, Generic[ResultT]):
    """``ok`` with a ``result``, or not ``ok`` with an ``error``; never both."""

    model_config = ConfigDict(frozen=True)

    ok: bool
    result: ResultT | None = None
    error: Error | None = None

    @classmethod
    def success(cls, result: ResultT) -> Reply[ResultT]:
        return cls(ok=True, result=result)

    @classmethod
    def failure(cls, error: Error) -> Reply[ResultT]:
        return cls(ok=False, error=error)


def field_errors_from_pydantic(errors: list[dict[str, Any]]) -> list[FieldError]:
    """Turn ``ValidationError.errors()`` into field-level errors a CSR can read."""
    return [
        FieldError(
            field=".".join(str(part) for part in err.get("loc", ())) or "body",
            reason=err.get("msg", "invalid"),
        )
        for err in errors
    ]
