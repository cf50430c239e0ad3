"""P4: another service's error reply, as a handler raises it. An answer about the message
(validation, not found, conflict...) is a rejection, dead-lettered at once; an answer about
the moment (unavailable, a failure inside it, as during a database failover; rate limited)
is retried with back-off, and dead-lettered only when its attempts run out."""

from __future__ import annotations

from typing import get_args

import pytest

from contracts.replies import Error, ErrorCode
from plumbing.dead_letters import _retryable
from plumbing.errors import TRANSIENT_CODES, Rejected, Unavailable, refusal


class _Raw:
    reply_to = None


@pytest.mark.parametrize("code", get_args(ErrorCode))
def test_p4_a_reply_error_is_retried_only_when_another_try_may_change_it(code: str) -> None:
    raised = refusal(Error(code=code, message="no"))  # type: ignore[arg-type]  # every code of the contract
    transient = code in ("unavailable", "internal", "rate_limited")
    assert isinstance(raised, Unavailable if transient else Rejected)
    assert _retryable(_Raw(), raised) is transient  # type: ignore[arg-type]  # only reply_to is read
    assert (code in TRANSIENT_CODES) is transient
