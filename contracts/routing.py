"""Names of exchanges and queues: part of the contract, documented in contracts/README.md.

Everything lives under a *namespace* (``oms`` in production). Tests give each run its own
namespace, so runs never see each other's queues.

- ``<ns>.commands``  direct exchange; a command's routing key is ``<domain>.<type>.v<N>``;
  each service consumes its commands from one quorum queue ``<ns>.<service>.commands``.
- ``<ns>.events``    topic exchange for events published by our services.
- ``<ns>.upstream``  topic exchange where storefronts, marketplaces and POS publish orders.
- ``<ns>.dead-letter`` topic exchange; routing key = the queue the message failed in;
  each service keeps one queue ``<ns>.<service>.dead-letter``.
"""

from __future__ import annotations

from dataclasses import dataclass

SERVICES = ("customer", "notification", "order-sync")


@dataclass(frozen=True)
class Topology:
    namespace: str = "oms"
    #: Tests only: RabbitMQ deletes a queue nobody used for this long, so that a run that was
    #: killed leaves nothing behind. None (production): queues live until deleted.
    queue_expires_ms: int | None = None

    def queue_arguments(self) -> dict[str, int]:
        return {"x-expires": self.queue_expires_ms} if self.queue_expires_ms else {}

    @property
    def commands_exchange(self) -> str:
        return f"{self.namespace}.commands"

    @property
    def events_exchange(self) -> str:
        return f"{self.namespace}.events"

    @property
    def upstream_exchange(self) -> str:
        return f"{self.namespace}.upstream"

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.namespace}.dead-letter"

    def queue(self, service: str, purpose: str) -> str:
        """``<ns>.<service>.<purpose>``, e.g. ``oms.order-sync.upstream-orders``."""
        return f"{self.namespace}.{service}.{purpose}"

    def commands_queue(self, service: str) -> str:
        return self.queue(service, "commands")

    def dead_letter_queue(self, service: str) -> str:
        return self.queue(service, "dead-letter")

    def database(self, service: str) -> str:
        """Each service owns one MongoDB database (P1)."""
        return f"{self.namespace}_{service.replace('-', '_')}"
