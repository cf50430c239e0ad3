"""Settings of the customer service, on top of every service's (``OMS_*``)."""

from __future__ import annotations

from pydantic import Field

from plumbing.settings import ServiceSettings


class CustomerSettings(ServiceSettings):
    account_url: str = Field(
        default="https://shop.example/account",
        description="Base of emailed links when a scope names no account_url of its own.",
    )
    reset_token_hours: float = Field(default=24, gt=0, description="C14: a reset link's lifetime.")
    setup_token_hours: float = Field(default=7 * 24, gt=0, description="C14: a set-password invitation's lifetime.")
    verification_token_hours: float = Field(default=48, gt=0, description="C20: a verification link's lifetime.")
    max_signin_failures: int = Field(default=5, ge=1, description="C15: consecutive failures that disable an account.")
    on_behalf_max_minutes: int = Field(default=120, ge=1, description="C16: the longest a CSR may act for a customer.")
    unmerge_window_days: float = Field(default=30, gt=0, description="C13: how long a merge can be undone.")
