"""Wiring of the HTTP gateway and CSR console (I4, I5).

Start: ``uvicorn gateway.app:create_app --factory --port 8080``. Nothing connects at import:
the MongoDB client, the RabbitMQ client pool and the dead-letter connection open in the
lifespan and close with it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pymongo import AsyncMongoClient
from starlette.middleware.base import RequestResponseEndpoint

from contracts.replies import Error, field_errors_from_pydantic
from plumbing.client import OmsClientPool
from plumbing.settings import ServiceSettings

from . import (
    api,
    console,
    console_account,
    console_addresses,
    console_data_requests,
    console_import,
    console_invitations,
    console_orders,
    console_organizations,
    console_preferences,
    console_privacy,
    console_staff,
    console_stores,
)
from .auth import BadCsrf, Denied, NotSignedIn, wants_html
from .bridge import CommandFailed, Services, error_body
from .deadletters import DeadLetters
from .headers import SecurityHeaders
from .limits import BodyLimits
from .settings import GatewaySettings
from .staff import StaffStore

HERE = Path(__file__).parent


async def _database_ok(mongo: AsyncMongoClient[Any], timeout: float = 2.0) -> bool:
    try:
        await asyncio.wait_for(mongo.admin.command("ping"), timeout)
        return True
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        return False


def create_app(settings: ServiceSettings | None = None, gateway_settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or ServiceSettings()
    gateway_settings = gateway_settings or GatewaySettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
        staff = StaffStore(mongo[settings.database_name("gateway")])
        await staff.ensure_indexes()
        pool = OmsClientPool(settings, size=gateway_settings.clients, producer="gateway")
        await pool.start()
        letters = DeadLetters(settings)
        await letters.open()
        app.state.staff = staff
        app.state.pool = pool
        app.state.mongo = mongo
        app.state.services = Services(pool, staff)
        app.state.dead_letters = letters
        try:
            yield
        finally:
            await letters.close()
            await pool.close()
            await mongo.close()

    app = FastAPI(
        title="OMS customer gateway",
        version="1",
        description="HTTP API over the customer back end's commands, for CSR tools and other systems (I4). "
        "Sign in with POST /api/session; send the returned csrf_token in X-CSRF-Token on every change.",
        lifespan=lifespan,
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.gateway_settings = gateway_settings
    app.add_middleware(BodyLimits, max_bytes=gateway_settings.max_body_bytes, max_depth=settings.max_body_depth)
    # Added last, so outermost: every answer carries the headers, refusals of BodyLimits too.
    app.add_middleware(SecurityHeaders)
    app.include_router(api.router)
    app.include_router(console.router)
    app.include_router(console_addresses.router)
    app.include_router(console_organizations.router)
    app.include_router(console_stores.router)
    app.include_router(console_account.router)
    app.include_router(console_staff.router)
    app.include_router(console_privacy.router)
    app.include_router(console_data_requests.router)
    app.include_router(console_invitations.router)
    app.include_router(console_orders.router)
    app.include_router(console_preferences.router)
    app.include_router(console_import.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.exception_handler(CommandFailed)
    async def command_failed(request: Request, exc: CommandFailed) -> Response:
        if wants_html(request):
            return console.error_page(request, exc.error, exc.status)
        return JSONResponse(error_body(exc.error), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        error = Error(
            code="validation",
            message="the request has invalid fields",
            fields=field_errors_from_pydantic(list(exc.errors())),
        )
        if wants_html(request):
            return console.error_page(request, error, 422)
        return JSONResponse(error_body(error), status_code=422)

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if wants_html(request):
            if request.headers.get("HX-Request"):
                return Response(status_code=401, headers={"HX-Redirect": "/login"})
            return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
        error = Error(code="unauthenticated", message="sign in first (POST /api/session)")
        return JSONResponse(error_body(error), status_code=401)

    @app.exception_handler(BadCsrf)
    async def bad_csrf(request: Request, exc: BadCsrf) -> Response:
        error = Error(code="forbidden", message="missing or wrong CSRF token: reload the page")
        if wants_html(request):
            return console.error_page(request, error, 403)
        return JSONResponse(error_body(error), status_code=403)

    @app.exception_handler(Denied)
    async def denied(request: Request, exc: Denied) -> Response:
        who = getattr(request.state, "staff", None)
        await request.app.state.staff.audit(
            who.username if who else None, exc.role, exc.action, request.url.path, "forbidden"
        )
        error = Error(code="forbidden", message=str(exc))
        if wants_html(request):
            return console.error_page(request, error, 403)
        return JSONResponse(error_body(error), status_code=403)

    @app.middleware("http")
    async def server_timing(request: Request, call_next: RequestResponseEndpoint) -> Response:
        """How long the gateway took, for browsers' dev tools and the page benchmark."""
        started = time.perf_counter()
        response = await call_next(request)
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
        return response

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", include_in_schema=False)
    async def ready(request: Request) -> JSONResponse:
        """Readiness (P5), as the services answer it: RabbitMQ (every client of the pool) and
        MongoDB (staff, sessions) answer; a load balancer sends no CSR to a gateway that cannot
        serve them."""
        state = request.app.state
        database, broker = await asyncio.gather(_database_ok(state.mongo), state.pool.broker_ok())
        status = 200 if database and broker else 503
        return JSONResponse({"database": database, "broker": broker}, status_code=status)

    return app
