"""P1, P3, P5, O8, I4: the container deployment as files (no Docker engine needed): one
multi-stage image with a non-root user, compose with every server and worker replicas, the
platform adapters and the HTTP gateway, and RabbitMQ definitions whose permissions give each
service its own queues and nothing else's."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from contracts.customer.merges import MergeCustomers
from contracts.customer.privacy import EraseCustomerData
from contracts.customer.records import CreateCustomer, UpdateCustomer
from contracts.order_sync.linking import GetOrderLink, ResolveReview
from contracts.routing import SERVICES, Topology
from contracts.service import Ping
from plumbing.messaging import (
    commands_queue,
    dead_letter_queue,
    partition_exchange,
    partition_queue,
    retry_exchange,
    retry_tiers,
    unkeyed_exchange,
    work_queue,
)

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
TOPOLOGY = Topology("oms")  # production names; the vhost is "oms" too


def definitions() -> dict:
    return json.loads((DEPLOY / "rabbitmq" / "definitions.json").read_text())


def permissions(user: str) -> dict[str, re.Pattern[str]]:
    (entry,) = [p for p in definitions()["permissions"] if p["user"] == user]
    assert entry["vhost"] == "oms"
    return {kind: re.compile(entry[kind]) for kind in ("configure", "write", "read")}


def own_names(service: str) -> dict[str, list[str]]:
    """What plumbing declares for ``service``: queues, and exchanges it owns."""
    queues = [
        commands_queue(TOPOLOGY, service, max_attempts=5).name,
        dead_letter_queue(TOPOLOGY, service).name,
        work_queue(TOPOLOGY, service, "upstream-orders", binding="order.#", max_attempts=5).name,
        *(tier.name for tier in retry_tiers(TOPOLOGY, service)),
        *(partition_queue(TOPOLOGY, service, "customer-events", i, max_attempts=5).name for i in range(8)),
    ]
    exchanges = [
        retry_exchange(TOPOLOGY, service).name,
        partition_exchange(TOPOLOGY, service, "customer-events").name,
        unkeyed_exchange(TOPOLOGY, service, "customer-events").name,
    ]
    return {"queues": queues, "exchanges": exchanges}


#: Deployed next to SERVICES (which are the services with a database and commands for the
#: others): the adapters consume queues of their own; the gateway consumes none.
ADAPTERS = "adapters"
GATEWAY = "gateway"
PLATFORMS = ("shopify", "commercetools", "saleor", "medusa")
CONSUMERS = (*SERVICES, ADAPTERS)


def adapter_names() -> dict[str, list[str]]:
    """What the adapters declare: a queue per platform on upstream, plus what every service has."""
    names = own_names(ADAPTERS)
    names["queues"] += [
        work_queue(TOPOLOGY, ADAPTERS, platform, binding=f"platform.{platform}.#", max_attempts=5).name
        for platform in PLATFORMS
    ]
    return names


def names_of(consumer: str) -> dict[str, list[str]]:
    return adapter_names() if consumer == ADAPTERS else own_names(consumer)


SHARED = [
    TOPOLOGY.commands_exchange,
    TOPOLOGY.events_exchange,
    TOPOLOGY.upstream_exchange,
    TOPOLOGY.dead_letter_exchange,
]


@pytest.mark.parametrize("service", SERVICES)
def test_p1_each_service_user_configures_and_reads_its_own_queues_only(service: str) -> None:
    allowed = permissions(service)
    mine = own_names(service)
    for name in mine["queues"] + mine["exchanges"]:
        assert allowed["configure"].fullmatch(name), name
    for name in mine["queues"]:
        assert allowed["read"].fullmatch(name) and allowed["write"].fullmatch(name), name  # consume, bind
    for name in SHARED:  # declared at startup, bound from
        assert allowed["configure"].fullmatch(name) and allowed["read"].fullmatch(name), name
    for exchange in (
        TOPOLOGY.events_exchange,
        TOPOLOGY.dead_letter_exchange,
        "amq.default",
        retry_exchange(TOPOLOGY, service).name,
    ):
        assert allowed["write"].fullmatch(exchange), exchange  # events, dead letters, replies, retries
    assert not allowed["write"].fullmatch(TOPOLOGY.upstream_exchange), "only storefronts publish orders"
    for other in set(CONSUMERS) - {service}:
        theirs = names_of(other)
        for name in theirs["queues"] + theirs["exchanges"]:
            for kind, pattern in allowed.items():
                assert not pattern.fullmatch(name), f"{service} may {kind} {name} of {other}"


def test_o8_c18_the_adapters_user_publishes_orders_and_sends_two_commands_only() -> None:
    """Shopify's compliance topics: the adapters look up an order's customer and erase it
    (C18), and may send no other command: a topic permission on the commands exchange."""
    allowed = permissions(ADAPTERS)
    mine = adapter_names()
    assert "oms.adapters.shopify" in mine["queues"] and "oms.adapters.dead-letter" in mine["queues"]
    for name in mine["queues"] + mine["exchanges"]:
        assert allowed["configure"].fullmatch(name), name
    for name in mine["queues"]:
        assert allowed["read"].fullmatch(name) and allowed["write"].fullmatch(name), name
    for name in SHARED:  # declared at startup
        assert allowed["configure"].fullmatch(name), name
    for name in (TOPOLOGY.commands_exchange, TOPOLOGY.upstream_exchange, TOPOLOGY.dead_letter_exchange):
        assert allowed["read"].fullmatch(name), name  # its queues are bound there (ping, platforms, dead letters)
    for exchange in (
        TOPOLOGY.upstream_exchange,
        TOPOLOGY.dead_letter_exchange,
        "amq.default",
        retry_exchange(TOPOLOGY, ADAPTERS).name,
    ):
        assert allowed["write"].fullmatch(exchange), exchange  # orders, dead letters, ping replies, retries
    assert not allowed["write"].fullmatch(TOPOLOGY.events_exchange), "the adapters publish no events"
    assert allowed["write"].fullmatch(TOPOLOGY.commands_exchange) and allowed["read"].fullmatch("amq.rabbitmq.reply-to")
    (topics,) = [t for t in definitions()["topic_permissions"] if t["user"] == ADAPTERS]
    assert (topics["vhost"], topics["exchange"]) == ("oms", TOPOLOGY.commands_exchange)
    commands = re.compile(topics["write"])
    assert commands.fullmatch(GetOrderLink.routing_key()) and commands.fullmatch(EraseCustomerData.routing_key())
    for other in (MergeCustomers, UpdateCustomer, CreateCustomer, ResolveReview, Ping):
        assert not commands.fullmatch(other.routing_key()), other
    assert not allowed["read"].fullmatch(TOPOLOGY.events_exchange)
    for service in SERVICES:
        theirs = own_names(service)
        for name in theirs["queues"] + theirs["exchanges"]:
            for kind, pattern in allowed.items():
                assert not pattern.fullmatch(name), f"adapters may {kind} {name} of {service}"


def test_i4_i5_the_gateway_user_sends_commands_and_reads_the_services_dead_letters_only() -> None:
    allowed = permissions(GATEWAY)
    assert allowed["write"].fullmatch(TOPOLOGY.commands_exchange)
    assert allowed["read"].fullmatch("amq.rabbitmq.reply-to"), "replies by direct reply-to"
    for service in SERVICES:  # I5 dead letters: declare (depth), browse, replay
        name = TOPOLOGY.dead_letter_queue(service)
        assert allowed["configure"].fullmatch(name) and allowed["read"].fullmatch(name), name
    # A replay publishes where the message first went: commands, events, upstream (an
    # order-sync dead letter is an upstream order), or straight to a queue.
    for exchange in (TOPOLOGY.events_exchange, TOPOLOGY.upstream_exchange, "amq.default"):
        assert allowed["write"].fullmatch(exchange), exchange
    for exchange in SHARED:
        assert not allowed["configure"].fullmatch(exchange), f"the gateway declares no exchange ({exchange})"
    assert not allowed["write"].fullmatch(TOPOLOGY.dead_letter_exchange)
    assert not allowed["read"].fullmatch(TOPOLOGY.dead_letter_queue(ADAPTERS)), "the console lists SERVICES only"
    for consumer in CONSUMERS:  # it consumes nothing of theirs but dead letters
        theirs = names_of(consumer)
        for name in theirs["queues"] + theirs["exchanges"]:
            if name == TOPOLOGY.dead_letter_queue(consumer):
                continue
            for kind, pattern in allowed.items():
                assert not pattern.fullmatch(name), f"gateway may {kind} {name} of {consumer}"


def test_p1_only_services_that_ask_others_and_operators_send_commands_only_storefronts_and_operators_publish_orders() -> (
    None
):
    # order-sync asks the customer service (O3); the customer service asks the others (C18);
    # the adapters two commands only (C18 for Shopify's compliance topics, a topic permission).
    senders = {p["user"] for p in definitions()["permissions"] if re.fullmatch(p["write"], TOPOLOGY.commands_exchange)}
    assert senders == {"admin", "order-sync", "customer", "omsctl", GATEWAY, ADAPTERS}
    assert {t["user"] for t in definitions()["topic_permissions"]} == {ADAPTERS}
    # The gateway only to replay a dead-lettered upstream order (administrators, I5).
    publishers = {
        p["user"] for p in definitions()["permissions"] if re.fullmatch(p["write"], TOPOLOGY.upstream_exchange)
    }
    assert publishers == {"admin", "omsctl", "storefront", ADAPTERS, GATEWAY}
    storefront = permissions("storefront")
    assert not storefront["read"].fullmatch(TOPOLOGY.queue("order-sync", "upstream-orders"))
    operators = permissions("omsctl")
    for service in CONSUMERS:  # omsctl dlq: declare (depth), read, purge, replay
        name = TOPOLOGY.dead_letter_queue(service)
        assert operators["configure"].fullmatch(name) and operators["read"].fullmatch(name)
        assert not operators["read"].fullmatch(TOPOLOGY.commands_queue(service))


def test_p5_no_secret_is_committed_every_password_is_a_placeholder() -> None:
    users = definitions()["users"]
    assert {u["name"] for u in users} == {"admin", *SERVICES, ADAPTERS, GATEWAY, "omsctl", "storefront"}
    for user in users:
        assert re.fullmatch(r"\$\{OMS_AMQP_PASSWORD_[A-Z_]+\}", user["password"]), user["name"]
        assert "password_hash" not in user
    example = (DEPLOY / "env.example").read_text()
    for user in users:
        assert user["password"][2:-1] + "=change-me" in example


def test_p5_definitions_are_rendered_with_passwords_from_the_environment(tmp_path: Path) -> None:
    out = tmp_path / "definitions.json"
    env = {"OMS_DEFINITIONS_TEMPLATE": str(DEPLOY / "rabbitmq" / "definitions.json"), "PATH": "/usr/bin:/bin"}
    env.update({u["password"][2:-1]: f'p"w\\{u["name"]}&' for u in definitions()["users"]})
    subprocess.run(
        ["bash", str(DEPLOY / "rabbitmq" / "render-definitions.sh"), "--render-only", str(out)],
        env=env,
        check=True,
        timeout=30,
    )
    rendered = json.loads(out.read_text())
    assert {u["name"]: u["password"] for u in rendered["users"]} == {
        u["name"]: f'p"w\\{u["name"]}&' for u in definitions()["users"]
    }
    assert rendered["permissions"] == definitions()["permissions"]
    missing = subprocess.run(
        ["bash", str(DEPLOY / "rabbitmq" / "render-definitions.sh"), "--render-only", str(out)],
        env={k: v for k, v in env.items() if k != "OMS_AMQP_PASSWORD_CUSTOMER"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert missing.returncode == 1 and "no password for CUSTOMER" in missing.stderr


def test_p3_p5_compose_runs_every_server_and_the_services_with_worker_replicas() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"rabbitmq", "mongodb", "mongodb-init", "smtp", *SERVICES} <= set(services)
    assert "management" in services["rabbitmq"]["image"]
    assert services["mongodb"]["image"].startswith("mongo:8")
    assert "--replSet" in services["mongodb"]["command"]
    assert "transactionLifetimeLimitSeconds=15" in services["mongodb"]["command"], (
        "a killed worker's transaction expires soon"
    )
    assert "rs.initiate" in services["mongodb-init"]["command"][-1]
    assert "tools.smtp_capture" in services["smtp"]["command"]
    for service in SERVICES:
        spec = services[service]
        assert spec["deploy"]["replicas"] >= 2, "competing workers"
        assert spec["command"] == [service]
        assert spec["build"]["dockerfile"] == "deploy/Dockerfile"
        assert f"amqp://{service}:" in spec["environment"]["OMS_AMQP_URL"], "its own RabbitMQ user"
        assert spec["environment"]["OMS_AMQP_URL"].endswith("@rabbitmq:5672/oms")
        assert "replicaSet=rs0" in spec["environment"]["OMS_MONGODB_URL"]
        grace = int(spec["stop_grace_period"].rstrip("s"))
        assert grace > float(spec["environment"]["OMS_SHUTDOWN_DEADLINE_SECONDS"]), "time to finish in-flight work"
        assert spec["depends_on"]["mongodb-init"]["condition"] == "service_completed_successfully"
    for name, port in ((ADAPTERS, "8084"), (GATEWAY, "8080")):
        spec = services[name]
        assert spec["command"] == [name]
        assert spec["build"]["dockerfile"] == "deploy/Dockerfile"
        assert spec["environment"]["OMS_AMQP_URL"].startswith(f"amqp://{name}:${{OMS_AMQP_PASSWORD_{name.upper()}:?}}@")
        assert spec["environment"]["OMS_AMQP_URL"].endswith("@rabbitmq:5672/oms")
        assert "replicaSet=rs0" in spec["environment"]["OMS_MONGODB_URL"]
        assert any(p.endswith(f":{port}") for p in spec["ports"]), spec["ports"]
        assert spec["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
        assert spec["depends_on"]["order-sync"]["condition"] == "service_healthy"
    assert services[ADAPTERS]["environment"]["OMS_HTTP_PORT"] == "8084"
    for name, value in services[ADAPTERS]["environment"].items():
        if name.startswith("OMS_ADAPTERS_"):  # secrets from deploy/.env, none written here
            assert value == f"${{{name}:-}}", name
    gateway = services[GATEWAY]["environment"]
    assert "OMS_HEALTH_PATH" not in gateway, "the gateway is ready on /ready, as the image checks by default"
    assert gateway["OMS_GATEWAY_COOKIE_SECURE"] == "${OMS_GATEWAY_COOKIE_SECURE:-true}", "secure unless told"
    for password in ("OMS_AMQP_PASSWORD_GATEWAY", "OMS_AMQP_PASSWORD_ADAPTERS"):
        assert services["rabbitmq"]["environment"][password].startswith(f"${{{password}:?")
    mounts = " ".join(services["rabbitmq"]["volumes"])
    for name in ("definitions.json", "rabbitmq.conf", "render-definitions.sh"):
        assert name in mounts and (DEPLOY / "rabbitmq" / name).exists()
    conf = (DEPLOY / "rabbitmq" / "rabbitmq.conf").read_text()
    assert "load_definitions = /var/lib/rabbitmq/oms-definitions.json" in conf


def test_p5_one_multi_stage_image_with_a_non_root_user_and_a_readiness_healthcheck() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    stages = re.findall(r"^FROM .* AS (\w+)$", dockerfile, re.MULTILINE)
    assert stages == ["builder", "runtime"]
    runtime = dockerfile.split("AS runtime", 1)[1]
    assert "COPY --from=builder /opt/oms /opt/oms" in runtime
    assert "pip install" not in runtime, "nothing is built in the runtime stage"
    user = re.findall(r"^USER (\S+)$", runtime, re.MULTILINE)
    assert user == ["oms:oms"]
    assert "useradd --system --uid 10001" in runtime
    assert re.search(r"^HEALTHCHECK .*\n.*OMS_HEALTH_PATH', '/ready'", runtime, re.MULTILINE)
    assert "OMS_HEALTH_PATH=/ready" in runtime
    assert 'exec faststream run "$target" --factory' in runtime
    for service, module in (
        ("customer", "customer.app"),
        ("notification", "notification.app"),
        ("order-sync", "order_sync.app"),
        ("adapters", "adapters.app"),
    ):
        assert f"{service}) target={module}:create_app" in runtime
    # The gateway is a FastAPI app: uvicorn, exec'd (SIGTERM reaches it), with a deadline.
    assert re.search(
        r"gateway\) exec uvicorn gateway\.app:create_app --factory --host 0\.0\.0\.0 "
        r"--port \"\$\{OMS_HTTP_PORT:-8080\}\" \\\n\s+--timeout-graceful-shutdown",
        runtime,
    )
    (pythonpath,) = re.findall(r"PYTHONPATH=(\S+)", runtime)
    for package in ("customer", "notification", "order-sync", "adapters", "gateway"):
        assert f"/app/services/{package}" in pythonpath.split(":")
    assert "OMS_SHUTDOWN_HARD_EXIT=true" in runtime
    # The entrypoint script is valid shell.
    script = runtime.split("<<'SH' /usr/local/bin/oms\n", 1)[1].split("\nSH\n", 1)[0]
    subprocess.run(["sh", "-n"], input=script, text=True, check=True)
