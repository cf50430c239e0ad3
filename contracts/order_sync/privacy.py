"""Order-sync's part of a privacy request (C18), version 1.

Asked by the customer service (``contracts/customer/privacy.py``), answered by order-sync.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.envelope import Command
from contracts.replies import Reply
from contracts.service import CustomerDataRequest, CustomerErasureRequest, ServiceErasureReply


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class OrderSyncCustomerData(_Out):
    """Order-sync's part: links from source systems, linked orders, review items, match data."""

    customer_code: str
    source_links: list[dict[str, Any]] = Field(default_factory=list)
    orders: list[dict[str, Any]] = Field(default_factory=list)
    reviews: list[dict[str, Any]] = Field(default_factory=list)
    match_entry: dict[str, Any] | None = Field(default=None, description="What order-sync matches orders against.")


OrderSyncDataReply = Reply[OrderSyncCustomerData]


class OrderSyncExportCustomerData(Command[CustomerDataRequest]):
    """C18: order-sync's data about a customer (asked by the customer service)."""

    DOMAIN = "order-sync"
    REPLY = OrderSyncDataReply
    message_type: Literal["export-customer-data"] = "export-customer-data"
    schema_version: Literal[1] = 1


class OrderSyncEraseCustomerData(Command[CustomerErasureRequest]):
    """C18: erase a customer's personal data in order-sync (asked by the customer service)."""

    DOMAIN = "order-sync"
    REPLY = ServiceErasureReply
    message_type: Literal["erase-customer-data"] = "erase-customer-data"
    schema_version: Literal[1] = 1
