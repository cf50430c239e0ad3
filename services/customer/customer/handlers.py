"""Messages in and out of the customer service."""

from __future__ import annotations

from faststream.rabbit import RabbitRouter

from plumbing.service import ServiceRuntime


def build_routers(runtime: ServiceRuntime) -> list[RabbitRouter]:
    return []
