"""What ``app.py`` puts on ``app.state``, read back typed: one accessor per thing, each
checking it holds what the lifespan (or ``create_app``) set, so a handler gets a
``StaffStore``, not ``Any``."""

from __future__ import annotations

from typing import TypeVar

from fastapi import Request

from .bridge import Services
from .deadletters import DeadLetters
from .settings import GatewaySettings
from .staff import StaffStore

T = TypeVar("T")


def _held(request: Request, name: str, kind: type[T]) -> T:
    value = getattr(request.app.state, name)
    if not isinstance(value, kind):
        raise TypeError(f"app.state.{name} holds {type(value).__name__}, not {kind.__name__}")
    return value


def services(request: Request) -> Services:
    return _held(request, "services", Services)


def staff_store(request: Request) -> StaffStore:
    return _held(request, "staff", StaffStore)


def dead_letter_store(request: Request) -> DeadLetters:
    return _held(request, "dead_letters", DeadLetters)


def gateway_settings(request: Request) -> GatewaySettings:
    return _held(request, "gateway_settings", GatewaySettings)
