"""P3, P5 on a cluster (issue 23): the Kubernetes manifests of deploy/k8s and
deploy/compose.cluster.yaml, checked offline: no cluster, no Docker, no network.

Every Kubernetes object is validated against the API's OpenAPI schemas bundled with
``kubernetes-validate`` (strict: an unknown field is an error, as ``kubectl --validate=strict``
would say); KEDA's ScaledObject and TriggerAuthentication against KEDA's own CRD schemas,
vendored in tests/fixtures/keda (source and licence in its README). Then the facts a valid
file can still get wrong: probes on the routes the services serve, a disruption budget per
service, autoscalers on the queues plumbing really declares, secrets that stay out of the
repository, and every broker node given to every service in the cluster compose file
(itself validated against the Compose Specification's schema, vendored in
tests/fixtures/compose-spec)."""

from __future__ import annotations

import copy
import json
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import pytest
import yaml

from contracts.routing import Topology
from notification.handlers import EMAILS_QUEUE
from order_sync.handlers import UPSTREAM_QUEUE
from plumbing.service import create_service_app
from plumbing.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
KEDA_CRDS = ROOT / "tests" / "fixtures" / "keda"
COMPOSE_SPEC = ROOT / "tests" / "fixtures" / "compose-spec" / "compose-spec.json"

#: The oldest Kubernetes the manifests claim (docs/scaling.md) and the newest schemas bundled.
K8S_VERSIONS = ("1.30.0", kubernetes_validate.latest_version())

#: Every deployed service: the three of contracts.routing.SERVICES, the adapters, the gateway.
SERVICES = ("customer", "notification", "order-sync", "adapters", "gateway")
#: Scaled on queue depth by KEDA, on CPU by a HorizontalPodAutoscaler.
QUEUE_SCALED = {"order-sync": ("order-sync", UPSTREAM_QUEUE), "notification": ("notification", EMAILS_QUEUE)}
CPU_SCALED = ("customer", "gateway")
#: Not applied: the keys of the Secret, with placeholders (created with kubectl instead).
SECRET_EXAMPLE = "secret.example.yaml"
#: RSS of one worker under load, highest measured (bench/REPORT.md: 86.6 MB, order-sync).
WORKER_RSS_MIB = 90


def manifest_files() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


@cache
def documents() -> list[tuple[str, dict[str, Any]]]:
    """Every object of deploy/k8s, parsed once (tests that change one deep-copy it first)."""
    return [(p.name, doc) for p in manifest_files() for doc in yaml.safe_load_all(p.read_text()) if doc]


def applied() -> list[dict[str, Any]]:
    return [doc for name, doc in documents() if name != SECRET_EXAMPLE]


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for doc in applied() if doc["kind"] == kind]


def deployment(service: str) -> dict[str, Any]:
    (found,) = [d for d in of_kind("Deployment") if d["metadata"]["labels"]["app.kubernetes.io/name"] == service]
    return found


def container(service: str) -> dict[str, Any]:
    (only,) = deployment(service)["spec"]["template"]["spec"]["containers"]
    return only


def config() -> dict[str, str]:
    (cm,) = of_kind("ConfigMap")
    return cm["data"]


def mebibytes(quantity: str) -> float:
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)(Mi|Gi)", quantity).groups()  # type: ignore[union-attr]
    return float(number) * (1024 if unit == "Gi" else 1)


def strict(schema: Any) -> Any:
    """A CRD schema as the API server applies it: unknown fields are pruned there, silently;
    here every object schema that lists its properties refuses any other (a typo fails)."""
    if isinstance(schema, dict):
        schema = {key: strict(value) for key, value in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


@cache
def crd_validators() -> dict[tuple[str, str], jsonschema.protocols.Validator]:
    """(apiVersion, kind) -> a validator of KEDA's vendored CRD schema for it."""
    validators = {}
    for path in sorted(KEDA_CRDS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        for version in crd["spec"]["versions"]:
            schema = strict(version["schema"]["openAPIV3Schema"])
            validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
            validator_class.check_schema(schema)
            key = (f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])
            validators[key] = validator_class(schema)
    return validators


def validate(doc: dict[str, Any]) -> None:
    """Raise if ``doc`` is not a valid object of its kind (every version of K8S_VERSIONS)."""
    if doc["apiVersion"].startswith("keda.sh/"):
        crd_validators()[(doc["apiVersion"], doc["kind"])].validate(doc)
        return
    for version in K8S_VERSIONS:
        kubernetes_validate.validate(doc, version, strict=True)


@pytest.mark.parametrize(
    "doc",
    [doc for _, doc in documents()],
    ids=[f"{name}:{doc['kind']}/{doc['metadata']['name']}" for name, doc in documents()],
)
def test_p5_every_manifest_is_valid_against_the_kubernetes_or_keda_schemas(doc: dict[str, Any]) -> None:
    validate(doc)


def test_p5_the_validation_is_not_vacuous_a_typo_or_a_wrong_type_fails() -> None:
    typo = copy.deepcopy(deployment("order-sync"))
    typo["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {"httpGet": {"path": "/ready", "port": 8080}}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(typo)
    (scaled,) = [s for s in of_kind("ScaledObject") if s["metadata"]["name"] == "oms-order-sync"]
    for path, value in ((("spec", "minReplicas"), 2), (("spec", "maxReplicaCount"), "eight")):
        broken = copy.deepcopy(scaled)
        broken[path[0]][path[1]] = value
        with pytest.raises(jsonschema.ValidationError):
            validate(broken)
    broken = copy.deepcopy(scaled)
    del broken["spec"]["scaleTargetRef"]
    with pytest.raises(jsonschema.ValidationError):
        validate(broken)


def test_p5_kustomization_applies_every_manifest_but_the_secret_example() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Kustomization"
    assert sorted(kustomization["resources"]) == sorted(p.name for p in manifest_files() if p.name != SECRET_EXAMPLE)
    (namespace,) = of_kind("Namespace")
    assert kustomization["namespace"] == namespace["metadata"]["name"]
    assert {i["name"] for i in kustomization["images"]} == {c["image"].split(":")[0] for c in map(container, SERVICES)}


@cache
def served_routes(service: str) -> set[str]:
    """The paths the service's app answers: plumbing's app for the four consumers (what
    ``create_service_app`` builds, without connecting), the gateway's FastAPI app."""
    if service == "gateway":
        from gateway.app import create_app

        return {route.path for route in create_app().routes if hasattr(route, "path")}
    app = create_service_app(service, ServiceSettings(), lambda runtime: [])
    return {path for path, _ in app.routes}


@pytest.mark.parametrize("service", SERVICES)
def test_p5_each_deployment_is_ready_on_ready_and_alive_on_health(service: str) -> None:
    """Readiness on /ready, which every app serves (the gateway's too); liveness on /health
    only, so that a broker or database failover restarts no pod."""
    routes = served_routes(service)
    spec = container(service)
    readiness, liveness = spec["readinessProbe"]["httpGet"], spec["livenessProbe"]["httpGet"]
    assert readiness["path"] in routes and liveness["path"] in routes
    assert readiness["path"] == "/ready"
    assert liveness["path"] == "/health"
    assert spec["startupProbe"]["httpGet"]["path"] == "/health"
    (port,) = spec["ports"]
    assert readiness["port"] == liveness["port"] == port["name"]
    assert str(port["containerPort"]) == config()["OMS_HTTP_PORT"]
    assert spec["args"] == [service], "the image's entrypoint picks the service"
    pod = deployment(service)["spec"]["template"]["spec"]
    pre_stop = int(spec.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command", ["", "0"])[-1])
    assert pod["terminationGracePeriodSeconds"] > float(config()["OMS_SHUTDOWN_DEADLINE_SECONDS"]) + pre_stop
    assert config()["OMS_SHUTDOWN_HARD_EXIT"] == "true"
    assert pod["securityContext"]["runAsNonRoot"] and pod["securityContext"]["runAsUser"] == 10001


@pytest.mark.parametrize("service", SERVICES)
def test_p3_each_worker_asks_for_what_it_uses_and_is_capped_above_it(service: str) -> None:
    resources = container(service)["resources"]
    requested, limit = mebibytes(resources["requests"]["memory"]), mebibytes(resources["limits"]["memory"])
    assert WORKER_RSS_MIB <= requested < limit and limit >= 2 * WORKER_RSS_MIB
    assert resources["requests"]["cpu"] and resources["limits"]["cpu"]


@pytest.mark.parametrize("service", SERVICES)
def test_p3_each_service_has_a_disruption_budget_over_its_pods(service: str) -> None:
    pods = deployment(service)["spec"]["template"]["metadata"]["labels"]
    budgets = [
        b for b in of_kind("PodDisruptionBudget") if b["spec"]["selector"]["matchLabels"].items() <= pods.items()
    ]
    assert len(budgets) == 1, budgets
    assert deployment(service)["spec"]["selector"]["matchLabels"].items() <= pods.items()
    assert budgets[0]["spec"].get("maxUnavailable") == 1, "a drain takes one pod of it at a time"


def scaled_object(service: str) -> dict[str, Any]:
    (found,) = [s for s in of_kind("ScaledObject") if s["spec"]["scaleTargetRef"]["name"] == f"oms-{service}"]
    return found


@pytest.mark.parametrize("service", QUEUE_SCALED)
def test_p3_keda_scales_order_sync_and_notification_on_the_queues_they_consume(service: str) -> None:
    """The queue names come from plumbing's topology and the services' own constants: a
    renamed queue fails here instead of leaving the autoscaler watching an empty name."""
    owner, purpose = QUEUE_SCALED[service]
    topology = Topology(config()["OMS_NAMESPACE"])
    scaled = scaled_object(service)
    assert scaled["spec"]["scaleTargetRef"].get("kind", "Deployment") == "Deployment"
    assert deployment(service)["metadata"]["name"] == scaled["spec"]["scaleTargetRef"]["name"]
    assert "replicas" not in deployment(service)["spec"], "the autoscaler owns the count"
    assert 1 <= scaled["spec"]["minReplicaCount"] < scaled["spec"]["maxReplicaCount"]
    (queue,) = [t for t in scaled["spec"]["triggers"] if t["type"] == "rabbitmq"]
    meta = queue["metadata"]
    assert meta["queueName"] == topology.queue(owner, purpose)
    definitions = (DEPLOY / "rabbitmq" / "definitions.json").read_text()
    assert f'"name": "{meta["vhostName"]}"' in definitions, "the vhost of definitions.json"
    # What KEDA 2.x's rabbitmq scaler reads (pkg/scalers/rabbitmq_scaler.go): no typo is ignored.
    assert set(meta) <= {"protocol", "mode", "value", "activationValue", "queueName", "vhostName", "useRegex"}
    assert (meta["protocol"], meta["mode"]) == ("http", "QueueLength"), "ready and unacknowledged, from the API"
    # A target below what the workers hold unacknowledged would scale on messages in hand.
    prefetch = config()["OMS_BATCH_PREFETCH_COUNT" if service == "order-sync" else "OMS_PREFETCH_COUNT"]
    assert float(meta["value"]) > int(prefetch)
    (auth,) = [
        a for a in of_kind("TriggerAuthentication") if a["metadata"]["name"] == queue["authenticationRef"]["name"]
    ]
    (host,) = auth["spec"]["secretTargetRef"]
    assert host["parameter"] == "host" and host["key"] in secret_example()["stringData"]
    assert {t["type"] for t in scaled["spec"]["triggers"]} == {"rabbitmq", "cpu"}


@pytest.mark.parametrize("service", CPU_SCALED)
def test_p3_customer_and_gateway_scale_on_cpu(service: str) -> None:
    (hpa,) = [h for h in of_kind("HorizontalPodAutoscaler") if h["spec"]["scaleTargetRef"]["name"] == f"oms-{service}"]
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu" and metric["resource"]["target"]["type"] == "Utilization"
    assert hpa["spec"]["minReplicas"] >= 2, "one pod may be disrupted (PDB) and one still serves"
    assert "replicas" not in deployment(service)["spec"]
    assert "requests" in container(service)["resources"], "utilization is of the request"
    assert not [s for s in of_kind("ScaledObject") if s["spec"]["scaleTargetRef"]["name"] == f"oms-{service}"]


def test_p5_the_gateway_and_every_metrics_port_have_a_service() -> None:
    services = of_kind("Service")

    def selecting(service: str) -> list[dict[str, Any]]:
        pods = deployment(service)["spec"]["template"]["metadata"]["labels"]
        return [s for s in services if s["spec"]["selector"].items() <= pods.items()]

    (gateway,) = selecting("gateway")
    assert [p["targetPort"] for p in gateway["spec"]["ports"]] == ["http"]
    for service in ("customer", "notification", "order-sync", "adapters"):
        assert "/metrics" in served_routes(service)
        headless = [s for s in selecting(service) if s["spec"].get("clusterIP") == "None"]
        assert [p["name"] for s in headless for p in s["spec"]["ports"]] == ["metrics"], service
    assert [s for s in selecting("adapters") if s["spec"].get("clusterIP") != "None"], "webhooks reach the adapters"


@cache
def secret_example() -> dict[str, Any]:
    (doc,) = yaml.safe_load_all((K8S / SECRET_EXAMPLE).read_text())
    return doc


def test_p5_no_secret_is_committed_the_deployments_read_them_from_secrets() -> None:
    example = secret_example()
    assert example["kind"] == "Secret" and "data" not in example
    for key, value in example["stringData"].items():
        assert "REPLACE_ME" in value, key
    assert "kubectl -n oms create secret generic oms" in (K8S / SECRET_EXAMPLE).read_text()
    for service in SERVICES:
        for env in container(service)["env"]:
            if re.search(r"URL|PASSWORD|SECRET|KEY|TOKEN|AUTHORIZATION", env["name"]):
                ref = env["valueFrom"]["secretKeyRef"]
                assert ref.get("optional") or ref["key"] in example["stringData"], (service, env["name"])
        (source,) = container(service)["envFrom"]
        assert source["configMapRef"]["name"] == "oms-config"
    for service in SERVICES:  # each its own RabbitMQ user, one URL per node
        urls = [urlsplit(u) for u in example["stringData"][f"amqp-url-{service}"].split(",")]
        assert len(urls) == 3 and {u.username for u in urls} == {service} and {u.path for u in urls} == {"/oms"}


def test_p5_only_customer_and_notification_get_the_link_key() -> None:
    for service in SERVICES:
        names = {env["name"] for env in container(service)["env"]}
        assert ("OMS_LINK_KEY" in names) == (service in ("customer", "notification")), service


# --- compose.cluster.yaml ------------------------------------------------------------------

NODES = ("rabbitmq1", "rabbitmq2", "rabbitmq3")
MEMBERS = ("mongo1", "mongo2", "mongo3")


def cluster() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.cluster.yaml").read_text())


def test_p5_compose_cluster_is_valid_against_the_compose_specification() -> None:
    validator = jsonschema.Draft7Validator(json.loads(COMPOSE_SPEC.read_text()))
    doc = cluster()
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(doc)]
    assert not errors, errors
    doc["services"]["customer"]["healthchek"] = doc["services"]["customer"].pop("healthcheck")
    assert not validator.is_valid(doc), "a misspelt key fails"


def test_p3_compose_cluster_runs_three_rabbitmq_nodes_that_form_one_cluster() -> None:
    services = cluster()["services"]
    conf = (DEPLOY / "rabbitmq" / "cluster.conf").read_text()
    assert "cluster_formation.peer_discovery_backend = classic_config" in conf
    listed = re.findall(r"^cluster_formation\.classic_config\.nodes\.\d+ = rabbit@(\S+)$", conf, re.MULTILINE)
    assert listed == list(NODES)
    for node in NODES:
        spec = services[node]
        assert spec["hostname"] == node, "the node name is rabbit@<hostname>"
        assert spec["image"].startswith("rabbitmq:") and "management" in spec["image"]
        mounts = dict(v.rsplit(":", 2)[:2] for v in spec["volumes"] if v.startswith("./"))
        assert mounts["./rabbitmq/cluster.conf"].startswith("/etc/rabbitmq/conf.d/")
        assert mounts["./rabbitmq/rabbitmq.conf"].startswith("/etc/rabbitmq/conf.d/")
        assert spec["entrypoint"][-1] == mounts["./rabbitmq/cluster-entrypoint.sh"]
        assert spec["environment"]["OMS_RABBITMQ_ERLANG_COOKIE"].startswith("${OMS_RABBITMQ_ERLANG_COOKIE:?")
        assert f"{node}-data:/var/lib/rabbitmq" in spec["volumes"], "a data folder of its own"
    join = services["rabbitmq-cluster"]
    assert join["command"] == ["--await", f"rabbit@{NODES[0]}", str(len(NODES))]
    assert "OMS_RABBITMQ_ERLANG_COOKIE=" in (DEPLOY / "env.example").read_text()


def test_p3_the_shared_cookie_is_required_and_the_script_is_valid_shell(tmp_path: Path) -> None:
    script = DEPLOY / "rabbitmq" / "cluster-entrypoint.sh"
    subprocess.run(["bash", "-n", str(script)], check=True, timeout=30)
    short = subprocess.run(
        ["bash", str(script), "--await", "rabbit@rabbitmq1", "3"],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "OMS_RABBITMQ_ERLANG_COOKIE": "short"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert short.returncode == 1 and "OMS_RABBITMQ_ERLANG_COOKIE" in short.stderr
    assert not (tmp_path / ".erlang.cookie").exists()


def test_p3_compose_cluster_runs_a_three_member_replica_set() -> None:
    services = cluster()["services"]
    for member in MEMBERS:
        command = services[member]["command"]
        assert services[member]["hostname"] == member
        assert command[command.index("--replSet") + 1] == "rs0"
        assert "transactionLifetimeLimitSeconds=15" in command
    init = services["mongo-init"]
    script = init["command"][-1]
    assert "rs.initiate" in script and all(f'host: "{m}:27017"' in script for m in MEMBERS)
    assert set(init["depends_on"]) == set(MEMBERS)


@pytest.mark.parametrize("service", (*SERVICES, "omsctl"))
def test_p3_compose_cluster_gives_every_service_all_three_brokers_and_the_seed_list(service: str) -> None:
    spec = cluster()["services"][service]
    password = f"${{OMS_AMQP_PASSWORD_{service.upper().replace('-', '_')}:?}}"
    # (A compose variable in the password: urlsplit would take its colon for a port.)
    urls = [
        re.fullmatch(r"amqp://(?P<user>[^:@]+):(?P<password>\$\{[^}]+\})@(?P<host>[^:/]+):5672/(?P<vhost>[^,]+)", url)
        for url in spec["environment"]["OMS_AMQP_URL"].split(",")
    ]
    assert all(urls), spec["environment"]["OMS_AMQP_URL"]
    assert [u["host"] for u in urls] == list(NODES)  # type: ignore[index]
    assert {u["vhost"] for u in urls} == {"oms"}  # type: ignore[index]
    assert {u["user"] for u in urls} == {service}, "its own RabbitMQ user on every node"  # type: ignore[index]
    assert {u["password"] for u in urls} == {password}  # type: ignore[index]
    assert spec["environment"]["OMS_MONGODB_URL"] == "mongodb://mongo1,mongo2,mongo3/?replicaSet=rs0"
    if service == "omsctl":
        return
    assert spec["depends_on"]["rabbitmq-cluster"]["condition"] == "service_completed_successfully"
    assert spec["depends_on"]["mongo-init"]["condition"] == "service_completed_successfully"
    check = " ".join(spec["healthcheck"]["test"])
    assert "/ready" in check
    assert int(spec["stop_grace_period"].rstrip("s")) > float(spec["environment"]["OMS_SHUTDOWN_DEADLINE_SECONDS"])
    if service in ("customer", "notification", "order-sync"):
        assert spec["deploy"]["replicas"] >= 2, "competing workers"
