"""Privacy (C18), version 1: export everything held about a customer, or erase it.

A CSR tool sends one request to the customer service; it gathers (or erases) its own data
and asks each other service for theirs with the commands each of them owns
(``contracts/order_sync/privacy.py``, ``contracts/notification/privacy.py``), then answers
one document: the export, or a receipt of what each service erased. Erasure anonymizes
personal fields and keeps order records consistent (orders keep the customer code).

A data subject's request that arrives from a commerce platform (Shopify's mandatory
``customers/data_request``) is a work item of its own (``RecordDataRequest``): open until a
member of staff has exported the customers it names and handed the export over
(``CompleteDataRequest``). It keeps ids only, never the email or phone the platform sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.customer.merges import MergeJournalEntry
from contracts.customer.records import AuditEntry, CustomerCode
from contracts.envelope import Command, Event
from contracts.notification.privacy import NotificationCustomerData
from contracts.order_sync.privacy import OrderSyncCustomerData
from contracts.replies import Reply
from contracts.service import ServiceErasure
from contracts.types import Identifier, OptionalIdentifier, OptionalText, Text


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


# --- what a CSR tool sends to the customer service ----------------------------------------------


class PrivacyRequest(_In):
    customer_code: CustomerCode
    reason: Text = Field(description="Why: the data subject's request, its ticket number; audited.")


class CustomerRecordData(_Out):
    """The customer service's part: the record as stored, its history, audit and merges."""

    record: dict[str, Any]
    history: list[dict[str, Any]] = Field(default_factory=list)
    audit: list[AuditEntry] = Field(default_factory=list)
    merge_journal: list[MergeJournalEntry] = Field(default_factory=list)


class CustomerDataExport(_Out):
    customer_code: str
    exported_at: datetime
    reason: str
    customer: CustomerRecordData
    order_sync: OrderSyncCustomerData
    notification: NotificationCustomerData


class ErasureReceipt(_Out):
    erasure_id: str
    customer_code: str
    reason: str
    erased_at: datetime
    services: list[ServiceErasure] = Field(description="One entry per service, customer first.")


class CustomerErasedPayload(_Out):
    customer_code: str
    scope_id: str
    erasure_id: str
    erased_at: datetime


# --- a data subject's request from a platform: a work item until someone completes it ------------

DataRequestState = Literal["open", "completed"]
#: What the platform asks for: the customer's data (Shopify ``customers/data_request``), or it
#: deleted the customer on its side (staff decide whether C18's erasure follows).
DataRequestKind = Literal["export", "deletion"]
#: Ids a data request names; a platform lists at most a few hundred orders.
MAX_NAMED = 500


class DataRequestInput(_In):
    """What a platform's data request names, ids only: the adapter leaves out the email and
    phone the platform sends with it."""

    platform: Identifier = Field(description="The platform it came from (`shopify`).")
    shop: Identifier = Field(description="The shop on that platform (Shopify's shop domain, else its id).")
    request_id: Identifier = Field(description="The platform's id of the request (Shopify's `data_request.id`).")
    kind: DataRequestKind = Field(
        default="export", description="export: the customer asks for their data; deletion: the platform deleted them."
    )
    source_system: OptionalIdentifier = Field(default=None, description="Our source system for the shop's orders.")
    source_customer_id: OptionalIdentifier = Field(default=None, description="The platform's id of the customer.")
    order_numbers: list[Identifier] = Field(default_factory=list, max_length=MAX_NAMED)
    customer_codes: list[CustomerCode] = Field(
        default_factory=list, max_length=MAX_NAMED, description="Our customers those ids are linked to."
    )


class ListDataRequestsInput(_In):
    state: DataRequestState = "open"
    limit: int = Field(default=50, ge=1, le=200)


class CompleteDataRequestInput(_In):
    request_key: Identifier
    note: OptionalText = Field(default=None, description="How the export was handed over (a ticket); audited.")


class DataRequestView(_Out):
    """One data request: open until someone completes it. Its key is ``platform:shop:request_id``."""

    request_key: str
    platform: str
    shop: str
    request_id: str
    kind: DataRequestKind = "export"
    source_system: str | None = None
    source_customer_id: str | None = None
    order_numbers: list[str] = Field(default_factory=list)
    customer_codes: list[str] = Field(default_factory=list)
    received_at: datetime
    state: DataRequestState
    completed_by: str | None = None
    completed_at: datetime | None = None
    note: str | None = None


class DataRequestPayload(_Out):
    """What the events about a data request carry: its key, the customers it names, its state."""

    request_key: str
    platform: str
    shop: str
    request_id: str
    kind: DataRequestKind = "export"
    customer_codes: list[str] = Field(default_factory=list)
    source_customer_id: str | None = None
    state: DataRequestState
    received_at: datetime
    completed_by: str | None = None
    completed_at: datetime | None = None


ExportReply = Reply[CustomerDataExport]
ErasureReply = Reply[ErasureReceipt]
DataRequestReply = Reply[DataRequestView]
DataRequestListReply = Reply[list[DataRequestView]]


class ExportCustomerData(Command[PrivacyRequest]):
    """C18: everything every service holds about a customer, as one document."""

    DOMAIN = "customer"
    REPLY = ExportReply
    message_type: Literal["export-customer-data"] = "export-customer-data"
    schema_version: Literal[1] = 1


class EraseCustomerData(Command[PrivacyRequest]):
    """C18: anonymize a customer in every service; answers a receipt."""

    DOMAIN = "customer"
    REPLY = ErasureReply
    message_type: Literal["erase-customer-data"] = "erase-customer-data"
    schema_version: Literal[1] = 1


class CustomerErased(Event[CustomerErasedPayload]):
    """C18: a customer's personal data was erased; drop any copy of it."""

    DOMAIN = "customer"
    message_type: Literal["customer-erased"] = "customer-erased"
    schema_version: Literal[1] = 1


class RecordDataRequest(Command[DataRequestInput]):
    """C18: keep a platform's data request as open work; the same request twice is one item."""

    DOMAIN = "customer"
    REPLY = DataRequestReply
    message_type: Literal["record-data-request"] = "record-data-request"
    schema_version: Literal[1] = 1


class ListDataRequests(Command[ListDataRequestsInput]):
    """C18: data requests by state, open ones oldest first, completed ones newest first."""

    DOMAIN = "customer"
    REPLY = DataRequestListReply
    message_type: Literal["list-data-requests"] = "list-data-requests"
    schema_version: Literal[1] = 1


class CompleteDataRequest(Command[CompleteDataRequestInput]):
    """C18: the export was handed over; records who did it and when. A repeat changes nothing."""

    DOMAIN = "customer"
    REPLY = DataRequestReply
    message_type: Literal["complete-data-request"] = "complete-data-request"
    schema_version: Literal[1] = 1


class DataRequestReceived(Event[DataRequestPayload]):
    """C18: a platform asked for a data subject's data; open until completed."""

    DOMAIN = "customer"
    message_type: Literal["data-request-received"] = "data-request-received"
    schema_version: Literal[1] = 1


class DataRequestCompleted(Event[DataRequestPayload]):
    """C18: a data request was answered: staff exported and handed over the data."""

    DOMAIN = "customer"
    message_type: Literal["data-request-completed"] = "data-request-completed"
    schema_version: Literal[1] = 1


PRIVACY_COMMANDS = (
    ExportCustomerData,
    EraseCustomerData,
    RecordDataRequest,
    ListDataRequests,
    CompleteDataRequest,
)
