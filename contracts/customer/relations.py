"""Customer service contract, version 1: organizations (C5) and customer groups (C19).

An organization is a customer record of kind ``organization`` (same codes, same search);
customers join and leave it. A group is static (members added and removed by code) or a
segment (members are the customers its rules match, computed when asked). Commands go to
``<ns>.commands`` as ``customer.<command>.v1``; events come out as ``customer.<event>.v1``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, FiniteFloat, StringConstraints

from contracts.customer.records import (
    AddressInput,
    AddressView,
    CustomerCode,
    CustomerState,
    ScopeId,
    SearchPage,
    _In,
    _Out,
)
from contracts.envelope import Command, Event
from contracts.replies import Reply
from contracts.types import OptionalText, Text

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


class CreateOrganization(Command[NewOrganization]):
    """C5: create an organization (B2B)."""

    DOMAIN = "customer"
    REPLY = OrganizationReply
    message_type: Literal["create-organization"] = "create-organization"
    schema_version: Literal[1] = 1


class UpdateOrganization(Command[UpdateOrganizationInput]):
    """C5: change an organization, at an expected version."""

    DOMAIN = "customer"
    REPLY = OrganizationReply
    message_type: Literal["update-organization"] = "update-organization"
    schema_version: Literal[1] = 1


class GetOrganization(Command[OrganizationRef]):
    """C5: an organization and a page of its members."""

    DOMAIN = "customer"
    REPLY = OrganizationDetailReply
    message_type: Literal["get-organization"] = "get-organization"
    schema_version: Literal[1] = 1


class JoinOrganization(Command[MembershipInput]):
    """C5: a customer joins an organization."""

    DOMAIN = "customer"
    REPLY = MembershipReply
    message_type: Literal["join-organization"] = "join-organization"
    schema_version: Literal[1] = 1


class LeaveOrganization(Command[MembershipInput]):
    """C5: a customer leaves an organization."""

    DOMAIN = "customer"
    REPLY = MembershipReply
    message_type: Literal["leave-organization"] = "leave-organization"
    schema_version: Literal[1] = 1


class CreateGroup(Command[NewGroup]):
    """C19: create a static group or a rule-based segment."""

    DOMAIN = "customer"
    REPLY = GroupReply
    message_type: Literal["create-group"] = "create-group"
    schema_version: Literal[1] = 1


class UpdateGroupRules(Command[UpdateGroupRulesInput]):
    """C19: replace a segment's rules."""

    DOMAIN = "customer"
    REPLY = GroupReply
    message_type: Literal["update-group-rules"] = "update-group-rules"
    schema_version: Literal[1] = 1


class AddGroupMembers(Command[GroupMembersInput]):
    """C19: add customers to a static group."""

    DOMAIN = "customer"
    REPLY = GroupMembersReply
    message_type: Literal["add-group-members"] = "add-group-members"
    schema_version: Literal[1] = 1


class RemoveGroupMembers(Command[GroupMembersInput]):
    """C19: remove customers from a static group."""

    DOMAIN = "customer"
    REPLY = GroupMembersReply
    message_type: Literal["remove-group-members"] = "remove-group-members"
    schema_version: Literal[1] = 1


class ListGroups(Command[ListGroupsInput]):
    """C19: the groups, of a scope or all."""

    DOMAIN = "customer"
    REPLY = GroupListReply
    message_type: Literal["list-groups"] = "list-groups"
    schema_version: Literal[1] = 1


class GetGroupMembers(Command[GroupMembersPageInput]):
    """C19: a page of a group's members, by name."""

    DOMAIN = "customer"
    REPLY = GroupMembersPageReply
    message_type: Literal["get-group-members"] = "get-group-members"
    schema_version: Literal[1] = 1


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


class OrganizationCreated(Event[OrganizationCreatedPayload]):
    """C5: an organization was created."""

    DOMAIN = "customer"
    message_type: Literal["organization-created"] = "organization-created"
    schema_version: Literal[1] = 1


class OrganizationUpdated(Event[OrganizationUpdatedPayload]):
    """C5: fields of an organization changed."""

    DOMAIN = "customer"
    message_type: Literal["organization-updated"] = "organization-updated"
    schema_version: Literal[1] = 1


class CustomerJoinedOrganization(Event[MembershipPayload]):
    """C5: a customer joined an organization."""

    DOMAIN = "customer"
    message_type: Literal["customer-joined-organization"] = "customer-joined-organization"
    schema_version: Literal[1] = 1


class CustomerLeftOrganization(Event[MembershipPayload]):
    """C5: a customer left an organization."""

    DOMAIN = "customer"
    message_type: Literal["customer-left-organization"] = "customer-left-organization"
    schema_version: Literal[1] = 1


class GroupCreated(Event[GroupPayload]):
    """C19: a group or segment was created."""

    DOMAIN = "customer"
    message_type: Literal["group-created"] = "group-created"
    schema_version: Literal[1] = 1


class GroupRulesChanged(Event[GroupPayload]):
    """C19: a segment's rules were replaced."""

    DOMAIN = "customer"
    message_type: Literal["group-rules-changed"] = "group-rules-changed"
    schema_version: Literal[1] = 1


class GroupMembersChanged(Event[GroupMembersChangedPayload]):
    """C19: customers were added to or removed from a static group."""

    DOMAIN = "customer"
    message_type: Literal["group-members-changed"] = "group-members-changed"
    schema_version: Literal[1] = 1


RELATIONS_COMMANDS = tuple(
    cls for cls in list(globals().values()) if isinstance(cls, type) and issubclass(cls, Command) and cls is not Command
)
RELATIONS_EVENTS = tuple(
    cls for cls in list(globals().values()) if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event
)
