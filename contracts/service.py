"""Commands every service answers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from .envelope import Command
from .replies import Reply


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
