"""One AsyncAPI 3.0 document for all the services (and the upstream adapters), generated from their FastStream apps.

Regenerate after any contract change (a test fails while the committed copy drifts):

    faststream docs gen tools.asyncapi:create_app --factory --yaml --out contracts/asyncapi.yaml
"""

from __future__ import annotations

from pathlib import Path

from faststream import FastStream
from faststream.specification import AsyncAPI

from adapters.app import create_app as adapters_app
from customer.app import create_app as customer_app
from notification.app import create_app as notification_app
from order_sync.app import create_app as order_sync_app
from plumbing.service import VERSION
from plumbing.settings import ServiceSettings

DOCUMENT = Path(__file__).resolve().parent.parent / "contracts" / "asyncapi.yaml"

DESCRIPTION = """\
Messages of the customer back end of the order-management system.

Every message body is a JSON envelope (message_id, correlation_id, causation_id, occurred_at,
producer, message_type, schema_version) around a typed payload. Commands go to the
`oms.commands` topic exchange and are answered over RabbitMQ direct reply-to; upstream orders
go to `oms.upstream`; events come out on `oms.events`. Naming: contracts/README.md.
"""


def create_app() -> FastStream:
    # Production names (namespace "oms"); nothing connects: the apps are only described.
    settings = ServiceSettings(namespace="oms", amqp_url="amqp://guest:guest@rabbitmq:5672/")
    brokers = []
    for factory in (customer_app, notification_app, order_sync_app, adapters_app):
        broker = factory(settings).broker
        if broker is None:
            raise RuntimeError(f"{factory.__module__}.{factory.__name__} made an app without a broker")
        brokers.append(broker)
    return FastStream(
        *brokers,
        specification=AsyncAPI(*brokers, title="OMS customer back end", version=VERSION, description=DESCRIPTION),
    )


def render() -> str:
    """The document as `faststream docs gen --yaml` writes it."""
    return create_app().schema.to_specification().to_yaml()
