"""The notification service's part of a privacy request (C18), version 1.

Asked by the customer service (``contracts/customer/privacy.py``), answered by the notification service.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.envelope import Command
from contracts.notification.emails import ActivityView
from contracts.replies import Reply
from contracts.service import CustomerDataRequest, CustomerErasureRequest, ServiceErasureReply


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class NotificationCustomerData(_Out):
    """The notification service's part: every email activity with its content."""

    customer_code: str
    activities: list[ActivityView] = Field(default_factory=list)


NotificationDataReply = Reply[NotificationCustomerData]


class NotificationExportCustomerData(Command[CustomerDataRequest]):
    """C18: a customer's email activities with content (asked by the customer service)."""

    DOMAIN = "notification"
    REPLY = NotificationDataReply
    message_type: Literal["export-customer-data"] = "export-customer-data"
    schema_version: Literal[1] = 1


class NotificationEraseCustomerData(Command[CustomerErasureRequest]):
    """C18: anonymize a customer's email activities (asked by the customer service)."""

    DOMAIN = "notification"
    REPLY = ServiceErasureReply
    message_type: Literal["erase-customer-data"] = "erase-customer-data"
    schema_version: Literal[1] = 1
