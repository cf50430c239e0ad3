"""What the order-sync handlers share in a worker: its clients of the customer service and
its copy of the scopes, and the clock they stamp with."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

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


def resources(runtime: ServiceRuntime) -> Resources:
    return runtime.resources["order-sync"]


def now() -> datetime:
    at = datetime.now(UTC)
    return at.replace(microsecond=at.microsecond // 1000 * 1000)
