"""The ceiling per queue on a cluster (issue 23): messages a second through one quorum queue
on the three-node cluster of ``deploy/local/cluster.sh``, beside the same on the single node
of the local stack, in the same run.

    bash deploy/local/cluster.sh up && bash deploy/local/stack.sh up
    python -m bench.cluster_queue                    # 5,000 messages a try, 3 tries each
    python -m bench.cluster_queue --messages 2000 --tries 1

Two hops, each timed from the first publish to the last message handled:

- ``queue``: the queue alone: messages the size of an OrderPlaced, published as a storefront
  does (persistent, mandatory, confirmed, 200 in flight), consumed by one consumer at the
  intake's prefetch that acknowledges each. On the cluster a publish is confirmed once two of
  the three nodes wrote it; the clients either connect to the queue leader's node or to a
  follower's (which forwards every publish and delivery to the leader).
- ``hop``: the order-sync hop of ``bench/order_sync.py``'s raw ceiling (consume, one upsert
  with majority write concern, publish with confirms, ack), against the cluster's broker and
  three-member replica set, or the single node's.

Every target is measured in turns (single node, cluster, single node, ...) and the median of
its tries kept, so that a loaded moment of the shared machine hits both. The ratio that
matters is the cluster's against the single node measured beside it. The single node's
classic queue (exclusive, not replicated) is there to tell the broker's bound from the
client's: when it is no faster than the quorum queue, one Python client publishing and
consuming is the bound, not the queue.
Writes ``bench/results/cluster_queue.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aio_pika

from plumbing.settings import ServiceSettings

from .customer import log, machine
from .order_sync import make_order, publish_burst, raw_ceiling

RESULTS = Path(__file__).resolve().parent / "results"
CLUSTER_SCRIPT = Path(__file__).resolve().parent.parent / "deploy/local/cluster.sh"


def cluster_urls() -> tuple[list[str], str]:
    """The cluster's AMQP URLs (one per node) and its MongoDB seed list, from cluster.sh env."""
    shell = f'eval "$(bash {CLUSTER_SCRIPT} env)"; printf "%s\\n%s\\n" "$OMS_AMQP_URL" "$OMS_MONGODB_URL"'
    out = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, check=True, timeout=60).stdout
    amqp, mongodb = out.split()
    return amqp.split(","), mongodb


async def through_queue(
    declare_url: str, client_url: str, messages: int, prefetch: int, *, kind: str = "quorum"
) -> dict[str, Any]:
    """``messages`` published to one queue and consumed from it, acknowledged one by one.

    The queue is declared over ``declare_url`` (a quorum queue's leader goes to the node that
    declares it), the publisher and the consumer connect to ``client_url``. ``kind``:
    ``quorum`` (durable, replicated on every node of a cluster) or ``classic`` (exclusive, in
    memory, on one node: not replicated)."""
    admin = await aio_pika.connect(declare_url)
    admin_channel = await admin.channel()
    name = f"bench-queue-{uuid.uuid4().hex[:8]}"
    if kind == "quorum":
        await admin_channel.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
    exchange = await admin_channel.declare_exchange(name, aio_pika.ExchangeType.DIRECT, auto_delete=True)
    client = await aio_pika.connect(client_url)
    channel = await client.channel()
    await channel.set_qos(prefetch_count=prefetch)
    if kind == "quorum":
        queue = await channel.declare_queue(name, passive=True)
    else:
        queue = await channel.declare_queue(name, exclusive=True)
    await queue.bind(name, "in")
    done = asyncio.Event()
    handled = 0

    async def handle(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        nonlocal handled
        await message.ack()
        handled += 1
        if handled >= messages:
            done.set()

    await queue.consume(handle)
    body = make_order("QUEUE-1", "queue@example.fr", "Q", "Queue").model_dump_json().encode()
    bodies = [(uuid.uuid4().hex, body) for _ in range(messages)]
    started = time.perf_counter()
    await publish_burst(client, name, "in", bodies)
    await asyncio.wait_for(done.wait(), timeout=600)
    seconds = time.perf_counter() - started
    await client.close()
    if kind == "quorum":
        await admin_channel.queue_delete(name)
    await exchange.delete()
    await admin.close()
    return {"messages": messages, "seconds": round(seconds, 2), "per_second": round(messages / seconds, 1)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5000, help="messages a try")
    parser.add_argument("--tries", type=int, default=3, help="tries of each target (the median is kept)")
    parser.add_argument("--namespace", default="bench-cluster")
    parser.add_argument("--out", type=Path, default=RESULTS / "cluster_queue.json")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    single = ServiceSettings(namespace=args.namespace)
    nodes, cluster_mongodb = cluster_urls()
    cluster = ServiceSettings(namespace=args.namespace, amqp_url=nodes[0], mongodb_url=cluster_mongodb)
    prefetch = single.batch_prefetch_count
    n = args.messages
    # name -> the coroutine of one try; measured in turns.
    targets: dict[str, Any] = {
        "single node, classic queue (not replicated)": lambda: through_queue(
            single.amqp_url, single.amqp_url, n, prefetch, kind="classic"
        ),
        "single node, quorum queue": lambda: through_queue(single.amqp_url, single.amqp_url, n, prefetch),
        "cluster, quorum queue, clients on the leader's node": lambda: through_queue(nodes[0], nodes[0], n, prefetch),
        "cluster, quorum queue, clients on a follower's node": lambda: through_queue(nodes[0], nodes[1], n, prefetch),
        "single node, order-sync hop (upsert w=majority)": lambda: raw_ceiling(single, n),
        "cluster, order-sync hop (3-member replica set)": lambda: raw_ceiling(cluster, n),
    }
    samples: dict[str, list[float]] = {name: [] for name in targets}
    started = time.monotonic()
    for attempt in range(args.tries):
        for name, one in targets.items():
            result = await one()
            samples[name].append(result["per_second"])
            log(f"try {attempt + 1}/{args.tries}: {name}: {result['per_second']:,} messages/s")
    median = {name: statistics.median(values) for name, values in samples.items()}
    names = list(targets)
    ceiling = median[names[0]]

    def ratio(name: str, to: str) -> float:
        return round(median[name] / median[to], 3)

    figures = {
        "queue_single": median[names[1]],
        "queue_cluster_leader": median[names[2]],
        "queue_cluster_follower": median[names[3]],
        "hop_single": median[names[4]],
        "hop_cluster": median[names[5]],
        "classic_single": ceiling,
        "cluster_leader_to_single": ratio(names[2], names[1]),
        "cluster_follower_to_single": ratio(names[3], names[1]),
        "hop_cluster_to_single": ratio(names[5], names[4]),
        "quorum_single_to_classic": ratio(names[1], names[0]),
    }
    results = {
        "benchmark": "cluster_queue",
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {**machine(), "load_average": [round(x, 1) for x in os.getloadavg()]},
        "messages": n,
        "prefetch": prefetch,
        "seconds": round(time.monotonic() - started, 1),
        "samples_per_second": samples,
        "median_per_second": median,
        "figures": figures,
    }
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    for key, value in figures.items():
        log(f"  {key}: {value:,}")
    log(f"wrote {args.out}")


if __name__ == "__main__":
    asyncio.run(main())
