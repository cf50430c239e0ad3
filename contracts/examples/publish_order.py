"""How a storefront publishes an order: plain aio-pika, nothing from this project.

    pip install aio-pika
    python publish_order.py order-placed.v1.json --amqp amqp://guest:guest@127.0.0.1:5672/

The rules (contracts/README.md): publish to the topic exchange ``<namespace>.upstream``,
routing key ``order.<message_type>.v<schema_version>``, persistent, with publisher
confirms and ``mandatory`` so that an unroutable message comes back instead of vanishing.
Keep ``message_id`` stable when you retry: a redelivered order has no second effect.
"""

import argparse
import asyncio
import json
from pathlib import Path

import aio_pika


async def publish(path: Path, amqp_url: str, namespace: str) -> None:
    message = json.loads(path.read_text(encoding="utf-8"))
    routing_key = f"order.{message['message_type']}.v{message['schema_version']}"
    connection = await aio_pika.connect_robust(amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.get_exchange(f"{namespace}.upstream", ensure=True)
        await exchange.publish(
            aio_pika.Message(
                body=json.dumps(message).encode("utf-8"),
                content_type="application/json",
                message_id=message["message_id"],
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=routing_key,
            mandatory=True,
        )  # returns once the broker confirmed it; raises if it could not be routed
    print(f"published {message['message_id']} as {routing_key}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("message", type=Path, help="a JSON message, e.g. order-placed.v1.json")
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--namespace", default="oms")
    args = parser.parse_args()
    asyncio.run(publish(args.message, args.amqp, args.namespace))
