"""Settings of the notification service alone (``OMS_NOTIFICATION_*``); shared ones are in plumbing."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotificationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMS_NOTIFICATION_", extra="ignore")

    retry_base_seconds: float = Field(
        default=30.0, gt=0, description="Wait before the first retry; each further retry waits twice as long."
    )
    retry_max_seconds: float = Field(default=3600.0, gt=0, description="The longest wait between two attempts.")
    max_delivery_attempts: int = Field(default=8, ge=1, description="Attempts before an email is given up.")
    # 32, not 16: a connection holds each email for its envelope, the durable write before DATA
    # and DATA itself, and at 16 the claimed emails waited for a connection (python -m
    # bench.notification, one worker, quiet machine: 16 -> 341.6 and 424.0 emails/s, 32 -> 528.7
    # and 506.1, 48 -> 428.5, then limited by the worker's intake). Below Postfix's default of
    # 50 connections from one client; more workers against one relay may need its limit raised.
    send_concurrency: int = Field(
        default=32,
        ge=1,
        le=256,
        description="SMTP connections per worker, kept open, each sending one email after another.",
    )
    lease_seconds: float = Field(
        default=120.0,
        gt=0,
        description="How long a claimed email stays with its worker before another may take it back; "
        "longer than connecting, EHLO, STARTTLS, AUTH, MAIL and RCPT can take.",
    )
    poll_seconds: float = Field(default=0.5, gt=0, description="How often an idle sender looks for due emails.")
    sweep_seconds: float = Field(default=5.0, gt=0, description="How often stale claims are looked for.")
    render_processes: int = Field(
        default=2, ge=1, le=32, description="Processes that render templates, off the event loop (rendering.py)."
    )
    render_seconds: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="CPU time one email's render may take (wall time: twice that); a template that takes longer "
        "is refused.",
    )
    render_memory_mb: int = Field(
        default=512, ge=128, description="Address space of a rendering process: a template needing more is refused."
    )
