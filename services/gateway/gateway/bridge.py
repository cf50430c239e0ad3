"""HTTP calls to commands and back (I4): one place that sends a command as the signed-in
staff member, audits it, and turns a typed error reply into an HTTP status.

Error codes to statuses: ``validation`` 422 (with the fields), ``not_found`` 404,
``conflict`` 409 (with ``current_version`` on a stale version), ``invalid_state`` 409 (the
record exists but its state refuses the action: retrying the same request cannot work
until the state changes, like a conflict), ``forbidden`` 403, ``unauthenticated`` 401,
``rate_limited`` 429, ``unavailable`` (or no reply in time) 503, ``internal`` 502 (the
service failed, not the gateway).
"""

from __future__ import annotations

from typing import Any

from contracts.envelope import Actor, Command
from contracts.replies import Error, Reply
from plumbing.client import OmsClientPool, ServiceUnavailable

from .staff import StaffSession, StaffStore

STATUS = {
    "validation": 422,
    "not_found": 404,
    "conflict": 409,
    "invalid_state": 409,
    "forbidden": 403,
    "unauthenticated": 401,
    "rate_limited": 429,
    "unavailable": 503,
    "internal": 502,
}


class CommandFailed(Exception):
    """A command answered with a typed error (or not at all)."""

    def __init__(self, error: Error) -> None:
        super().__init__(f"{error.code}: {error.message}")
        self.error = error

    @property
    def status(self) -> int:
        return STATUS.get(self.error.code, 502)


def error_body(error: Error) -> dict[str, Any]:
    return {"error": error.model_dump(mode="json", exclude_none=True)}


def unavailable(message: str) -> Error:
    return Error(code="unavailable", message=message)


class Services:
    """The services, called as a staff member; every action but reading is audited."""

    def __init__(self, pool: OmsClientPool, staff: StaffStore) -> None:
        self.pool = pool
        self.staff = staff

    async def call(
        self,
        who: StaffSession,
        command: type[Command[Any]],
        payload: Any,
        *,
        audit: str | None = None,
        target: str | None = None,
        reply_type: type | None = None,
        on_behalf_session: str | None = None,
    ) -> Any:
        """The command's result; raises CommandFailed on a typed error. ``audit`` names the
        staff action to record (reads pass None: the services' audit covers changes too)."""
        actor = Actor(kind="csr", id=who.username, on_behalf_session=on_behalf_session)
        try:
            reply = await self.pool.call(
                command,
                payload,
                actor=actor,
                correlation_id=f"gateway:{who.session_id[:12]}",
                reply_type=reply_type or command.REPLY or Reply[Any],
            )
        except ServiceUnavailable as exc:
            reply = Reply[Any](ok=False, error=unavailable(str(exc)))
        if audit is not None:
            outcome = "ok" if reply.ok else reply.error.code
            await self.staff.audit(
                who.username, who.role, audit, target, outcome, None if reply.ok else reply.error.message
            )
        if not reply.ok:
            raise CommandFailed(reply.error)
        return reply.result
