"""Settings every service reads from the environment (``OMS_*``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from contracts.routing import Topology


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OMS_", extra="ignore")

    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    mongodb_url: str = "mongodb://127.0.0.1:27017/?replicaSet=rs0"
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
    namespace: str = Field(
        default="oms",
        pattern=r"^[a-z][a-z0-9-]{0,40}$",
        description="Prefix of every exchange, queue and database: one per deployment or test run.",
    )
    prefetch_count: int = Field(default=32, ge=1, le=1000)
    max_attempts: int = Field(default=5, ge=1, description="Handler attempts before dead-lettering.")
    request_timeout_seconds: float = Field(default=10.0, gt=0)

    @property
    def topology(self) -> Topology:
        return Topology(self.namespace)

    def database_name(self, service: str) -> str:
        return self.topology.database(service)
