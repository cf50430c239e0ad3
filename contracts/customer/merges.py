"""Merging two customers into one, and undoing it (C13), version 1.

``MergeCustomers`` moves everything of the merged customer (B) to the survivor (A) in one
transaction and retires B with a pointer to A; a merge journal records what moved, so that
``UnmergeCustomers`` can split B back out within the configured window. The other services
follow the merge through ``CustomersMerged`` / ``CustomersUnmerged`` (order links, order
matching, email activities).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts.customer.records import CustomerCode, CustomerView
from contracts.envelope import Command, Event
from contracts.order_sync.linking import OrderSummary
from contracts.replies import Reply
from contracts.types import Identifier, OptionalIdentifier, OptionalText, Text

MergeState = Literal["merged", "unmerged"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class MergeInput(_In):
    """C13: merge ``merged_code`` (B) into ``survivor_code`` (A), both at the versions the CSR read."""

    survivor_code: CustomerCode
    survivor_version: int = Field(ge=1, description="The version of the survivor the caller read.")
    merged_code: CustomerCode
    merged_version: int = Field(ge=1, description="The version of the merged customer the caller read.")
    reason: Text


class FieldMove(_Out):
    """What one field of the survivor received from the merged customer."""

    field: str
    moved: Any = Field(default=None, description="B's part that the survivor took (items, a value, a count).")
    kept_from_merged: Any = Field(
        default=None, description="B's values the survivor did not take (its own won), kept for the record."
    )


class MergeJournalEntry(_Out):
    merge_id: str
    scope_id: str
    survivor_code: str
    merged_code: str
    reason: str
    state: MergeState
    merged_at: datetime
    merged_by: str
    undo_until: datetime = Field(description="Until when the merge can be undone (unmerge window).")
    moves: list[FieldMove] = Field(default_factory=list)
    history_entries: int = Field(default=0, description="History entries of B that moved to the survivor.")
    unmerged_at: datetime | None = None
    unmerged_by: str | None = None
    unmerge_reason: str | None = None


class MergeOutcome(_Out):
    merge_id: str
    survivor: CustomerView
    undo_until: datetime


class UnmergeInput(_In):
    merge_id: Identifier
    reason: OptionalText = None


class UnmergeOutcome(_Out):
    merge_id: str
    survivor: CustomerView
    restored: CustomerView = Field(description="The merged customer, active again as it was.")


class MergeJournalQuery(_In):
    """One merge by id, or every merge a customer took part in (newest first)."""

    merge_id: OptionalIdentifier = None
    customer_code: CustomerCode | None = None

    @model_validator(mode="after")
    def _one_subject(self) -> MergeJournalQuery:
        if (self.merge_id is None) == (self.customer_code is None):
            raise ValueError("give either merge_id or customer_code")
        return self


class MergeJournalPage(_Out):
    items: list[MergeJournalEntry]


class CustomersMergedPayload(_Out):
    merge_id: str
    scope_id: str
    survivor_code: str
    merged_code: str
    survivor: CustomerView = Field(description="The survivor after the merge.")
    merged: CustomerView = Field(description="The merged customer, retired, merged_into the survivor.")
    moves: list[FieldMove] = Field(default_factory=list)
    merged_at: datetime


class CustomersUnmergedPayload(_Out):
    merge_id: str
    scope_id: str
    survivor_code: str
    merged_code: str
    survivor: CustomerView
    restored: CustomerView
    merged_at: datetime = Field(description="When the merge being undone happened.")
    unmerged_at: datetime


class OrdersReassignedPayload(_Out):
    """Orders order-sync tied to another customer because of an unmerge: those linked to the
    survivor since the merge through the merged customer's source links."""

    merge_id: str
    from_code: str
    to_code: str
    orders: list[OrderSummary]


MergeReply = Reply[MergeOutcome]
UnmergeReply = Reply[UnmergeOutcome]
MergeJournalReply = Reply[MergeJournalPage]


class MergeCustomers(Command[MergeInput]):
    """C13: merge a customer into another; one transaction."""

    DOMAIN = "customer"
    REPLY = MergeReply
    message_type: Literal["merge-customers"] = "merge-customers"
    schema_version: Literal[1] = 1


class UnmergeCustomers(Command[UnmergeInput]):
    """C13: undo a merge within the unmerge window."""

    DOMAIN = "customer"
    REPLY = UnmergeReply
    message_type: Literal["unmerge-customers"] = "unmerge-customers"
    schema_version: Literal[1] = 1


class GetMergeJournal(Command[MergeJournalQuery]):
    """C13: what a merge moved."""

    DOMAIN = "customer"
    REPLY = MergeJournalReply
    message_type: Literal["get-merge-journal"] = "get-merge-journal"
    schema_version: Literal[1] = 1


class CustomersMerged(Event[CustomersMergedPayload]):
    """C13: a customer was merged into another and retired."""

    DOMAIN = "customer"
    message_type: Literal["customers-merged"] = "customers-merged"
    schema_version: Literal[1] = 1


class CustomersUnmerged(Event[CustomersUnmergedPayload]):
    """C13: a merge was undone; both customers are back."""

    DOMAIN = "customer"
    message_type: Literal["customers-unmerged"] = "customers-unmerged"
    schema_version: Literal[1] = 1


class OrdersReassigned(Event[OrdersReassignedPayload]):
    """C13: after an unmerge, orders placed since the merge under the merged customer's source id went back to it."""

    DOMAIN = "order-sync"
    message_type: Literal["orders-reassigned"] = "orders-reassigned"
    schema_version: Literal[1] = 1


MERGE_COMMANDS = (MergeCustomers, UnmergeCustomers, GetMergeJournal)
MERGE_EVENTS = (CustomersMerged, CustomersUnmerged, OrdersReassigned)
