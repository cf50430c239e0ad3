"""Who may do what (I4): the one table of staff roles and their rights, no I/O.

Every route names one action; a role without it gets 403. Supervisors have every right of
a CSR plus the irreversible or privileged customer actions; administrators have every
right of a supervisor plus the configuration and operations screens.
"""

from __future__ import annotations

from typing import Literal, get_args

from contracts.customer.records import SIGN_IN_LOCK_REASON

Role = Literal["csr", "supervisor", "administrator"]
ROLES: tuple[Role, ...] = get_args(Role)

CSR_ACTIONS = frozenset(
    {
        "customer.read",  # search, summary, record, history, activities, audit, merges, orders
        "customer.create",
        "customer.update",
        "customer.activate",
        "customer.deactivate",
        "customer.disable",
        "customer.unlock",  # enable an account locked by failed sign-ins (C15), not a disabled one
        "customer.reset_password",
        "customer.on_behalf",
        "customer.send_email",
        "review.read",
        "review.resolve",
        "template.read",
        "account_template.read",
    }
)
SUPERVISOR_ACTIONS = CSR_ACTIONS | {
    "customer.enable",
    "customer.approve",
    "customer.reject",
    "customer.merge",
    "customer.unmerge",
    "customer.export",  # C18: everything held about a customer, as one document
    "customer.erase",  # C18: anonymize a customer in every service (irreversible)
}
ADMINISTRATOR_ACTIONS = SUPERVISOR_ACTIONS | {
    "template.manage",
    "account_template.manage",
    "dead_letter.read",
    "dead_letter.replay",
    "staff.manage",
    "customer.invite_without_password",  # C14: 'set empty passwords', for every customer at once
    "customer.import",  # C17: a CSV or JSONL file of customers, from the console
}

RIGHTS: dict[Role, frozenset[str]] = {
    "csr": CSR_ACTIONS,
    "supervisor": SUPERVISOR_ACTIONS,
    "administrator": ADMINISTRATOR_ACTIONS,
}
ACTIONS = tuple(sorted(ADMINISTRATOR_ACTIONS))

#: The right each ChangeCustomerState action needs.
STATE_ACTION_RIGHTS = {
    "activate": "customer.activate",
    "deactivate": "customer.deactivate",
    "disable": "customer.disable",
    "enable": "customer.enable",
    "approve": "customer.approve",
    "reject": "customer.reject",
}


def state_action_right(action: str, state: str | None = None, state_reason: str | None = None) -> str:
    """The right a state change needs: enabling an account the sign-in policy locked is a
    CSR's unlock; enabling one a supervisor disabled stays a supervisor's."""
    if action == "enable" and state == "disabled" and state_reason == SIGN_IN_LOCK_REASON:
        return "customer.unlock"
    return STATE_ACTION_RIGHTS[action]


def allowed(role: str, action: str) -> bool:
    if action not in ADMINISTRATOR_ACTIONS:
        raise KeyError(f"unknown action {action!r}")  # a typo in a route must not deny silently
    return action in RIGHTS.get(role, frozenset())  # type: ignore[call-overload]
