"""Settings every service reads from the environment (``OMS_*``)."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.routing import Topology

from .bodies import DEFAULT_MAX_BYTES, DEFAULT_MAX_DEPTH


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMS_", extra="ignore")

    amqp_url: str = Field(
        default="amqp://guest:guest@127.0.0.1:5672/",
        description="RabbitMQ; on a cluster every node, comma-separated: a lost node's connections move to "
        "the next (plumbing/amqp.py).",
    )
    mongodb_url: str = Field(
        default="mongodb://127.0.0.1:27017/?replicaSet=rs0",
        description="MongoDB, a replica set; on several members the seed list (mongodb://h1,h2,h3/?replicaSet=...).",
    )
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 2525
    smtp_from: str = Field(
        default="OMS <no-reply@oms.local>", description="From header and envelope sender of every email."
    )
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, description="Per SMTP command, connecting included.")
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_start_tls: bool | None = Field(
        default=None, description="True: require STARTTLS; False: never; None: when the server offers it."
    )
    link_key: SecretStr | None = Field(
        default=None,
        description="C14: Fernet key(s), comma-separated, first one sealing: the customer and notification "
        "services seal and open emailed links with it (plumbing/sealing.py). Give it to those two only.",
    )
    namespace: str = Field(
        default="oms",
        pattern=r"^[a-z][a-z0-9-]{0,40}$",
        description="Prefix of every exchange, queue and database: one per deployment or test run.",
    )
    prefetch_count: int = Field(default=32, ge=1, le=1000)
    batch_prefetch_count: int = Field(
        default=128,
        ge=1,
        le=1000,
        description="Prefetch of the subscribers that gather their messages into batches (order intake, order "
        "history): a batch holds at most what is in flight, and a larger one costs less per message.",
    )
    max_attempts: int = Field(default=5, ge=1, description="Handler attempts before dead-lettering.")
    access_log: bool = Field(
        default=False,
        description="Log every message received and processed (FastStream's access log: two lines a message, "
        "a few per cent of a busy worker's CPU). Failures are logged either way; throughput is "
        "in the metrics.",
    )
    request_timeout_seconds: float = Field(default=10.0, gt=0)
    # Limits on what a consumer reads (security step 12, plumbing/bodies.py).
    max_body_bytes: int = Field(
        default=DEFAULT_MAX_BYTES, ge=1024, description="A larger message body is malformed: refused unread."
    )
    max_body_depth: int = Field(
        default=DEFAULT_MAX_DEPTH,
        ge=8,
        le=200,
        description="JSON nested deeper than this is malformed: refused before any parser recurses into it.",
    )
    # Platform guarantees (step 7, docs/platform.md).
    retry_delays_seconds: tuple[float, ...] = Field(
        default=(1.0, 5.0, 30.0, 120.0),
        min_length=1,
        description="Back-off before the 2nd, 3rd, ... attempt of a failed message; the last repeats.",
    )
    retry_jitter: float = Field(default=0.2, ge=0, lt=1, description="Each delay is shortened by up to this share.")
    partitions: int = Field(default=8, ge=1, le=64, description="Queues per ordered subscription (P3).")
    partition_lease_seconds: float = Field(default=6.0, gt=0, description="A dead worker's partitions move after this.")
    outbox_lease_seconds: float = Field(default=10.0, gt=0, description="A dead relay's outbox moves after this.")
    shutdown_deadline_seconds: float = Field(
        default=25.0, gt=0, description="SIGTERM to exit: in-flight messages first, then the outbox flush."
    )
    shutdown_hard_exit: bool = Field(
        default=False, description="Exit at the deadline even if shutdown is not done (set in containers)."
    )

    queue_expires_seconds: int | None = Field(
        default=None, ge=60, description="Tests only: unused queues are deleted after this long."
    )

    @property
    def topology(self) -> Topology:
        expires = self.queue_expires_seconds * 1000 if self.queue_expires_seconds else None
        return Topology(self.namespace, queue_expires_ms=expires)

    def database_name(self, service: str) -> str:
        return self.topology.database(service)
