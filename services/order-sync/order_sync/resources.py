"""What the order-sync handlers share in a worker, built once by ``app.py`` and injected
(``plumbing.runtime.Injected``): its clients of the customer service with its copy of the
scopes, and the clock they stamp with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from plumbing import clock
from plumbing.client import OmsClientPool
from plumbing.runtime import Injected
from plumbing.settings import ServiceSettings

from .scopes import ScopeDirectory

#: Requests to the customer service in flight at once per worker (one connection each).
CUSTOMER_CLIENTS = 8


@dataclass
class CustomerService:
    """The customer service as order-sync reaches it: request/reply clients (creations,
    merges, reads) and the scopes it owns, read through once and kept."""

    clients: OmsClientPool
    scopes: ScopeDirectory

    @classmethod
    def of(cls, settings: ServiceSettings, producer: str) -> CustomerService:
        clients = OmsClientPool(settings, size=CUSTOMER_CLIENTS, producer=producer)
        return cls(clients, ScopeDirectory(clients))


#: Handlers that ask the customer service, or read a scope, declare ``customers: Customers``.
Customers = Annotated[CustomerService, Injected("customer-service")]

now = clock.now  # MongoDB's precision (milliseconds)
