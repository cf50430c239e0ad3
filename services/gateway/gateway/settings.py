"""Settings of the gateway: the services' ``OMS_*`` ones plus its own ``OMS_GATEWAY_*``."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMS_GATEWAY_", extra="ignore")

    cookie_secure: bool = Field(
        default=True, description="Send the session cookie over HTTPS only; tests on http://127.0.0.1 turn it off."
    )
    session_minutes: int = Field(default=480, ge=5, le=7 * 24 * 60, description="A sign-in lasts this long.")
    clients: int = Field(default=4, ge=1, le=64, description="RabbitMQ connections for concurrent requests.")
    unmerge_hint_days: int = Field(default=30, ge=1, description="Shown next to a merge; the service decides.")
