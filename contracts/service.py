"""Commands every service answers, and the shapes of the privacy commands each service owns (C18)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.customer.records import CustomerCode
from contracts.envelope import Command
from contracts.replies import Reply
from contracts.types import Identifier


class PingRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Pong(BaseModel):
    service: str
    instance: str
    version: str
    database: bool
    broker: bool


class Ping(Command[PingRequest]):
    """Ask a service whether it is up; each service answers on ``<service>.ping.v1``."""

    DOMAIN = "service"
    message_type: Literal["ping"] = "ping"
    schema_version: Literal[1] = 1
    payload: PingRequest = PingRequest()

    @classmethod
    def routing_key_for(cls, service: str) -> str:
        return f"{service}.ping.v{cls.version()}"


PongReply = Reply[Pong]


# --- C18: the customer service asks every other service for its part of a customer ------------
# (each service's own commands: contracts/order_sync/privacy.py, contracts/notification/privacy.py)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CustomerDataRequest(_In):
    customer_code: CustomerCode


class CustomerErasureRequest(_In):
    customer_code: CustomerCode
    erasure_id: Identifier


class ServiceErasure(BaseModel):
    """What one service erased: counts per kind of record (repeat-safe: a repeat counts what is left)."""

    service: str
    customer_code: str
    erased: dict[str, int] = Field(default_factory=dict)
    at: datetime


ServiceErasureReply = Reply[ServiceErasure]
