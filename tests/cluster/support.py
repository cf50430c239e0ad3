"""The cluster of deploy/local/cluster.sh, its faults, and a burst of orders to run through it.

``Cluster`` runs the script and reaches each server: the RabbitMQ nodes through rabbitmqctl
with the cluster's environment, the mongods through their pid files and the seed list.
``OrderStorm`` publishes orders as storefronts do (persistent, confirmed, the same message
again when a publish was not confirmed), people with several orders each, some orders sent
twice, and counts what became of them once the services settled.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.request
from collections import Counter
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiormq.exceptions
from pymongo import AsyncMongoClient, MongoClient, ReadPreference
from pymongo.errors import PyMongoError

from contracts.customer.records import CreateScope, ScopeReply
from contracts.envelope import new_message_id
from contracts.order_sync.linking import OrderLinked
from contracts.upstream.orders import OrderPlaced, OrderShipped
from order_sync.handlers import UPSTREAM_QUEUE
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings
from plumbing.unit_of_work import INBOX, OUTBOX
from tools.smtp_capture import CapturedMail

from ..integration.system.faults_support import Worker, queue_leftovers

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy/local/cluster.sh"
CLUSTER_DIR = ROOT / "deploy/local/.cluster"
RABBITMQ_BIN = Path(os.environ.get("OMS_RABBITMQ_BIN", "/usr/lib/rabbitmq/bin"))
NODES = (1, 2, 3)


def run_script(*args: str, timeout: float = 300) -> str:
    """cluster.sh with ``args``; its output also goes to .cluster/script.log as it runs (the
    steps are timed there, for a run that hangs)."""
    CLUSTER_DIR.mkdir(parents=True, exist_ok=True)
    log = CLUSTER_DIR / "script.log"
    with log.open("a", encoding="utf-8") as out:
        out.write(f"\n$ cluster.sh {' '.join(args)} at {time.strftime('%H:%M:%S')}\n")
        out.flush()
        start = out.tell()
        result = subprocess.run(
            ["bash", str(SCRIPT), *args],
            stdout=out,
            stderr=out,
            timeout=timeout,
            env={**os.environ, "OMS_CLUSTER_QUIET": "1"},
        )
    with log.open(encoding="utf-8") as written:
        written.seek(start)
        output = written.read()
    if result.returncode != 0:
        raise AssertionError(f"cluster.sh {' '.join(args)} failed:\n{output[-6000:]}")
    return output


class Cluster:
    def __init__(self) -> None:
        shell = f'eval "$(bash {SCRIPT} env)"; printf "%s\\n%s\\n" "$OMS_AMQP_URL" "$OMS_MONGODB_URL"'
        urls = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, check=True, timeout=30)
        self.amqp_url, self.mongodb_url = urls.stdout.split()
        self.mongodb_ports = [int(port) for port in re.findall(r"127\.0\.0\.1:(\d+)", self.mongodb_url)]
        self.amqp_ports = [int(port) for port in re.findall(r"127\.0\.0\.1:(\d+)/", self.amqp_url)]
        #: RabbitMQ nodes a fault stopped or killed, until ``up`` starts them again.
        self.down: set[int] = set()
        #: A node may have left since every quorum queue last had a member to spare (a
        #: session starts on a cluster an earlier one may have left short).
        self.quorums_unsure = True

    def amqp_url_via(self, node: int) -> str:
        """OMS_AMQP_URL with node ``node`` first: a client connects there."""
        urls = self.amqp_url.split(",")
        return ",".join(urls[node - 1 :] + urls[: node - 1])

    def up(self) -> None:
        """Start whatever is not running (a node a fault stopped) and wait until all serve."""
        run_script("up")
        self.down.clear()

    def quorum_plus_one(self, timeout: int = 120) -> None:
        """Wait until every quorum queue has a quorum and one more member online: a node that
        just came back is running its queue members again, so losing one node now (the next
        fault) leaves every queue its quorum. (Without it, a leader killed seconds after
        another node restarted left the intake queue without a quorum for over a minute.)
        The three nodes are asked side by side: each CLI call boots an Erlang VM, seconds on
        a loaded machine; and only when a node stopped or was killed since they last answered
        (a MongoDB fault leaves the queues as they were)."""
        if not self.quorums_unsure:
            return

        def wait(node: int) -> None:
            subprocess.run(
                [str(RABBITMQ_BIN / "rabbitmq-upgrade"), "-n", f"oms{node}@localhost", "-q"]
                + ["await_online_quorum_plus_one", "-t", str(timeout)],
                check=True,
                capture_output=True,
                env=self.rabbit_env(node),
                timeout=timeout + 60,
            )

        with ThreadPoolExecutor(len(NODES)) as pool:
            list(pool.map(wait, NODES))
        self.quorums_unsure = False

    def whole(self) -> bool:
        """Every RabbitMQ node listens (it opens its AMQP port last as it boots) and the
        replica set has a primary and two secondaries: nothing for ``up`` to do."""
        for port in self.amqp_ports:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except OSError:
                return False
        states = sorted(self.mongo_status().values())
        return states == ["PRIMARY", "SECONDARY", "SECONDARY"]

    # --- RabbitMQ ----------------------------------------------------------------------

    def rabbit_env(self, node: int) -> dict[str, str]:
        return {**os.environ, "HOME": str(CLUSTER_DIR / "rabbitmq"), "ERL_EPMD_ADDRESS": "127.0.0.1"}

    def rabbitmqctl(self, node: int, *args: str, timeout: float = 120) -> str:
        return subprocess.run(
            [str(RABBITMQ_BIN / "rabbitmqctl"), "-n", f"oms{node}@localhost", *args],
            check=True,
            capture_output=True,
            text=True,
            env=self.rabbit_env(node),
            timeout=timeout,
        ).stdout

    def any_rabbitmqctl(self, *args: str) -> str:
        """rabbitmqctl on the first node that answers, the nodes a fault took down last (asking
        a dead node costs a CLI start and a failed connection, seconds on a loaded machine)."""
        error: Exception | None = None
        for node in sorted(NODES, key=lambda n: n in self.down):
            try:
                return self.rabbitmqctl(node, *args)
            except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
                error = exc
        raise AssertionError(f"no RabbitMQ node answers: {error}")

    def queue_leader(self, queue: str) -> int:
        """The node (1..3) that leads the quorum queue ``queue``."""
        rows = json.loads(self.any_rabbitmqctl("list_queues", "name", "leader", "--formatter", "json"))
        leader = next(row["leader"] for row in rows if row["name"] == queue)
        return int(re.match(r"oms(\d)@", leader).group(1))  # type: ignore[union-attr]

    def quorum_status(self, queue: str) -> str:
        """Each member of ``queue``: its Raft state, log and commit index (to diagnose a stall)."""
        try:
            rows = json.loads(self.any_rabbitmqctl("quorum_status", queue, "--formatter", "json"))
        except (AssertionError, json.JSONDecodeError) as exc:
            return f"quorum_status {queue}: {exc}"
        return "; ".join(
            f"{row.get('Node Name')} {row.get('Raft State')} log={row.get('Log Index')} "
            f"commit={row.get('Commit Index')} term={row.get('Term')}"
            for row in rows
        )

    def rabbit_pid(self, node: int) -> int:
        return int((CLUSTER_DIR / f"rabbitmq/oms{node}/rabbitmq.pid").read_text().strip())

    def kill9_rabbit(self, node: int) -> None:
        self.down.add(node)
        self.quorums_unsure = True
        os.kill(self.rabbit_pid(node), signal.SIGKILL)

    def stop_rabbit(self, node: int) -> None:
        """A clean stop: the node closes its connections and leaves its queues' quorums."""
        self.down.add(node)
        self.quorums_unsure = True
        self.rabbitmqctl(node, "stop", timeout=90)

    # --- MongoDB -----------------------------------------------------------------------

    def mongo_status(self) -> dict[int, str]:
        """port -> PRIMARY, SECONDARY..., as the first member that answers sees it."""
        for port in self.mongodb_ports:
            client: MongoClient[dict[str, Any]] = MongoClient(
                f"mongodb://127.0.0.1:{port}/?directConnection=true", serverSelectionTimeoutMS=1000
            )
            try:
                members = client.admin.command("replSetGetStatus")["members"]
                return {int(m["name"].rsplit(":", 1)[1]): m["stateStr"] for m in members}
            except PyMongoError:
                continue
            finally:
                client.close()
        return {}

    def primary(self, timeout: float = 30) -> int:
        """The primary's port, once there is one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [port for port, state in self.mongo_status().items() if state == "PRIMARY"]
            if len(found) == 1:
                return found[0]
            time.sleep(0.2)
        raise AssertionError(f"no primary within {timeout}s: {self.mongo_status()}")

    def mongod_pid(self, port: int) -> int:
        member = self.mongodb_ports.index(port) + 1
        return int((CLUSTER_DIR / f"mongodb/m{member}/mongod.pid").read_text().strip())

    def kill9_mongod(self, port: int) -> None:
        os.kill(self.mongod_pid(port), signal.SIGKILL)

    def step_down(self, port: int, seconds: int = 10) -> None:
        client: MongoClient[dict[str, Any]] = MongoClient(
            f"mongodb://127.0.0.1:{port}/?directConnection=true", serverSelectionTimeoutMS=5000
        )
        try:
            client.admin.command("replSetStepDown", seconds, secondaryCatchUpPeriodSecs=5)
        except PyMongoError:
            pass  # the step-down closes the connection that asked for it
        finally:
            client.close()


def fail_once(cluster: Cluster, app: str, command: str, *, times: int = 1, **data: Any) -> None:
    """The primary answers the next ``command`` of the client named ``app`` with ``data``
    (MongoDB's ``failCommand`` fail point: an error code, a write concern error, a closed
    connection), once (``times``: as many times in a row, e.g. a retryable write and the
    driver's retry of it)."""
    client: MongoClient[dict[str, Any]] = MongoClient(
        f"mongodb://127.0.0.1:{cluster.primary()}/?directConnection=true", serverSelectionTimeoutMS=5000
    )
    try:
        client.admin.command(
            "configureFailPoint",
            "failCommand",
            mode={"times": times},
            data={"failCommands": [command], "appName": app, **data},
        )
    finally:
        client.close()


# --- figures -------------------------------------------------------------------------------


@dataclass
class Figures:
    fault: str
    orders: int = 0  # distinct orders published
    publishes: int = 0  # messages published, duplicates included
    publish_retries: int = 0  # publishes not confirmed (or refused), sent again
    linked: int = 0  # orders linked to a customer
    people: int = 0
    customers: int = 0  # customers the burst created
    split_people: int = 0  # people with more than one customer
    links_per_order_max: int = 0  # OrderLinked events for one order
    duplicate_links: int = 0
    events_published: int = 0  # OrderLinked events published by order-sync's relay
    events_applied: int = 0  # ... applied by the customer service (its inbox)
    orders_counted: int = 0  # the customers' order counters, summed
    unpublished: int = 0  # events left in an outbox
    left_in_queues: int = 0
    left_unacknowledged: int = 0
    dead_letters: int = 0
    handler_retries: int = 0  # messages whose handler failed, parked in a retry tier, all workers
    redelivered: int = 0  # intake deliveries beyond one per publish (a lost connection's unacked)
    fault_seconds: float = 0.0  # the fault itself (a kill, a step-down, a restart)
    recovery_seconds: float = 0.0  # longest stretch without a new link once the fault began
    settle_seconds: float = 0.0  # from the first publish until everything was counted
    emails_expected: int = 0  # shipping confirmations: one per order shipped
    emails_sent: int = 0  # orders whose shipping confirmation the SMTP server received
    emails_twice: int = 0  # confirmations received beyond one per order shipped
    emails_unexpected: int = 0  # confirmations for an order never shipped
    #: Why publishes were sent again (exception type: count), and the longest a message took
    #: from its first publish to its confirm.
    publish_errors: Counter[str] = field(default_factory=Counter)
    longest_unconfirmed_seconds: float = 0.0
    holding: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        return (
            (self.orders - self.linked)
            + (self.events_published - self.events_applied)
            + max(self.orders - self.orders_counted, 0)
            + self.unpublished
            + (self.emails_expected - self.emails_sent)
        )

    @property
    def duplicated(self) -> int:
        return (
            self.duplicate_links
            + self.split_people
            + max(self.customers - self.people, 0)
            + max(self.orders_counted - self.orders, 0)
            + self.emails_twice
            + self.emails_unexpected
        )

    def progress(self) -> tuple[int, ...]:
        """What grows while the services work the burst through."""
        return (self.linked, self.events_applied, self.orders_counted, self.emails_sent, self.unpublished)

    def line(self) -> str:
        return (
            f"CLUSTER FAULT {self.fault}: orders={self.orders} (publishes {self.publishes}, retried "
            f"{self.publish_retries}) linked={self.linked} customers={self.customers} for {self.people} people "
            f"(split {self.split_people}) links/order max={self.links_per_order_max} | events published="
            f"{self.events_published} applied={self.events_applied} orders counted={self.orders_counted} | "
            f"emails sent={self.emails_sent} of {self.emails_expected} (twice {self.emails_twice}, unexpected "
            f"{self.emails_unexpected}) | lost={self.lost} duplicated={self.duplicated} | dead letters={self.dead_letters} left in queues="
            f"{self.left_in_queues} unacked={self.left_unacknowledged} handler retries="
            f"{self.handler_retries} intake redeliveries={self.redelivered} | fault {self.fault_seconds:.1f}s, recovery {self.recovery_seconds:.1f}s, "
            f"settled in {self.settle_seconds:.1f}s | longest unconfirmed publish "
            f"{self.longest_unconfirmed_seconds:.1f}s"
            + (
                f" ({', '.join(f'{name} x{n}' for name, n in self.publish_errors.most_common())})"
                if self.publish_errors
                else ""
            )
            + (f" | holding: {'; '.join(self.holding)}" if self.holding else "")
        )


# --- the burst -----------------------------------------------------------------------------


class OrderStorm:
    """ORDERS orders from PEOPLE people (new customers each: the first orders of a person
    race each other over two order-sync workers), every DUPLICATE_EVERY-th order sent a
    second time under a new message id (a storefront that sent it again), and every
    SHIP_EVERY-th order shipped a little later in the stream: one shipping confirmation
    email each, sent by the notification workers to the test's SMTP server."""

    ORDERS = 1000
    PEOPLE = 200
    DUPLICATE_EVERY = 10
    SHIP_EVERY = 5
    #: A shipment follows its order this many orders later: it often meets an order still
    #: being linked (order-sync parks it until then).
    SHIP_LAG = 25
    #: Publishes a second: the burst is still arriving when the fault hits (at FAULT_AT of it).
    RATE = 75
    IN_FLIGHT = 32
    FAULT_AT = 0.4

    def __init__(self, settings: ServiceSettings, tag: str, mail: CapturedMail) -> None:
        # Each test its own scope, source and order numbers: the services run on for the next.
        self.settings = settings
        self.mail = mail
        self.SCOPE = f"cluster-{tag}"
        self.SOURCE = f"storefront:cluster-{tag}"
        template = json.loads((ROOT / "contracts/examples/order-placed.v1.json").read_text(encoding="utf-8"))
        template.pop("message_id")
        self.template = template
        self.numbers = [f"CLU-{tag}-{index:05d}" for index in range(self.ORDERS)]
        self.number_pattern = re.compile(rf"CLU-{tag}-\d{{5}}")
        self.shipped = {self.numbers[index] for index in range(0, self.ORDERS, self.SHIP_EVERY)}
        self.confirmed = 0
        self.total = 0
        self.placed_publishes = 0

    def person(self, index: int) -> int:
        return index % self.PEOPLE

    def order(self, index: int) -> OrderPlaced:
        person = self.person(index)
        raw = json.loads(json.dumps(self.template))
        names = {"first_name": f"Client {person}", "last_name": "Grappe"}
        raw["payload"].update(
            {
                "order_number": self.numbers[index],
                "source_system": self.SOURCE,
                "scope": self.SCOPE,
                "source_customer_id": None,
                "account_type": "guest",
                "email": f"client{person}@example.fr",
                "phone": None,
                **names,
            }
        )
        for address in ("billing_address", "shipping_address"):
            raw["payload"][address].update({**names, "phone": None})
        raw["message_id"] = new_message_id()
        return OrderPlaced.model_validate(raw)

    def shipment(self, index: int) -> OrderShipped:
        return OrderShipped.model_validate(
            {
                "producer": "wms",
                "payload": {
                    "source_system": self.SOURCE,
                    "order_number": self.numbers[index],
                    "scope": self.SCOPE,
                    "shipment_id": f"S-{self.numbers[index]}",
                    "carrier": "Colissimo",
                    "tracking_number": f"T{index}",
                    "lines": [{"sku": "TEE-ORG-M", "quantity": 1}],
                    "shipped_at": "2026-12-04T10:00:00Z",
                },
            }
        )

    def messages(self) -> list[OrderPlaced | OrderShipped]:
        """Every order, the duplicates and the shipments a little later in the stream."""
        out: list[OrderPlaced | OrderShipped] = []
        for index in range(self.ORDERS + self.SHIP_LAG):
            if index < self.ORDERS:
                out.append(self.order(index))
                if index % self.DUPLICATE_EVERY == 0 and index >= 50:
                    out.append(self.order(index - 50))  # the same order, sent again
            shipped = index - self.SHIP_LAG
            if shipped >= 0 and shipped % self.SHIP_EVERY == 0:
                out.append(self.shipment(shipped))
        return out

    async def midway(self) -> None:
        """Until FAULT_AT of the messages are confirmed (the rest on their way)."""
        while not self.total or self.confirmed < self.total * self.FAULT_AT:
            await asyncio.sleep(0.05)

    async def prepare(self, client: OmsClient) -> None:
        command = CreateScope(producer="tests", payload={"scope_id": self.SCOPE, "name": "Cluster", "country": "FR"})
        reply = await client.request(command, ScopeReply, timeout=30)
        assert reply.ok, reply.error

    async def publish(self, client: OmsClient, figures: Figures, diagnose: Callable[[], str]) -> None:
        """Every message, paced at RATE a second, each sent again until confirmed."""
        messages = self.messages()
        self.total = len(messages)
        gate = asyncio.Semaphore(self.IN_FLIGHT)
        start = time.monotonic()
        # A refused publish (basic.nack) is sent again on a new connection and channel, as the
        # outbox relay does: in two runs a channel that began publishing while the intake
        # queue's leader node died was refused every publish for 90 s after the queue had its
        # new leader (docs/platform.md).
        publisher, replaced_at, spare = client, 0.0, []

        async def replace_publisher() -> None:
            nonlocal publisher, replaced_at
            if time.monotonic() - replaced_at < 2:
                return
            replaced_at = time.monotonic()
            fresh = OmsClient(client.settings, producer="cluster-tests")
            await fresh.__aenter__()
            spare.append(fresh)
            publisher = fresh
            figures.publish_errors["new publisher"] += 1

        async def one(position: int, message: OrderPlaced | OrderShipped) -> None:
            await asyncio.sleep(max(0.0, start + position / self.RATE - time.monotonic()))
            async with gate:
                first = time.monotonic()
                deadline = first + 90
                while True:
                    try:
                        await asyncio.wait_for(publisher.publish_upstream(message), 10)
                        self.confirmed += 1
                        waited = time.monotonic() - first
                        figures.longest_unconfirmed_seconds = max(figures.longest_unconfirmed_seconds, waited)
                        return
                    except Exception as exc:  # noqa: BLE001 - not confirmed: the same message again
                        figures.publish_retries += 1
                        figures.publish_errors[type(exc).__name__] += 1
                        if isinstance(exc, aiormq.exceptions.DeliveryError):
                            with contextlib.suppress(Exception):  # the node may be down: later
                                await replace_publisher()
                        if time.monotonic() > deadline:
                            state = await asyncio.to_thread(diagnose)
                            raise AssertionError(
                                f"{message.payload.order_number} never confirmed ({figures.publish_errors}): {state}"
                            ) from exc
                        await asyncio.sleep(0.2)

        try:
            await asyncio.gather(*(one(position, message) for position, message in enumerate(messages)))
        finally:
            for fresh in spare:
                with contextlib.suppress(Exception):
                    await fresh.__aexit__(None, None, None)
        figures.publishes = len(messages)
        self.placed_publishes = sum(1 for message in messages if isinstance(message, OrderPlaced))
        figures.orders = self.ORDERS
        figures.people = self.PEOPLE
        figures.emails_expected = len(self.shipped)

    def count_emails(self, figures: Figures) -> None:
        """Shipping confirmations received, by the order number in their subject."""
        received = Counter(
            found.group(0)
            for message in list(self.mail.messages)
            if (found := self.number_pattern.search(str(message["subject"])))
        )
        figures.emails_sent = len([number for number in received if number in self.shipped])
        figures.emails_twice = sum(count - 1 for number, count in received.items() if number in self.shipped)
        figures.emails_unexpected = sum(count for number, count in received.items() if number not in self.shipped)

    def linked_query(self) -> dict[str, Any]:
        return {"source_system": self.SOURCE, "customer_code": {"$nin": [None, ""]}}

    async def count(self, mongo: AsyncMongoClient[Any], figures: Figures) -> None:
        order_db = mongo[self.settings.database_name("order-sync")]
        customer_db = mongo[self.settings.database_name("customer")]
        orders = await order_db["orders"].find(self.linked_query(), {"order_number": 1, "customer_code": 1}).to_list()
        code_of = {doc["order_number"]: doc["customer_code"] for doc in orders}
        figures.linked = len([number for number in self.numbers if number in code_of])
        per_person: dict[int, set[str]] = {}
        for index, number in enumerate(self.numbers):
            if number in code_of:
                per_person.setdefault(self.person(index), set()).add(code_of[number])
        figures.split_people = sum(1 for codes in per_person.values() if len(codes) > 1)
        customers = await customer_db["customers"].find({"scope_id": self.SCOPE}, {"order_count": 1}).to_list()
        figures.customers = len(customers)
        figures.orders_counted = sum(int(doc.get("order_count") or 0) for doc in customers)
        events = (
            await order_db[OUTBOX]
            .find({"routing_key": OrderLinked.routing_key()}, {"body": 1, "published_at": 1})
            .to_list()
        )
        ours = set(self.numbers)
        number_of = {event["_id"]: json.loads(event["body"])["payload"]["order"]["order_number"] for event in events}
        events = [event for event in events if number_of[event["_id"]] in ours]  # not an earlier test's
        links = Counter(number_of[event["_id"]] for event in events)
        figures.links_per_order_max = max(links.values(), default=0)
        figures.duplicate_links = sum(count - 1 for count in links.values() if count > 1)
        published = [event["_id"] for event in events if event["published_at"] is not None]
        figures.events_published = len(published)
        figures.unpublished = sum(
            [
                await mongo[self.settings.database_name(service)][OUTBOX].count_documents({"published_at": None})
                for service in ("order-sync", "customer", "notification")
            ]
        )
        figures.events_applied = await customer_db[INBOX].count_documents(
            {"_id": {"$in": [f"customer:{message_id}" for message_id in published]}}
        )
        self.count_emails(figures)


class Progress:
    """Samples the orders linked, to measure how long the fault held the work up."""

    def __init__(self, mongo: AsyncMongoClient[Any], storm: OrderStorm) -> None:
        self.collection = mongo[storm.settings.database_name("order-sync")].get_collection(
            "orders", read_preference=ReadPreference.PRIMARY_PREFERRED
        )
        self.query = storm.linked_query()
        self.linked = 0
        #: (time, linked) each time the count went up.
        self.steps: list[tuple[float, int]] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            try:
                linked = await self.collection.count_documents(self.query, maxTimeMS=2000)
            except PyMongoError:
                linked = self.linked
            if linked > self.linked:
                self.linked = linked
                self.steps.append((time.monotonic(), linked))
            await asyncio.sleep(0.2)

    def longest_stall(self, since: float, until: float) -> float:
        """The longest time without a new link between ``since`` (the fault) and ``until``."""
        times = [since] + [at for at, _ in self.steps if since < at <= until]
        return max((b - a for a, b in zip(times, times[1:], strict=False)), default=until - since)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


def worker_metrics(workers: list[Worker]) -> Counter[str]:
    """From each worker's metrics, summed: ``retried``, the messages whose handler failed and
    that were parked for a later attempt (published to ``<ns>.<service>.retry``); ``intake``,
    the OrderPlaced deliveries to order-sync (redeliveries included)."""
    totals: Counter[str] = Counter()
    placed = OrderPlaced.routing_key()  # FastStream labels a delivery with its routing key
    for worker in workers:
        try:
            text = urllib.request.urlopen(f"http://127.0.0.1:{worker.port}/metrics", timeout=5).read().decode()
        except OSError:
            continue
        for line in text.splitlines():
            value = line.rsplit(" ", 1)[-1]
            if line.startswith("faststream_published_messages_total{") and '.retry"' in line and "success" in line:
                totals["retried"] += int(float(value))
            elif line.startswith("faststream_received_messages_total{") and f".upstream.{placed}" in line:
                totals["intake"] += int(float(value))
    return totals


Fault = Callable[[Cluster], Awaitable[None]]

#: Seconds without any count moving after which a burst that has not settled is counted as it
#: is (and fails): the test never waits on a clock otherwise.
STALLED = 60.0
#: Seconds between two whole counts while the burst is still being worked through.
FULL_COUNT_EVERY = 5.0

SERVICES = {"customer": "customer.app", "order-sync": "order_sync.app", "notification": "notification.app"}


def service_workers(settings: ServiceSettings, log_dir: Path, smtp_port: int) -> list[Worker]:
    """Two worker processes each of customer, order-sync and notification, as containers
    would run them; notification sends to the test's SMTP server on ``smtp_port``."""
    mail = {
        # No worker is killed here: long leases spare a loaded machine the hand-overs of a
        # relay or partition holder that missed a renewal by a second.
        "OMS_OUTBOX_LEASE_SECONDS": "10",
        "OMS_PARTITION_LEASE_SECONDS": "10",
        "OMS_SMTP_PORT": str(smtp_port),
        "OMS_NOTIFICATION_POLL_SECONDS": "0.1",
        "OMS_NOTIFICATION_RETRY_BASE_SECONDS": "0.2",
        "OMS_NOTIFICATION_RETRY_MAX_SECONDS": "1",
    }
    return [
        Worker(f"{service}-{n}", f"{module}:create_app", settings, log_dir, **mail)
        for service, module in SERVICES.items()
        for n in (1, 2)
    ]


async def storm_through(
    cluster: Cluster,
    settings: ServiceSettings,
    workers: list[Worker],
    mail: CapturedMail,
    name: str,
    tag: str,
    fault: Fault,
    *,
    publish_via: int | None = None,
) -> Figures:
    """Publish the storm to the running ``workers`` (through node ``publish_via``, the one the
    fault takes down, if given), run ``fault`` once FAULT_AT of it is published, wait until
    everything settled (and the fault is over), and count."""
    storm = OrderStorm(settings, tag, mail)
    figures = Figures(name)
    mongo: AsyncMongoClient[Any] = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
    progress = Progress(mongo, storm)
    try:
        await asyncio.gather(*(worker.until_ready() for worker in workers))
        before = await asyncio.to_thread(worker_metrics, workers)
        via = settings.model_copy(update={"amqp_url": cluster.amqp_url_via(publish_via)}) if publish_via else settings
        async with OmsClient(via, producer="cluster-tests") as client:
            await storm.prepare(client)
            progress.start()
            started = time.monotonic()
            intake = intake_queue(settings)
            publishing = asyncio.create_task(storm.publish(client, figures, lambda: cluster.quorum_status(intake)))
            await storm.midway()
            fault_began = time.monotonic()

            async def faulting() -> None:
                await fault(cluster)
                figures.fault_seconds = time.monotonic() - fault_began

            # The fault (a restart may take a while) and the rest of the burst run side by side.
            fault_done = asyncio.create_task(faulting())
            await publishing

            async def settled(final: bool) -> bool:
                await storm.count(mongo, figures)
                if figures.lost and not final:
                    return False  # not yet: the queues are asked (a CLI call) only at the end
                ready, unacked, dead, holding = await asyncio.to_thread(
                    queue_leftovers, cluster.any_rabbitmqctl, settings.namespace
                )
                figures.left_in_queues, figures.left_unacknowledged, figures.dead_letters = ready, unacked, dead
                figures.holding = holding
                return figures.lost == 0 and ready == 0 and unacked == 0

            # Until everything is counted, or nothing moved for STALLED seconds: a loaded machine
            # may take minutes, and only work standing still is a failure. The whole count (every
            # order, link event and counter; up to 2 s of a loaded machine, taken from the
            # services) runs once the orders linked and the emails received say the burst may be
            # through, and every FULL_COUNT_EVERY seconds before, to see the rest move.
            mark, moved, next_full = None, time.monotonic(), 0.0
            while True:
                storm.count_emails(figures)
                through = progress.linked >= storm.ORDERS and figures.emails_sent >= len(storm.shipped)
                if through or time.monotonic() >= next_full:
                    if await settled(final=False) and fault_done.done():
                        break
                    next_full = time.monotonic() + FULL_COUNT_EVERY
                if (progress.linked, figures.emails_sent, figures.progress()) != mark:
                    mark, moved = (progress.linked, figures.emails_sent, figures.progress()), time.monotonic()
                elif time.monotonic() - moved > STALLED and fault_done.done():
                    await settled(final=True)
                    break
                await asyncio.sleep(0.5)
            await fault_done  # its own failure, if any
            figures.settle_seconds = time.monotonic() - started
            figures.recovery_seconds = progress.longest_stall(fault_began, progress.steps[-1][0])
            after = await asyncio.to_thread(worker_metrics, workers)
            figures.handler_retries = after["retried"] - before["retried"]
            figures.redelivered = after["intake"] - before["intake"] - storm.placed_publishes
    finally:
        await progress.stop()
        await mongo.close()
    print(figures.line(), flush=True)
    if path := os.environ.get("OMS_CLUSTER_REPORT"):
        with open(path, "a", encoding="utf-8") as out:
            out.write(figures.line() + "\n")
    return figures


def assert_nothing_lost_or_duplicated(figures: Figures) -> None:
    assert figures.linked == figures.orders == OrderStorm.ORDERS, figures.line()
    assert figures.lost == 0, figures.line()
    assert figures.duplicated == 0, figures.line()
    assert figures.links_per_order_max == 1, figures.line()
    assert figures.customers == figures.people, figures.line()
    assert figures.events_applied == figures.events_published == figures.orders, figures.line()
    assert figures.emails_sent == figures.emails_expected == len(range(0, OrderStorm.ORDERS, OrderStorm.SHIP_EVERY)), (
        figures.line()
    )
    assert figures.emails_twice == figures.emails_unexpected == 0, figures.line()
    assert figures.dead_letters == 0, figures.line()
    assert figures.left_in_queues == 0 and figures.left_unacknowledged == 0, figures.line()
    assert figures.recovery_seconds < 30, figures.line()


def intake_queue(settings: ServiceSettings) -> str:
    return settings.topology.queue("order-sync", UPSTREAM_QUEUE)
