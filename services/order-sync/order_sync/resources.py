"""What the order-sync handlers share in a worker: its clients of the customer service and
its copy of the scopes, and the clock they stamp with."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from plumbing import clock
from plumbing.client import OmsClientPool
from plumbing.service import ServiceRuntime

from .scopes import ScopeDirectory

if TYPE_CHECKING:
    from .intake import Intake


@dataclass
class Resources:
    customers: OmsClientPool
    scopes: ScopeDirectory
    intake: Intake  # orders arriving together, taken together
    #: Sets aside order events whose orders never arrived (order_events.sweep_parked).
    sweeper: asyncio.Task[None]


def resources(runtime: ServiceRuntime) -> Resources:
    held: Resources = runtime.resources["order-sync"]
    return held


now = clock.now  # MongoDB's precision (milliseconds)
