"""Customer service contract, version 1: organizations (C5) and customer groups (C19).

An organization is a customer record of kind ``organization`` (same codes, same search);
customers join and leave it. A group is static (members added and removed by code) or a
segment (members are the customers its rules match, computed when asked). Commands go to
``<ns>.commands`` as ``customer.<command>.v1``; events come out as ``customer.<event>.v1``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, Field, FiniteFloat, StringConstraints

from .customer import (
    AddressInput,
    AddressView,
    CustomerCode,
    CustomerState,
    ScopeId,
    SearchPage,
    _In,
    _Out,
)
from .envelope import Command, Event, define_message
from .replies import Reply
from .types import OptionalText, Text

#: A group's id, chosen by whoever creates it: "vip-paris". Case does not matter.
GroupId = Annotated[
    str,
    BeforeValidator(lambda v: v.strip().lower() if isinstance(v, str) else v),
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,49}$"),
]
GroupKind = Literal["static", "segment"]
#: What a segment rule looks at: ``attributes.<name>`` (a field of the scope's account
#: template), ``tag``, ``state``, ``order_count`` or ``last_order_at``.
RuleField = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, pattern=r"^(attributes\.[a-z][a-z0-9_]{0,49}|tag|state|order_count|last_order_at)$"
    ),
]
RuleOp = Literal["equals", "one_of", "greater_than", "less_than", "at_least", "at_most", "before", "after"]
#: Numbers are finite: JSON has no NaN or Infinity, and 1e309 would be read as one (P4: a rule
#: holding one was accepted, then written as null, which its own event refuses).
RuleValue = str | bool | int | FiniteFloat | list[str | bool | int | FiniteFloat]

# --- organizations (C5) -------------------------------------------------------------------


class NewOrganization(_In):
    scope_id: ScopeId
    number: Text = Field(description="The organization's own business number; unique in the scope.")
    name: Text
    address: AddressInput | None = None
    manager: OptionalText = None
    manager_phone: OptionalText = Field(default=None, description="Read with the scope's country; stored as E.164.")
    price_level: OptionalText = None


class OrganizationChanges(_In):
    """Absent fields are left alone; null clears an optional one."""

    number: Text | None = None
    name: Text | None = None
    address: AddressInput | None = None
    manager: OptionalText = None
    manager_phone: OptionalText = None
    price_level: OptionalText = None


class OrganizationView(_Out):
    code: str = Field(description="A customer code: organizations are customer records of kind organization.")
    scope_id: str
    version: int
    number: str
    name: str
    address: AddressView | None = None
    manager: str | None = None
    manager_phone: str | None = None
    price_level: str | None = None
    state: CustomerState
    member_count: int = 0
    registered_at: datetime
    updated_at: datetime


class OrganizationRef(_In):
    organization_code: CustomerCode
    limit: int = Field(default=20, ge=1, le=20, description="Members per page.")
    cursor: OptionalText = Field(default=None, description="next_cursor of the previous members page.")


class OrganizationDetail(_Out):
    organization: OrganizationView
    members: SearchPage = Field(description="A page of its members, by name.")


class UpdateOrganizationInput(_In):
    organization_code: CustomerCode
    expected_version: int = Field(ge=1, description="The version the caller read; a stale one is a conflict.")
    changes: OrganizationChanges


class MembershipInput(_In):
    customer_code: CustomerCode
    organization_code: CustomerCode


class Membership(_Out):
    customer_code: str
    organization_code: str
    customer_version: int
    changed: bool = Field(description="False when it already was so (joining twice is a no-op).")


# --- groups (C19) ------------------------------------------------------------------------


class SegmentRule(_In):
    """One condition; a segment's rules all hold (AND).

    - ``attributes.<name>``: equals, one_of; integer and date fields also greater_than, less_than.
    - ``tag``: equals (has the tag), one_of (has any of them).
    - ``state``: equals, one_of.
    - ``order_count``: at_least, at_most (a customer without orders has 0).
    - ``last_order_at``: before, after (a customer who never ordered matches neither).
    """

    field: RuleField
    op: RuleOp
    value: RuleValue = Field(description="A list for one_of.")


class NewGroup(_In):
    group_id: GroupId
    scope_id: ScopeId
    name: Text
    kind: GroupKind = "static"
    rules: list[SegmentRule] = Field(default_factory=list, max_length=20, description="For a segment: at least one.")


class GroupView(_Out):
    group_id: str
    scope_id: str
    name: str
    kind: GroupKind
    rules: list[SegmentRule] = Field(default_factory=list)
    version: int
    created_at: datetime
    updated_at: datetime


class UpdateGroupRulesInput(_In):
    group_id: GroupId
    expected_version: int = Field(ge=1)
    rules: list[SegmentRule] = Field(min_length=1, max_length=20)


class GroupMembersInput(_In):
    group_id: GroupId
    customer_codes: list[CustomerCode] = Field(min_length=1, max_length=500)


class GroupMembersResult(_Out):
    group_id: str
    changed: list[str] = Field(description="Codes actually added (or removed); the others already were so.")


class ListGroupsInput(_In):
    scope_id: ScopeId | None = None


class GroupMembersPageInput(_In):
    group_id: GroupId
    limit: int = Field(default=20, ge=1, le=20)
    cursor: OptionalText = None


OrganizationReply = Reply[OrganizationView]
OrganizationDetailReply = Reply[OrganizationDetail]
MembershipReply = Reply[Membership]
GroupReply = Reply[GroupView]
GroupListReply = Reply[list[GroupView]]
GroupMembersReply = Reply[GroupMembersResult]
GroupMembersPageReply = Reply[SearchPage]


def _command(name: str, payload: type[BaseModel], reply: type[BaseModel], doc: str) -> type[Command]:
    return define_message(Command, "customer", name, payload, doc, reply=reply)


CreateOrganization = _command("CreateOrganization", NewOrganization, OrganizationReply, "C5: create an organization (B2B).")
UpdateOrganization = _command("UpdateOrganization", UpdateOrganizationInput, OrganizationReply, "C5: change an organization, at an expected version.")
GetOrganization = _command("GetOrganization", OrganizationRef, OrganizationDetailReply, "C5: an organization and a page of its members.")
JoinOrganization = _command("JoinOrganization", MembershipInput, MembershipReply, "C5: a customer joins an organization.")
LeaveOrganization = _command("LeaveOrganization", MembershipInput, MembershipReply, "C5: a customer leaves an organization.")
CreateGroup = _command("CreateGroup", NewGroup, GroupReply, "C19: create a static group or a rule-based segment.")
UpdateGroupRules = _command("UpdateGroupRules", UpdateGroupRulesInput, GroupReply, "C19: replace a segment's rules.")
AddGroupMembers = _command("AddGroupMembers", GroupMembersInput, GroupMembersReply, "C19: add customers to a static group.")
RemoveGroupMembers = _command("RemoveGroupMembers", GroupMembersInput, GroupMembersReply, "C19: remove customers from a static group.")
ListGroups = _command("ListGroups", ListGroupsInput, GroupListReply, "C19: the groups, of a scope or all.")
GetGroupMembers = _command("GetGroupMembers", GroupMembersPageInput, GroupMembersPageReply, "C19: a page of a group's members, by name.")


# --- events --------------------------------------------------------------------------------


class OrganizationCreatedPayload(_Out):
    organization: OrganizationView


class OrganizationUpdatedPayload(_Out):
    organization_code: str
    version: int
    changed: dict[str, Any] = Field(description="The new value of each changed field.")


class MembershipPayload(_Out):
    customer_code: str
    organization_code: str
    customer_version: int


class GroupPayload(_Out):
    group: GroupView


class GroupMembersChangedPayload(_Out):
    group_id: str
    added: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)


def _event(name: str, payload: type[BaseModel], doc: str) -> type[Event]:
    return define_message(Event, "customer", name, payload, doc)


OrganizationCreated = _event("OrganizationCreated", OrganizationCreatedPayload, "C5: an organization was created.")
OrganizationUpdated = _event("OrganizationUpdated", OrganizationUpdatedPayload, "C5: fields of an organization changed.")
CustomerJoinedOrganization = _event("CustomerJoinedOrganization", MembershipPayload, "C5: a customer joined an organization.")
CustomerLeftOrganization = _event("CustomerLeftOrganization", MembershipPayload, "C5: a customer left an organization.")
GroupCreated = _event("GroupCreated", GroupPayload, "C19: a group or segment was created.")
GroupRulesChanged = _event("GroupRulesChanged", GroupPayload, "C19: a segment's rules were replaced.")
GroupMembersChanged = _event("GroupMembersChanged", GroupMembersChangedPayload, "C19: customers were added to or removed from a static group.")

RELATIONS_COMMANDS = tuple(
    cls for cls in list(globals().values()) if isinstance(cls, type) and issubclass(cls, Command) and cls is not Command
)
RELATIONS_EVENTS = tuple(
    cls for cls in list(globals().values()) if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event
)
