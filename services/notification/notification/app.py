"""Wiring of the notification service. Start: ``faststream run notification.app:create_app --factory``."""

from __future__ import annotations

from faststream.asgi import AsgiFastStream

from plumbing.service import ServiceRuntime, create_service_app
from plumbing.settings import ServiceSettings

from . import catalog, merging, store
from .handlers import bind_emails_queue, build_routers
from .outbound import Outbound
from .settings import NotificationSettings

SERVICE = "notification"


def create_app(
    settings: ServiceSettings | None = None, options: NotificationSettings | None = None
) -> AsgiFastStream:
    outbound = Outbound(options or NotificationSettings())

    async def load_templates(runtime: ServiceRuntime) -> None:
        catalog.predefined()  # a broken predefined template stops the start, not an email

    app = create_service_app(
        SERVICE,
        settings or ServiceSettings(),
        build_routers,
        on_startup=[load_templates, store.ensure_indexes, bind_emails_queue, merging.bind_merges_queue, outbound.start],
        on_shutdown=[outbound.stop],
        description="Renders customer emails from templates, sends them and records them as activities.",
    )
    app.context.set_global("outbound", outbound)
    return app
