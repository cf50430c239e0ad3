"""Helpers for the gateway and console tests (I4, I5): the three services and the gateway
running in this process against the real servers, staff of each role, signed-in clients."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import uvicorn
from fastapi import FastAPI

from gateway.app import create_app as gateway_app
from gateway.settings import GatewaySettings
from gateway.staff import StaffStore
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings
from tools.smtp_capture import CapturedMail

from ..support import Cleanup
from .merge_support import three_services

PASSWORD = "correct horse battery"
#: One staff member per role, named after it.
STAFF = {"csr": "csr-ada", "supervisor": "sup-bea", "administrator": "adm-cyd"}
BASE_URL = "https://gateway.test"


@dataclass
class Stack:
    settings: ServiceSettings
    app: FastAPI
    mail: CapturedMail
    client: OmsClient
    staff: StaffStore


@asynccontextmanager
async def gateway_stack(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup, gateway: GatewaySettings | None = None
) -> AsyncIterator[Stack]:
    """Customer, order-sync, notification (to an in-process SMTP server), scope eu-fr, the
    gateway with its lifespan running, and one staff member of each role."""
    async with three_services(settings, client, cleanup) as mail:
        app = gateway_app(settings, gateway or GatewaySettings(cookie_secure=True))
        async with app.router.lifespan_context(app):
            staff: StaffStore = app.state.staff
            for role, username in STAFF.items():
                await staff.create(username, username.split("-")[1].title(), role, PASSWORD)
            yield Stack(settings, app, mail, client, staff)


@asynccontextmanager
async def signed_in(app: FastAPI, role: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client signed in as the staff member of ``role``, sending the CSRF header."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL) as http:
        reply = await http.post("/api/session", json={"username": STAFF[role], "password": PASSWORD})
        assert reply.status_code == 200, reply.text
        http.headers["X-CSRF-Token"] = reply.json()["csrf_token"]
        yield http


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """The app behind a real uvicorn server on 127.0.0.1, in this event loop (its lifespan
    already runs: uvicorn's is off). Yields the base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
