"""Wiring of the notification service. Start: ``faststream run notification.app:create_app --factory``."""

from __future__ import annotations

from faststream.asgi import AsgiFastStream

from plumbing.runtime import ServiceRuntime
from plumbing.service import create_service_app
from plumbing.settings import ServiceSettings

from . import catalog, merging, rendering, store
from .handlers import bind_emails_queue, build_routers, system_emails_batcher
from .outbound import Outbound
from .settings import NotificationSettings

SERVICE = "notification"


def create_app(settings: ServiceSettings | None = None, options: NotificationSettings | None = None) -> AsgiFastStream:
    options = options or NotificationSettings()
    outbound = Outbound(options)
    renderer = rendering.Renderer(
        processes=options.render_processes, seconds=options.render_seconds, memory_mb=options.render_memory_mb
    )

    async def load_templates(runtime: ServiceRuntime) -> None:
        catalog.predefined()  # a broken predefined template stops the start, not an email
        renderer.start()

    async def stop_rendering(runtime: ServiceRuntime) -> None:
        renderer.stop()

    return create_service_app(
        SERVICE,
        settings or ServiceSettings(),
        build_routers,
        on_startup=[load_templates, store.ensure_indexes, bind_emails_queue, merging.bind_merges_queue, outbound.start],
        on_shutdown=[outbound.stop, stop_rendering],
        dependencies=lambda runtime: {
            "outbound": outbound,
            "renderer": renderer,
            "system-emails": system_emails_batcher(runtime, outbound, renderer),
        },
        description="Renders customer emails from templates, sends them and records them as activities.",
    )
