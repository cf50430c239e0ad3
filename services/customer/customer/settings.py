"""Settings of the customer service, on top of every service's (``OMS_*``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from plumbing.runtime import Injected, ServiceRuntime
from plumbing.settings import ServiceSettings


class CustomerSettings(ServiceSettings):
    account_url: str = Field(
        default="https://shop.example/account",
        description="Base of emailed links when a scope names no account_url of its own.",
    )
    reset_token_hours: float = Field(default=24, gt=0, description="C14: a reset link's lifetime.")
    setup_token_hours: float = Field(default=7 * 24, gt=0, description="C14: a set-password invitation's lifetime.")
    verification_token_hours: float = Field(default=48, gt=0, description="C20: a verification link's lifetime.")
    reset_emails_per_window: int = Field(
        default=3,
        ge=1,
        description="C14: reset emails one customer may be sent within reset_email_window_minutes; "
        "further requests are answered alike, send nothing and are audited.",
    )
    reset_email_window_minutes: float = Field(default=15, gt=0, description="C14: the window of that limit.")
    reset_answer_seconds: float = Field(
        default=0.25,
        ge=0,
        le=5,
        description="C14: the least time a reset request by email takes to answer, whether or not the account "
        "exists (more when recent requests for existing accounts took longer).",
    )
    max_signin_failures: int = Field(
        default=10,
        ge=1,
        description="C15: failures in a row that lock an account (disabled, 'too many failed "
        "sign-ins') for signin_lock_minutes; a CSR's enable or a reset lifts it sooner.",
    )
    signin_lock_minutes: float = Field(default=15, gt=0, description="C15: how long such a lock lasts.")
    signin_free_failures: int = Field(
        default=5, ge=1, description="C15: failures in a row on one account before each further attempt waits."
    )
    signin_source_free_failures: int = Field(
        default=20,
        ge=1,
        description="C15: failures from one source (actor.source), whatever the accounts, before "
        "each further attempt from it waits (password spraying).",
    )
    signin_first_delay_seconds: float = Field(
        default=1, gt=0, description="C15: the first wait; it doubles with each further failure."
    )
    signin_max_delay_seconds: float = Field(default=300, gt=0, description="C15: the longest wait.")
    signin_forget_minutes: float = Field(
        default=60, gt=0, description="C15: failures of an account or a source are forgotten after this quiet time."
    )
    on_behalf_max_minutes: int = Field(default=120, ge=1, description="C16: the longest a CSR may act for a customer.")
    unmerge_window_days: float = Field(default=30, gt=0, description="C13: how long a merge can be undone.")


#: Handlers of the customer service declare ``runtime: CustomerRuntime``: its settings are these.
CustomerRuntime = Annotated[ServiceRuntime[CustomerSettings], Injected("runtime")]
