"""Fault tests over the real servers (P2, P3, P5): a burst of work runs while a worker is
killed with SIGKILL, RabbitMQ restarts, or MongoDB restarts. Afterwards every unit of work
was applied exactly once, every event it caused was applied once by its consumer, nothing
was lost and nothing is left in a queue or unacknowledged.

Each fault runs against two ``Workload``s: customer creation (``CreateCustomer`` with an
idempotency key, over request/reply, retried with the same message id until answered; the
``CustomerCreated`` event through the outbox to an ordered consumer, the probe), and a
burst of upstream orders, each with its shipment, over two workers each of customer,
order-sync and notification: every order linked once, to one customer per person, and one
shipping confirmation received per order by a real SMTP server.

The scenarios and what they share (servers of their own, workers, workloads, figures); the
tests are ``test_platform_faults_*.py``, one file a fault, so that two run side by side
(``deploy/local/test.sh``: two at a time, beside nothing else; each on servers of its own).
Each scenario prints one line of figures (run with ``-s`` to see them):
``FAULT <scenario>: published=.. applied=.. duplicated=.. lost=.. ...``. The RabbitMQ and
MongoDB restarts run against private servers started from the same binaries on other
ports, so other test runs on the shared servers are not disturbed; MongoDB runs privately
for the SIGKILL scenario too, with the transaction lifetime the deployment sets.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from contracts.customer.records import CreateCustomer, CreateScope, CustomerCreated, CustomerReply, ScopeReply
from contracts.order_sync.linking import CustomerOrderShipped, OrderLinked
from contracts.upstream.orders import OrderPlaced, OrderShipped
from customer.app import create_app as customer_app
from notification.app import create_app as notification_app
from order_sync.app import create_app as order_sync_app
from plumbing.client import OmsClient
from plumbing.settings import ServiceSettings
from plumbing.unit_of_work import OUTBOX
from tools.smtp_capture import CapturedMail, smtp_server

from ...support import Cleanup, eventually
from ..plumbing.test_platform_support import PROBE, probe_app
from .test_platform_shutdown import ready

ROOT = Path(__file__).resolve().parents[3]
RABBITMQ_BIN = Path(os.environ.get("OMS_RABBITMQ_BIN", "/usr/lib/rabbitmq/bin"))

#: Each fault test file's ``pytestmark``.
SKIP_UNDER_TESTCONTAINERS = pytest.mark.skipif(
    os.environ.get("OMS_TESTCONTAINERS") == "1",
    reason="fault tests stop and kill local server processes; under testcontainers there are none",
)

BURST = 120
CONCURRENCY = 12


# --- figures -----------------------------------------------------------------------------


@dataclass
class Figures:
    scenario: str
    published: int = 0  # units of work sent (distinct messages)
    sends: int = 0  # sends including the client's retries
    applied: int = 0  # units applied (distinct)
    duplicated: int = 0  # effects applied more than once, anywhere
    lost: int = 0  # units or their events never applied
    events_published: int = 0
    events_applied: int = 0
    event_consumers: int = 0  # worker processes that applied events
    redeliveries_absorbed: int = 0  # deliveries the inbox turned into no-ops
    left_in_queues: int = 0
    left_unacknowledged: int = 0
    dead_letters: int = 0
    #: Units answered when the fault began and when it was over (it hit mid-burst).
    done_at_fault: int = 0
    done_after_fault: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    #: A few units that were lost, and what the services hold for them (to diagnose).
    missing: list[str] = field(default_factory=list)
    holding: list[str] = field(default_factory=list)  # queues with messages left, if any

    def line(self) -> str:
        return (
            f"FAULT {self.scenario}: published={self.published} applied={self.applied} "
            f"duplicated={self.duplicated} lost={self.lost} | events published={self.events_published} "
            f"applied={self.events_applied} by {self.event_consumers} workers | client sends={self.sends} redeliveries absorbed="
            f"{self.redeliveries_absorbed} | left in queues={self.left_in_queues} unacked="
            f"{self.left_unacknowledged} dead letters={self.dead_letters} | fault between units "
            f"{self.done_at_fault} and {self.done_after_fault} | {self.seconds:.1f}s"
            + (f" | holding: {'; '.join(self.holding)}" if self.holding else "")
            + (f" | missing: {'; '.join(self.missing)}" if self.missing else "")
            + (f" | {'; '.join(f'{n} x{c}' for n, c in Counter(self.notes).items())}" if self.notes else "")
        )

    def report(self) -> None:
        print(self.line(), flush=True)
        if path := os.environ.get("OMS_FAULT_REPORT"):
            with open(path, "a", encoding="utf-8") as out:
                out.write(json.dumps(asdict(self)) + "\n")


# --- servers -----------------------------------------------------------------------------


@dataclass
class Servers:
    amqp_url: str
    mongodb_url: str
    #: Runs ``rabbitmqctl`` against the node these tests use.
    rabbitmqctl: Callable[..., str]


def shared_rabbitmqctl(*args: str) -> str:
    return subprocess.run(
        [str(RABBITMQ_BIN / "rabbitmqctl"), *args],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOME": "/var/lib/rabbitmq"} if Path("/var/lib/rabbitmq/.erlang.cookie").exists() else None,
    ).stdout


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRabbitMQ:
    """A RabbitMQ node of its own (same binaries, other ports, data under tmp)."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.port = free_port()
        self.node = f"omsfault{uuid.uuid4().hex[:8]}@localhost"
        base.mkdir(parents=True, exist_ok=True)
        (base / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{self.port}\n")
        (base / "enabled_plugins").write_text("[].\n")
        (base / "env.conf").write_text("")
        self.env = {
            **os.environ,
            "HOME": str(base),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_CONF_ENV_FILE": str(base / "env.conf"),
            "RABBITMQ_PID_FILE": str(base / "rabbitmq.pid"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def ctl(self, *args: str) -> str:
        return subprocess.run(
            [str(RABBITMQ_BIN / "rabbitmqctl"), "-n", self.node, *args],
            check=True,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
        ).stdout

    async def start(self) -> None:
        await asyncio.to_thread(
            subprocess.run, [str(RABBITMQ_BIN / "rabbitmq-server"), "-detached"], env=self.env, check=True, timeout=60
        )
        await asyncio.to_thread(self.await_startup)

    def await_startup(self) -> None:
        deadline = time.monotonic() + 90
        while True:
            try:
                self.ctl("await_startup", "--timeout", "60")
                return
            except subprocess.CalledProcessError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)  # the node's distribution port is not up yet

    async def restart_app(self, down_seconds: float) -> None:
        """The broker goes away and comes back: every connection drops."""
        await asyncio.to_thread(self.ctl, "stop_app")
        await asyncio.sleep(down_seconds)
        await asyncio.to_thread(self.ctl, "start_app")
        await asyncio.to_thread(self.ctl, "await_startup", "--timeout", "60")

    def stop(self) -> None:
        try:
            self.ctl("stop")
        except Exception:  # noqa: BLE001 - then by its pid
            pid_file = self.base / "rabbitmq.pid"
            if pid_file.exists():
                try:
                    os.kill(int(pid_file.read_text().strip()), signal.SIGKILL)
                except (ValueError, ProcessLookupError):
                    pass


def mongod_binary() -> str:
    """The mongod of the local stack: ``OMS_MONGOD``, on PATH, or the one that is running."""
    if found := os.environ.get("OMS_MONGOD") or shutil.which("mongod"):
        return found
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                exe = os.readlink(proc / "exe")
            except OSError:
                continue
            if exe.endswith("/mongod"):
                return exe
    for candidate in ROOT.parent.glob("*/.stack/mongodb/fiftyone/db/bin/mongod"):
        return str(candidate)
    raise AssertionError("no mongod binary found: set OMS_MONGOD")


class PrivateMongoDB:
    """A single-node replica set of its own (same binary, other port, data under tmp)."""

    REPLSET = "rsfault"

    def __init__(self, base: Path, *options: str) -> None:
        self.base = base
        self.port = free_port()
        self.options = options
        (base / "data").mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?replicaSet={self.REPLSET}"

    async def start(self) -> None:
        log = (self.base / "mongod.log").open("ab")
        self.process = subprocess.Popen(
            [
                mongod_binary(),
                "--replSet",
                self.REPLSET,
                "--bind_ip",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--dbpath",
                str(self.base / "data"),
                "--wiredTigerCacheSizeGB",
                "0.25",
                "--setParameter",
                "diagnosticDataCollectionEnabled=false",
                *self.options,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        await asyncio.to_thread(self._primary)

    def _primary(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            result = subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "deploy/local/replica_set.py"),
                    "--port",
                    str(self.port),
                    "--name",
                    self.REPLSET,
                    "--timeout",
                    "30",
                ],
                capture_output=True,
                text=True,
            )
            if result.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"private mongod not primary: {result.stderr[-2000:]}")
            time.sleep(0.5)

    async def restart(self, down_seconds: float) -> None:
        await asyncio.to_thread(self.stop)
        await asyncio.sleep(down_seconds)
        await self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


# --- workers -----------------------------------------------------------------------------


class Worker:
    """One service process, as a container would run it."""

    def __init__(self, name: str, target: str, settings: ServiceSettings, log_dir: Path, **env: str) -> None:
        self.name = name
        self.target = target
        self.port = free_port()
        self.log = log_dir / f"{name}.log"
        self.env = {
            **os.environ,
            "OMS_NAMESPACE": settings.namespace,
            "OMS_AMQP_URL": settings.amqp_url,
            "OMS_MONGODB_URL": settings.mongodb_url,
            "OMS_OUTBOX_LEASE_SECONDS": "2",
            "OMS_PARTITION_LEASE_SECONDS": "2",
            "OMS_PARTITIONS": "4",
            "OMS_MAX_ATTEMPTS": "30",
            "OMS_RETRY_DELAYS_SECONDS": "[0.2, 0.5, 1, 2]",
            **env,
        }
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "faststream",
            "run",
            self.target,
            "--factory",
            "--port",
            str(self.port),
            cwd=ROOT,
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=asyncio.subprocess.STDOUT,
        )

    async def until_ready(self) -> None:
        await eventually(lambda: asyncio.to_thread(ready, self.port), timeout=90, interval=0.3)

    def kill9(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), 40)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


@asynccontextmanager
async def workers(started: list[Worker]) -> AsyncIterator[list[Worker]]:
    """Start the workload's worker processes, wait until each is ready, stop them after."""
    try:
        for worker in started:
            await worker.start()
        await asyncio.gather(*(worker.until_ready() for worker in started))
        yield started
    finally:
        await asyncio.gather(*(worker.stop() for worker in started))


@asynccontextmanager
async def private_rabbitmq(base: Path) -> AsyncIterator[PrivateRabbitMQ]:
    """A RabbitMQ node of the test's own, running; stopped after (also when it failed to start)."""
    node = PrivateRabbitMQ(base)
    try:
        await node.start()
        yield node
    finally:
        await asyncio.to_thread(node.stop)


@asynccontextmanager
async def private_mongodb(base: Path) -> AsyncIterator[PrivateMongoDB]:
    """A mongod of the test's own with compose's short transaction lifetime (a killed worker's
    open transaction expires instead of blocking the retries), running; stopped after."""
    mongo = PrivateMongoDB(base, *TRANSACTION_LIFETIME)
    try:
        await mongo.start()
        yield mongo
    finally:
        await asyncio.to_thread(mongo.stop)


# --- the work ----------------------------------------------------------------------------


class Workload:
    """A burst of units of work and how to count what became of them."""

    name = "work"
    size = BURST
    #: The workers the SIGKILL scenario kills (and starts again).
    victims: tuple[str, ...] = ()

    def apps(self, settings: ServiceSettings) -> list[Any]:
        """The apps whose queues the workers declare (removed after the test)."""
        raise NotImplementedError

    def workers(self, settings: ServiceSettings, log_dir: Path) -> list[Worker]:
        raise NotImplementedError

    async def prepare(self, client: OmsClient) -> None: ...

    def message(self, index: int) -> Any:
        raise NotImplementedError

    async def send(self, client: OmsClient, message: Any) -> bool:
        """One send; True once the unit is known to be applied."""
        raise NotImplementedError

    async def count(self, settings: ServiceSettings, figures: Figures) -> None:
        raise NotImplementedError


class CustomerBurst(Workload):
    """Customers created over request/reply; their CustomerCreated events applied in order
    by the probe (an ordered subscription)."""

    name = "customers"
    SCOPE = "fault"
    victims = ("customer-1", "probe-1")

    def __init__(self, size: int) -> None:
        self.size = size
        self.keys = [f"fault-{index:05d}" for index in range(size)]

    def apps(self, settings: ServiceSettings) -> list[Any]:
        return [customer_app(settings), probe_app(settings)]

    def workers(self, settings: ServiceSettings, log_dir: Path) -> list[Worker]:
        probe = "tests.integration.plumbing.test_platform_support:create_app"
        options = {"OMS_PROBE_ORDERED": "1", "OMS_PROBE_CUSTOMERS": "1", "OMS_PROBE_DELAY": "0.05"}
        return [
            Worker("customer-1", "customer.app:create_app", settings, log_dir),
            Worker("customer-2", "customer.app:create_app", settings, log_dir),
            Worker("probe-1", probe, settings, log_dir, **options),
            Worker("probe-2", probe, settings, log_dir, **options),
        ]

    async def prepare(self, client: OmsClient) -> None:
        command = CreateScope(producer="tests", payload={"scope_id": self.SCOPE, "name": "Faults", "country": "FR"})
        reply = await client.request(command, ScopeReply, timeout=30)
        assert reply.ok, reply.error

    def message(self, index: int) -> Any:
        return CreateCustomer(
            producer="tests",
            payload={
                "scope_id": self.SCOPE,
                "first_name": "Fault",
                "last_name": f"Tester {index}",
                "email": f"fault{index}@example.fr",
                "account_type": "guest",
                "idempotency_key": self.keys[index],
            },
        )

    async def send(self, client: OmsClient, message: Any) -> bool:
        reply = await client.request(message, CustomerReply, timeout=5)
        if reply.ok:
            return True
        assert reply.error.code in ("internal", "unavailable"), reply.error  # a server fault: retry
        return False

    async def count(self, settings: ServiceSettings, figures: Figures) -> None:
        mongo = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
        try:
            customer_db = mongo[settings.database_name("customer")]
            probe_db = mongo[settings.database_name(PROBE)]
            per_key = Counter(
                doc["idempotency_key"]
                for doc in await customer_db["customers"]
                .find({"scope_id": self.SCOPE}, {"idempotency_key": 1})
                .to_list()
            )
            codes = {
                doc["_id"]
                for doc in await customer_db["customers"].find({"scope_id": self.SCOPE}, {"_id": 1}).to_list()
            }
            created_events = (
                await customer_db[OUTBOX]
                .find({"routing_key": CustomerCreated.routing_key()}, {"partition_key": 1, "published_at": 1})
                .to_list()
            )
            effects = await probe_db["effects"].find().to_list()
            deliveries = await probe_db["deliveries"].find().to_list()
        finally:
            await mongo.close()
        applied_codes = Counter(effect["key"] for effect in effects)
        figures.applied = len([key for key in self.keys if per_key[key] >= 1])
        figures.events_published = len([e for e in created_events if e["published_at"] is not None])
        figures.events_applied = len(effects)
        figures.duplicated = (
            sum(count - 1 for count in per_key.values() if count > 1)  # a customer created twice
            + sum(effect["applied"] - 1 for effect in effects if effect["applied"] > 1)  # an event applied twice
            + sum(count - 1 for count in applied_codes.values() if count > 1)  # two events for one customer
        )
        figures.lost = (
            (self.size - figures.applied)  # a command never applied
            + len(codes - set(applied_codes))  # a customer whose event never reached its consumer
            + len([e for e in created_events if e["published_at"] is None])  # an event still in the outbox
        )
        figures.redeliveries_absorbed = sum(doc["count"] for doc in deliveries) - len(deliveries)
        figures.event_consumers = len({effect["worker"] for effect in effects})


class OrderBurst(Workload):
    """Orders published upstream as a storefront publishes them (persistent, confirmed; the
    same message again when a publish failed), each followed by its shipment. Order-sync
    links every order to its customer: PEOPLE people with several orders each, so most
    orders find a customer that an earlier order created, often still in flight on the
    other worker. The notification service sends one shipping confirmation per order to a
    real SMTP server (``mail``) of the test's own."""

    name = "orders"
    SCOPE = "fault-orders"
    SOURCE = "storefront:fault"
    PEOPLE = 40
    victims = ("customer-1", "order-sync-1", "notification-1")

    def __init__(self, size: int, mail: CapturedMail, smtp_port: int) -> None:
        self.size = size
        self.mail = mail
        self.smtp_port = smtp_port
        self.numbers = [f"FLT-{index:05d}" for index in range(size)]
        template = json.loads((ROOT / "contracts/examples/order-placed.v1.json").read_text(encoding="utf-8"))
        template.pop("message_id")
        self.template = template

    def apps(self, settings: ServiceSettings) -> list[Any]:
        return [customer_app(settings), order_sync_app(settings), notification_app(settings)]

    def workers(self, settings: ServiceSettings, log_dir: Path) -> list[Worker]:
        # A killed sender's claimed emails come back after the lease (seconds here, not minutes).
        mail = {
            "OMS_SMTP_PORT": str(self.smtp_port),
            "OMS_NOTIFICATION_LEASE_SECONDS": "3",
            "OMS_NOTIFICATION_SWEEP_SECONDS": "0.5",
            "OMS_NOTIFICATION_POLL_SECONDS": "0.1",
            "OMS_NOTIFICATION_RETRY_BASE_SECONDS": "0.2",
            "OMS_NOTIFICATION_RETRY_MAX_SECONDS": "1",
        }
        targets = {"customer": "customer.app", "order-sync": "order_sync.app", "notification": "notification.app"}
        return [
            Worker(f"{service}-{n}", f"{module}:create_app", settings, log_dir, **mail)
            for service, module in targets.items()
            for n in (1, 2)
        ]

    async def prepare(self, client: OmsClient) -> None:
        command = CreateScope(
            producer="tests",
            payload={"scope_id": self.SCOPE, "name": "Fault orders", "country": "FR", "default_language": "fr"},
        )
        reply = await client.request(command, ScopeReply, timeout=30)
        assert reply.ok, reply.error

    def person(self, index: int) -> int:
        return index % self.PEOPLE

    def message(self, index: int) -> Any:
        person = self.person(index)
        raw = json.loads(json.dumps(self.template))
        raw["payload"].update(
            {
                "order_number": self.numbers[index],
                "source_system": self.SOURCE,
                "scope": self.SCOPE,
                "source_customer_id": None,
                "account_type": "guest",
                "email": f"buyer{person}@example.fr",
                "first_name": f"Acheteur {person}",
                "last_name": "Fautif",
            }
        )
        placed = OrderPlaced.model_validate(raw)
        shipped = OrderShipped.model_validate(
            {
                "producer": "wms",
                "payload": {
                    "source_system": self.SOURCE,
                    "order_number": self.numbers[index],
                    "scope": self.SCOPE,
                    "shipment_id": f"S-{index}",
                    "carrier": "Colissimo",
                    "tracking_number": f"T{index}",
                    "lines": [{"sku": "TEE-ORG-M", "quantity": 2}],
                    "shipped_at": "2026-11-24T10:00:00Z",
                },
            }
        )
        return placed, shipped

    async def send(self, client: OmsClient, message: Any) -> bool:
        for event in message:
            await client.publish_upstream(event)  # confirmed by the broker, or it raises
        return True

    async def count(self, settings: ServiceSettings, figures: Figures) -> None:
        emails = Counter(
            number
            for message in list(self.mail.messages)
            for number in self.numbers
            if number in str(message["subject"])
        )
        mongo = AsyncMongoClient(settings.mongodb_url, tz_aware=True)
        try:
            order_db = mongo[settings.database_name("order-sync")]
            orders = (
                await order_db["orders"]
                .find({"source_system": self.SOURCE}, {"order_number": 1, "customer_code": 1, "rule": 1})
                .to_list()
            )
            events = (
                await order_db[OUTBOX]
                .find(
                    {"routing_key": {"$in": [OrderLinked.routing_key(), CustomerOrderShipped.routing_key()]}},
                    {"routing_key": 1, "body": 1, "published_at": 1},
                )
                .to_list()
            )
            customers = await mongo[settings.database_name("customer")]["customers"].count_documents(
                {"scope_id": self.SCOPE}
            )
            figures.missing = []
            for doc in (
                await order_db["orders"]
                .find({"source_system": self.SOURCE, "order_number": {"$nin": sorted(emails)}})
                .to_list(length=5)
            ):  # why an order got no email: what order-sync holds for it
                entry = await order_db["customers"].find_one({"_id": doc.get("customer_code")}, {"_id": 1})
                parked = await order_db["parked_events"].count_documents({"order_key": doc["_id"]})
                figures.missing.append(
                    f"{doc['order_number']}: customer={doc.get('customer_code')} "
                    f"shipments={len(doc.get('shipments', []))} parked={parked} entry={bool(entry)}"
                )
        finally:
            await mongo.close()
        code_of = {doc["order_number"]: doc.get("customer_code") for doc in orders}
        codes_per_person: dict[int, set[str]] = {}
        for index, number in enumerate(self.numbers):
            if code_of.get(number):
                codes_per_person.setdefault(self.person(index), set()).add(code_of[number])
        published = [e for e in events if e["published_at"] is not None]
        linked_events = Counter(
            json.loads(e["body"])["payload"]["order"]["order_number"]
            for e in published
            if e["routing_key"] == OrderLinked.routing_key()
        )
        shipped_events = [e for e in published if e["routing_key"] == CustomerOrderShipped.routing_key()]
        figures.applied = len([number for number in self.numbers if code_of.get(number)])
        figures.events_published = len(shipped_events)
        figures.events_applied = len(emails)  # orders whose shipping confirmation was received
        people_per_code: dict[str, set[int]] = {}
        for person, codes in codes_per_person.items():
            for code in codes:
                people_per_code.setdefault(code, set()).add(person)
        twice = {
            "people on two customers": sum(len(codes) - 1 for codes in codes_per_person.values()),
            "customers of two people": sum(len(people) - 1 for people in people_per_code.values()),
            "customers beyond the people": max(customers - self.PEOPLE, 0),
            "orders linked twice": sum(count - 1 for count in linked_events.values()),
            "emails sent twice": sum(count - 1 for count in emails.values()),
        }
        figures.duplicated = sum(twice.values())
        rule_of = {doc["order_number"]: doc.get("rule") for doc in orders}
        for person, codes in codes_per_person.items():
            if len(codes) > 1:  # how each of its orders was linked, and whose else each customer is
                figures.notes.append(
                    f"person {person}: "
                    + ", ".join(
                        f"{number}->{code_of.get(number)} ({rule_of.get(number)})"
                        for index, number in enumerate(self.numbers)
                        if self.person(index) == person
                    )
                    + " | "
                    + ", ".join(
                        f"{code} also has persons {sorted({self.person(i) for i, n in enumerate(self.numbers) if code_of.get(n) == code} - {person})}"
                        for code in sorted(codes)
                    )
                )
        # Which effect was doubled, said in the figures line (a duplicate is rare: say it all).
        figures.notes += [f"{what}: {n}" for what, n in twice.items() if n]
        figures.lost = (
            (self.size - figures.applied)  # an order never linked
            + (self.size - len(emails))  # a shipping confirmation never sent
            + len([e for e in events if e["published_at"] is None])  # an event still in the outbox
        )
        figures.event_consumers = customers


async def drive(
    client: OmsClient, workload: Workload, figures: Figures, fault_at: int, fault: Callable[[], Awaitable[None]]
) -> None:
    """Send the burst, ``CONCURRENCY`` at a time, each unit retried (same message) until
    applied; run ``fault`` once ``fault_at`` units are done, while the rest are in flight."""
    done = 0
    fault_task: asyncio.Task[None] | None = None
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(index: int) -> None:
        nonlocal done, fault_task
        message = workload.message(index)
        deadline = time.monotonic() + 120
        async with gate:
            while True:
                figures.sends += 1
                try:
                    if await workload.send(client, message):
                        break
                except AssertionError:
                    raise
                except Exception as exc:  # noqa: BLE001 - the fault: wait, send the same message again
                    figures.notes.append(type(exc).__name__)
                assert time.monotonic() < deadline, f"unit {index} never answered"
                await asyncio.sleep(0.5)
        done += 1
        if done == fault_at and fault_task is None:
            figures.done_at_fault = done
            fault_task = asyncio.create_task(faulting())

    async def faulting() -> None:
        await fault()
        figures.done_after_fault = done

    await asyncio.gather(*(one(index) for index in range(workload.size)))
    figures.published = workload.size
    if fault_task is not None:
        await fault_task


def queue_leftovers(rabbitmqctl: Callable[..., str], namespace: str) -> tuple[int, int, int, list[str]]:
    """(messages ready, unacknowledged, in dead-letter queues, the queues holding any) in the
    namespace's queues."""
    ready_total = unacked_total = dead = 0
    holding = []
    for line in rabbitmqctl(
        "list_queues", "-q", "--no-table-headers", "name", "messages_ready", "messages_unacknowledged"
    ).splitlines():
        parts = line.split()
        if len(parts) != 3 or not parts[0].startswith(f"{namespace}."):
            continue
        name, ready_count, unacked = parts[0], int(parts[1]), int(parts[2])
        ready_total += ready_count
        unacked_total += unacked
        if ready_count or unacked:
            holding.append(f"{name}: {ready_count} ready, {unacked} unacked")
        if name.endswith(".dead-letter"):
            dead += ready_count + unacked
    return ready_total, unacked_total, dead, holding


async def run_scenario(
    scenario: str,
    settings: ServiceSettings,
    servers: Servers,
    tmp_path: Path,
    cleanup: Cleanup,
    fault: Callable[[list[Worker]], Awaitable[None]],
    workload: Workload | None = None,
) -> Figures:
    workload = workload or CustomerBurst(BURST)
    settings = settings.model_copy(update={"amqp_url": servers.amqp_url, "mongodb_url": servers.mongodb_url})
    for app in workload.apps(settings):  # the queues the workers declare
        cleanup.track(settings, app)
    figures = Figures(f"{scenario}, {workload.name}")
    started = time.monotonic()
    async with workers(workload.workers(settings, tmp_path)) as running_workers:
        async with OmsClient(settings, producer="fault-tests") as client:
            await workload.prepare(client)
            await drive(client, workload, figures, BURST // 3, lambda: fault(running_workers))

        async def settled() -> bool:
            await workload.count(settings, figures)
            ready_count, unacked, dead, holding = await asyncio.to_thread(
                queue_leftovers, servers.rabbitmqctl, settings.namespace
            )
            figures.left_in_queues, figures.left_unacknowledged, figures.dead_letters = ready_count, unacked, dead
            figures.holding = holding
            return figures.lost == 0 and ready_count == 0 and unacked == 0

        try:
            await eventually(settled, timeout=90, interval=1.0)
        except AssertionError:
            pass  # the figures say what is missing
    figures.seconds = time.monotonic() - started
    figures.notes = sorted(Counter(figures.notes).elements())[:20]
    figures.report()
    return figures


def assert_exactly_once(figures: Figures) -> None:
    assert figures.published == BURST
    assert figures.applied == BURST, figures.line()
    assert figures.duplicated == 0, figures.line()
    assert figures.lost == 0, figures.line()
    assert figures.events_published == figures.events_applied == BURST, figures.line()
    assert figures.left_in_queues == 0 and figures.left_unacknowledged == 0, figures.line()
    assert figures.dead_letters == 0, figures.line()


# --- the scenarios -----------------------------------------------------------------------


#: As in deploy/compose.yaml: a worker killed inside a transaction leaves it open on the
#: server until this many seconds pass, and whoever touches the same documents waits (60 by
#: default; none of our transactions lasts a second).
TRANSACTION_LIFETIME = ("--setParameter", "transactionLifetimeLimitSeconds=5")


@asynccontextmanager
async def burst_of(kind: str) -> AsyncIterator[Workload]:
    """The workload a scenario runs: customers, or orders (with their SMTP server)."""
    if kind == "customers":
        yield CustomerBurst(BURST)
        return
    mail = CapturedMail()
    with smtp_server(mail) as port:
        yield OrderBurst(BURST, mail, port)


BURSTS = pytest.mark.parametrize("kind", ["customers", "orders"])
