"""P2: the events an aggregate records (cosmicpython's ``model.events``) become messages of the
unit of work: caused by the message being handled, in the order recorded, collected once. No
server: collecting builds messages, publishing them is the transaction's (apply_once)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from contracts.customer.records import (
    AddressInput,
    CustomerAddressChanged,
    CustomerChanges,
    CustomerUpdated,
    NewCustomer,
    ScopeView,
    UpdateCustomer,
)
from customer.records.rules import Customer
from plumbing.unit_of_work import UnitOfWork

AT = datetime(2026, 12, 4, 9, 30, tzinfo=UTC)
FR = ScopeView(
    scope_id="eu-fr", name="France", country="FR", default_language="fr", requires_approval=False, created_at=AT
)


def unit_of_work(cause: Any = None) -> UnitOfWork:
    return UnitOfWork(db=None, session=None, exchange="oms.events", producer="customer", cause=cause)  # type: ignore[arg-type]


def customer() -> Customer:
    new = NewCustomer(scope_id="eu-fr", first_name="Anna", last_name="Martin", email="anna@example.fr")
    return Customer.create(new, code="C100", scope=FR, template=None, at=AT)


def test_p2_recorded_events_become_messages_caused_by_the_command_in_the_order_recorded() -> None:
    command = UpdateCustomer(
        producer="console",
        correlation_id="conversation-1",
        payload={"customer_code": "C100", "expected_version": 1, "changes": {"last_name": "Durand"}},
    )
    anna = customer()
    anna.change(CustomerChanges(last_name="Durand"), scope=FR, template=None, at=AT)
    anna.add_address(AddressInput(line1="1 rue A", city="Lyon", country="FR"), AT)
    events = unit_of_work(command).collect(anna)
    assert [type(e) for e in events] == [CustomerUpdated, CustomerAddressChanged]
    assert [e.payload.version for e in events] == [2, 3]
    for event in events:
        assert (event.producer, event.correlation_id, event.causation_id) == (
            "customer",
            "conversation-1",
            command.message_id,
        )
    assert len({e.message_id for e in events}) == 2 and command.message_id not in {e.message_id for e in events}
    assert events[0].routing_key() == "customer.customer-updated.v1"


def test_p2_events_are_collected_once_and_a_message_without_a_cause_starts_its_own_conversation() -> None:
    uow, anna = unit_of_work(), customer()
    anna.apply_action("disable", None, AT)
    (event,) = uow.collect(anna)
    assert anna.events == [] and uow.collect(anna) == []
    assert (event.producer, event.correlation_id, event.causation_id) == ("customer", None, None)
    assert uow.events == []  # collecting is not publishing: apply_once writes what is published
