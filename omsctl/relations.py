"""omsctl org and group: organizations (C5) and customer groups and segments (C19), I2.

    omsctl org create eu-fr "FR 123-456" "Crêpes du Nord" --manager "Anne Roy" --manager-phone "01 23 45 67 89"
    omsctl org join C10017 C10025          # organization, then customer
    omsctl org show C10017                 # its fields and a page of its members
    omsctl group create vip-paris eu-fr "VIP Paris"                      # static
    omsctl group create loyal eu-fr "Loyal" --rule "attributes.tier equals gold" \\
        --rule "tag one_of vip,wholesale" --rule "order_count at_least 3"  # a segment
    omsctl group add vip-paris C10025 C10033
    omsctl group members loyal
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

import typer

from contracts.customer.relations import (
    AddGroupMembers,
    CreateGroup,
    CreateOrganization,
    GetGroupMembers,
    GetOrganization,
    JoinOrganization,
    LeaveOrganization,
    ListGroups,
    RemoveGroupMembers,
    UpdateGroupRules,
    UpdateOrganization,
)
from contracts.envelope import Command

from .customers import call, console, show_json, summaries_table

org = typer.Typer(help="Organizations (B2B): create, change, show with members, join, leave.", no_args_is_help=True)
group = typer.Typer(help="Customer groups: static groups and rule-based segments.", no_args_is_help=True)

RULE_HELP = (
    'FIELD OP VALUE, e.g. "attributes.tier equals gold", "tag one_of vip,wholesale", '
    '"state equals active", "order_count at_least 3", "last_order_at after 2026-01-01"'
)


def parse_rule(text: str) -> dict[str, Any]:
    """'order_count at_least 3' -> {"field": "order_count", "op": "at_least", "value": 3}; one_of
    takes values separated by commas; whole numbers are sent as numbers."""
    parts = text.strip().split(maxsplit=2)
    if len(parts) != 3:
        raise typer.BadParameter(f"{text!r}: expected {RULE_HELP}")
    field, op, raw = parts

    def value(item: str) -> Any:
        item = item.strip()
        return int(item) if re.fullmatch(r"-?\d+", item) and not field.startswith("attributes.") else item

    return {"field": field, "op": op, "value": [value(v) for v in raw.split(",")] if op == "one_of" else value(raw)}


def _members(page: Any) -> None:
    console.print(summaries_table(page.items))
    more = f"; next page: --cursor {page.next_cursor}" if page.next_cursor else ""
    console.print(f"{len(page.items)} of {page.total if page.total_is_exact else f'more than {page.total}'}{more}")


# --- organizations -------------------------------------------------------------------------


@org.command("create")
def org_create(
    scope: str,
    number: str,
    name: str,
    manager: Annotated[str | None, typer.Option()] = None,
    manager_phone: Annotated[str | None, typer.Option("--manager-phone")] = None,
    price_level: Annotated[str | None, typer.Option("--price-level")] = None,
    line1: Annotated[str | None, typer.Option(help="address: street")] = None,
    city: Annotated[str | None, typer.Option()] = None,
    postal_code: Annotated[str | None, typer.Option("--postal-code")] = None,
    country: Annotated[str | None, typer.Option(help="address: ISO country code")] = None,
) -> None:
    """Create an organization; NUMBER is its own business number, unique in the scope."""
    address = {"line1": line1, "city": city, "postal_code": postal_code, "country": country} if line1 else None
    result = call(
        CreateOrganization,
        {
            "scope_id": scope,
            "number": number,
            "name": name,
            "manager": manager,
            "manager_phone": manager_phone,
            "price_level": price_level,
            "address": address,
        },
    )
    console.print(f"created organization [bold]{result.code}[/] (version {result.version})")


@org.command("change")
def org_change(
    code: str,
    version: Annotated[int, typer.Option(help="the version you read; a stale one is refused")],
    field: Annotated[
        list[str],
        typer.Option("--set", help="FIELD=VALUE: number, name, manager, manager_phone, price_level (empty clears)"),
    ],
) -> None:
    """Change fields of an organization."""
    changes = {key: value or None for key, _, value in (item.partition("=") for item in field)}
    result = call(UpdateOrganization, {"organization_code": code, "expected_version": version, "changes": changes})
    console.print(f"{result.code} is at version {result.version}")


@org.command("show")
def org_show(code: str, cursor: Annotated[str | None, typer.Option(help="next page of members")] = None) -> None:
    """An organization and a page of its members, by name."""
    detail = call(GetOrganization, {"organization_code": code, "cursor": cursor})
    show_json(detail.organization)
    _members(detail.members)


def _membership(command: type[Command[Any]], done: str, doc: str) -> Callable[[str, str], None]:
    def run(organization: str, customer: str) -> None:
        result = call(command, {"organization_code": organization, "customer_code": customer})
        state = done if result.changed else f"had already {done}"
        console.print(f"{result.customer_code} {state} {result.organization_code} (version {result.customer_version})")

    run.__doc__ = doc
    return run


org.command("join")(_membership(JoinOrganization, "joined", "ORGANIZATION: CUSTOMER joins it (twice: no change)."))
org.command("leave")(_membership(LeaveOrganization, "left", "ORGANIZATION: CUSTOMER leaves it."))


# --- groups --------------------------------------------------------------------------------


@group.command("create")
def group_create(
    group_id: str,
    scope: str,
    name: str,
    rule: Annotated[list[str] | None, typer.Option("--rule", help=f"makes it a segment: {RULE_HELP}")] = None,
) -> None:
    """Create a static group, or a segment when rules are given (all must hold)."""
    rules = [parse_rule(r) for r in rule or []]
    result = call(
        CreateGroup,
        {
            "group_id": group_id,
            "scope_id": scope,
            "name": name,
            "kind": "segment" if rules else "static",
            "rules": rules,
        },
    )
    console.print(f"created {result.kind} group [bold]{result.group_id}[/]")


@group.command("rules")
def group_rules(
    group_id: str,
    version: Annotated[int, typer.Option(help="the version you read")],
    rule: Annotated[list[str], typer.Option("--rule", help=RULE_HELP)],
) -> None:
    """Replace a segment's rules."""
    result = call(
        UpdateGroupRules, {"group_id": group_id, "expected_version": version, "rules": [parse_rule(r) for r in rule]}
    )
    console.print(f"{result.group_id} is at version {result.version}")


def _change_members(command: type[Command[Any]], done: str, doc: str) -> Callable[[str, list[str]], None]:
    def run(group_id: str, codes: list[str]) -> None:
        result = call(command, {"group_id": group_id, "customer_codes": codes})
        console.print(f"{done} {len(result.changed)}: {', '.join(result.changed) or 'none (already so)'}")

    run.__doc__ = doc
    return run


group.command("add")(_change_members(AddGroupMembers, "added", "Add customers (CODES) to a static group."))
group.command("remove")(_change_members(RemoveGroupMembers, "removed", "Remove customers (CODES) from a static group."))


@group.command("members")
def group_members(group_id: str, cursor: Annotated[str | None, typer.Option()] = None) -> None:
    """A page of a group's members by name (for a segment: the customers its rules match now)."""
    _members(call(GetGroupMembers, {"group_id": group_id, "cursor": cursor}))


@group.command("list")
def group_list(scope: Annotated[str | None, typer.Option()] = None) -> None:
    """The groups, with a segment's rules."""
    for g in call(ListGroups, {"scope_id": scope}):
        rules = " AND ".join(f"{r.field} {r.op} {r.value}" for r in g.rules)
        console.print(
            f"{g.group_id:20} {g.scope_id:10} {g.kind:8} v{g.version} {g.name}" + (f"  [{rules}]" if rules else "")
        )
