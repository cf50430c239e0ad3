"""The notification service's event handlers in memory (issue 20): its app on FastStream's
TestRabbitBroker, the system-emails batcher replaced by a recording stand-in
(plumbing.testing). A set-password invitation becomes a welcome email whose link is the
sealed one opened, kept redacted in the recorded copy (C14, N1); an invitation sealed with
another key is dead-lettered on its field and never queued. Without servers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet

from contracts.customer.records import LinkPayload, PasswordSetupInvited, Recipient
from notification.app import create_app
from notification.outbound import Outbound
from plumbing.messaging import events_exchange
from plumbing.sealing import Sealer, redact_link
from plumbing.settings import ServiceSettings
from plumbing.testing import RecordingBatcher, in_memory

SETTINGS = ServiceSettings(namespace="unit", max_attempts=1)
KEY = Fernet.generate_key().decode()


def invitation(sealed_with: str) -> tuple[PasswordSetupInvited, str]:
    link = f"https://shop.example.com/account/set-password?token={uuid.uuid4().hex}"
    to = Recipient(
        customer_code="C1234567", scope_id="eu", email="camille@example.com", first_name="Camille", last_name="Martin"
    )
    payload = LinkPayload(
        recipient=to,
        link=redact_link(link),
        sealed_link=Sealer(sealed_with).seal(link),
        expires_at=datetime.now(UTC) + timedelta(days=2),
    )
    return PasswordSetupInvited(producer="customer", payload=payload), link


def services(system_emails: RecordingBatcher[Any, Any]) -> dict[str, object]:
    outbound = Outbound()
    outbound.sealer = Sealer(KEY)  # what its startup takes from OMS_LINK_KEY
    return {"outbound": outbound, "system-emails": system_emails}


async def publish(broker: Any, event: PasswordSetupInvited) -> None:
    await broker.publish(
        event.model_dump(mode="json"),
        exchange=events_exchange(SETTINGS.topology),
        routing_key=event.routing_key(),
        message_id=event.message_id,
    )


async def test_n1_c14_an_invitation_is_queued_as_a_welcome_email_with_its_link_opened_and_recorded_redacted() -> None:
    system_emails: RecordingBatcher[Any, Any] = RecordingBatcher()
    event, link = invitation(sealed_with=KEY)
    async with in_memory(create_app(SETTINGS), SETTINGS, "notification", services(system_emails)) as (broker, dead):
        await publish(broker, event)
    assert dead.letters == []
    [(cause, request)] = system_emails.items
    assert cause.message_id == event.message_id
    assert request.template == "welcome" and request.recipient.email == "camille@example.com"
    assert request.context["link"] == link
    assert request.recorded_context["link"] == redact_link(link) != link


async def test_c14_an_invitation_sealed_with_another_key_is_dead_lettered_and_never_queued() -> None:
    system_emails: RecordingBatcher[Any, Any] = RecordingBatcher()
    event, _ = invitation(sealed_with=Fernet.generate_key().decode())
    async with in_memory(create_app(SETTINGS), SETTINGS, "notification", services(system_emails)) as (broker, dead):
        await publish(broker, event)
    assert system_emails.items == []
    assert len(dead.letters) == 1
    assert [e["field"] for e in dead.field_errors()[0]] == ["payload.sealed_link"]
