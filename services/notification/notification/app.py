"""Wiring of the notification service. Start: ``faststream run notification.app:create_app --factory``."""

from __future__ import annotations

from faststream.asgi import AsgiFastStream

from plumbing.service import ServiceRuntime, create_service_app
from plumbing.settings import ServiceSettings

from . import catalog, merging, rendering, store
from .handlers import bind_emails_queue, build_routers
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
        runtime.resources[rendering.RESOURCE] = renderer

    async def stop_rendering(runtime: ServiceRuntime) -> None:
        renderer.stop()

    app = create_service_app(
        SERVICE,
        settings or ServiceSettings(),
        build_routers,
        on_startup=[load_templates, store.ensure_indexes, bind_emails_queue, merging.bind_merges_queue, outbound.start],
        on_shutdown=[outbound.stop, stop_rendering],
        description="Renders customer emails from templates, sends them and records them as activities.",
    )
    app.context.set_global("outbound", outbound)
    return app
