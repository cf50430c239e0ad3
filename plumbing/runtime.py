"""What a handler is given: the service's runtime, and the dependencies its ``app.py`` built.

``plumbing.service`` builds and runs an app around a ``ServiceRuntime``; handlers, stores and
rules import this module only (their names for what they declare: ``Runtime``,
``Injected``, ``CommandTable``), never the app's wiring.
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Generic

from fast_depends.library import CustomField
from faststream.rabbit import Channel, RabbitBroker
from faststream.rabbit.subscriber import RabbitSubscriber
from prometheus_client import CollectorRegistry
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from typing_extensions import TypeVar

from contracts.envelope import Command
from contracts.replies import Reply

from .batching import Batcher, Pending
from .messaging import routed_as
from .settings import ServiceSettings

if TYPE_CHECKING:
    from .dead_letters import DeadLetters
    from .metrics import PlatformMetrics
    from .outbox import OutboxRelay

#: A service's settings class (``CustomerSettings``...): its runtime is typed by it.
SettingsT = TypeVar("SettingsT", bound=ServiceSettings, default=ServiceSettings, covariant=True)


@dataclass
class ServiceRuntime(Generic[SettingsT]):
    """What every service holds, built once by ``create_service_app``; handlers declare it
    (``runtime: Runtime``) and FastStream injects it. A service's own dependencies (clients,
    renderers, batchers) are built in its ``app.py`` and injected the same way (``Injected``)."""

    name: str
    settings: SettingsT
    broker: RabbitBroker
    registry: CollectorRegistry
    dead_letters: DeadLetters
    metrics: PlatformMetrics
    #: The subscriber of ``<ns>.<service>.commands``; ``on_command`` adds handlers to it.
    commands: RabbitSubscriber
    #: This worker: host, process and a random tag (two apps of one process are two workers).
    instance: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}")
    #: Ordered subscriptions (plumbing.ordering) register themselves here.
    ordered: list[Any] = field(default_factory=list)
    #: Every subscriber consumes (set after startup, cleared when shutdown begins).
    consuming: bool = False
    #: Opened at startup, closed at shutdown (a closed client cannot be used again, so each
    #: start opens its own): reached through ``mongo`` and ``outbox``, which say when they are not.
    _mongo: AsyncMongoClient[Any] | None = field(default=None, repr=False)
    _outbox: OutboxRelay | None = field(default=None, repr=False)

    @property
    def mongo(self) -> AsyncMongoClient[Any]:
        if self._mongo is None:
            raise RuntimeError(f"{self.name}: MongoDB is not connected (before startup or after shutdown)")
        return self._mongo

    @mongo.setter
    def mongo(self, client: AsyncMongoClient[Any]) -> None:
        self._mongo = client

    @property
    def connected(self) -> bool:
        return self._mongo is not None

    async def close_mongo(self) -> None:
        """Shutdown: close the client (it cannot be used again; the next start opens its own)."""
        if self._mongo is not None:
            await self._mongo.close()
            self._mongo = None

    @property
    def outbox(self) -> OutboxRelay:
        if self._outbox is None:
            raise RuntimeError(f"{self.name}: the outbox relay runs only between startup and shutdown")
        return self._outbox

    @outbox.setter
    def outbox(self, relay: OutboxRelay) -> None:
        self._outbox = relay

    @property
    def outbox_running(self) -> bool:
        return self._outbox is not None

    def on_command(self, command: type[Command[Any]], handler: Callable[..., Awaitable[Any]]) -> None:
        """Answer ``command`` with ``handler`` on the service's one command queue.

        Call it from ``build_routers``: a second subscriber on the same queue would be a
        competing consumer without the other handlers, and dead-letter what it cannot route.
        """
        self.commands(filter=routed_as(command.routing_key()))(handler)

    def batcher(
        self,
        batch: str,
        process: Callable[[list[Pending[Any, Any]]], Awaitable[None]],
        *,
        max_size: int = 64,
        max_in_flight: int = 1,
        linger: float = 0.0,
    ) -> Batcher[Any, Any]:
        """A ``Batcher`` whose batch sizes go to the ``oms_batch_size`` metric as ``batch``."""
        observe = self.metrics.batch_sizes.labels(self.name, batch).observe
        return Batcher(process, max_size=max_size, max_in_flight=max_in_flight, linger=linger, observe=observe)

    def batching_channel(self) -> Channel:
        """The channel of a subscriber whose handlers submit to a ``Batcher``: its own, with
        ``batch_prefetch_count`` messages in flight, so that a burst gathers into large batches."""
        return Channel(prefetch_count=self.settings.batch_prefetch_count)

    def outbox_written(self) -> None:
        """A transaction committed events: let the relay publish them without waiting."""
        if self._outbox is not None:
            self._outbox.wake()

    @property
    def db(self) -> AsyncDatabase[Any]:
        return self.mongo[self.settings.database_name(self.name)]

    def all_consuming(self) -> bool:
        """Every subscriber consumes, except the partitions of ordered subscriptions, which
        consume only while this worker holds their lease (a worker holding none is a
        stand-by, and ready)."""
        gated = {id(s) for subscription in self.ordered for s in subscription.subscribers}
        plain = all(getattr(s, "running", False) for s in self.broker.subscribers if id(s) not in gated)
        return plain and all(
            subscription.balancer.owned <= subscription.balancer.consuming for subscription in self.ordered
        )

    async def database_ok(self, timeout: float = 2.0) -> bool:
        try:
            await asyncio.wait_for(self.db.command("ping"), timeout)
            return True
        except Exception:  # noqa: BLE001 - any failure means "not ready"
            return False

    async def broker_ok(self, timeout: float = 2.0) -> bool:
        try:
            return await self.broker.ping(timeout)
        except Exception:  # noqa: BLE001
            return False


class Injected(CustomField):
    """A dependency a handler declares, ``Annotated[Outbound, Injected("outbound")]``: the
    object its service's ``app.py`` put in the app's context under that name
    (``app.context.set_global``), given by FastStream (fast_depends) with every message.

    Like FastStream's own ``Context``, resolved on the event loop: fast_depends runs a
    synchronous ``use`` in a worker thread, for every message and every such parameter; the
    lookup is a dictionary read, and the thread hops cost more than the handlers' own work.
    """

    def __init__(self, name: str) -> None:
        super().__init__(cast=False, required=True)
        self.name = name

    async def use(self, /, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]  # async on purpose
        # FastStream passes each call its app's ContextRepo as ``context__``.
        kwargs[self.param_name or self.name] = kwargs["context__"].resolve(self.name)
        return kwargs


#: Handlers declare ``runtime: Runtime`` to reach the service's runtime; a service whose
#: settings extend ``ServiceSettings`` declares its own alias with them (customer.settings).
Runtime = Annotated[ServiceRuntime, Injected("runtime")]


#: A command's handler: it takes the command and what it declares (``runtime: Runtime``, ...),
#: injected by FastStream by name, and answers a reply.
CommandHandler = Callable[..., Awaitable[Reply[Any]]]
#: A capability's commands and their handlers, as a service's command table joins them.
CommandTable = dict[type[Command[Any]], CommandHandler]


def on_command(runtime: ServiceRuntime[Any], command: type[Command[Any]], handler: Callable[..., Any]) -> None:
    """``runtime.on_command``, as a function."""
    runtime.on_command(command, handler)
