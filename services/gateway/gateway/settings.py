"""Settings of the gateway: the services' ``OMS_*`` ones plus its own ``OMS_GATEWAY_*``."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, IPvAnyNetwork, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMS_GATEWAY_", extra="ignore")

    cookie_secure: bool = Field(
        default=True, description="Send the session cookie over HTTPS only; tests on http://127.0.0.1 turn it off."
    )
    session_minutes: int = Field(default=480, ge=5, le=7 * 24 * 60, description="A sign-in lasts this long.")
    clients: int = Field(default=4, ge=1, le=64, description="RabbitMQ connections for concurrent requests.")
    unmerge_hint_days: int = Field(default=30, ge=1, description="Shown next to a merge; the service decides.")
    # Staff sign-in throttling (I4): see gateway/staff.py.
    signin_free_failures: int = Field(
        default=5, ge=1, description="Failures in a row on one staff account before each further attempt waits."
    )
    signin_lock_failures: int = Field(
        default=10, ge=1, description="Failures in a row that lock the account for signin_lock_minutes."
    )
    signin_lock_minutes: float = Field(default=15, gt=0, description="How long such a lock lasts.")
    signin_source_free_failures: int = Field(
        default=20, ge=1, description="Failures from one client address, whatever the accounts, before it waits."
    )
    signin_first_delay_seconds: float = Field(default=1, gt=0, description="The first wait; it doubles each time.")
    signin_max_delay_seconds: float = Field(default=300, gt=0, description="The longest wait.")
    signin_forget_minutes: float = Field(default=60, gt=0, description="Failures are forgotten after this quiet time.")
    # Limits on what a request carries (security step 12): see gateway/limits.py.
    max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="A larger request body is answered 413 "
        "as soon as it is known, never read whole; a template of 200,000 characters fits.",
    )
    trusted_proxies: Annotated[tuple[IPvAnyNetwork, ...], NoDecode] = Field(
        default=(),
        description="Comma-separated addresses or networks of the reverse proxies whose X-Forwarded-For "
        "names the client; empty: the connection's address is the client's.",
    )

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return tuple(part.strip() for part in value.split(",") if part.strip()) if isinstance(value, str) else value
