"""The envelope every message travels in.

Every command, reply-bearing request, event and upstream order is one JSON document:
the envelope fields below plus a typed ``payload``. The envelope is what lets a consumer
deduplicate (``message_id``), follow a conversation (``correlation_id``), know what caused
a message (``causation_id``) and pick the right model (``message_type``, ``schema_version``)
without looking inside the payload.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Generic, Literal, TypeVar
from uuid import uuid4

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

PayloadT = TypeVar("PayloadT", bound=BaseModel)

MessageId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


def new_message_id() -> str:
    return str(uuid4())


def utc_now() -> datetime:
    return datetime.now(UTC)


class Actor(BaseModel):
    """Who asked for a command: a CSR, the customer themself, or a system.

    ``on_behalf_session`` is set when a CSR acts for a customer (C16); ``source`` is the
    caller's address or channel, used to slow repeated sign-in failures (C15).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["csr", "customer", "system"]
    id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    on_behalf_session: str | None = None
    source: str | None = Field(default=None, max_length=200)


class Envelope(BaseModel, Generic[PayloadT]):
    """Base of every message. Subclasses pin ``message_type``, ``schema_version`` and ``payload``."""

    # Tolerant reader: a newer producer may add envelope fields; payloads decide for themselves.
    # Errors never echo input: a bad password or token must not reach a log line.
    model_config = ConfigDict(extra="ignore", frozen=True, hide_input_in_errors=True)

    #: The owner of the contract: the first word of the routing key ("customer", "order").
    DOMAIN: ClassVar[str]
    #: For a command: the reply model (``Reply[...]``) the service answers it with.
    REPLY: ClassVar[type[BaseModel] | None] = None

    message_id: MessageId = Field(default_factory=new_message_id)
    correlation_id: str | None = Field(default=None, max_length=200)
    causation_id: str | None = Field(default=None, max_length=200)
    occurred_at: AwareDatetime = Field(default_factory=utc_now)
    producer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    message_type: str
    schema_version: int
    payload: PayloadT

    @classmethod
    def type_name(cls) -> str:
        return str(cls.model_fields["message_type"].default)

    @classmethod
    def version(cls) -> int:
        return int(cls.model_fields["schema_version"].default)

    @classmethod
    def routing_key(cls) -> str:
        """``<domain>.<message-type>.v<version>``: how the message is routed and dispatched."""
        return f"{cls.DOMAIN}.{cls.type_name()}.v{cls.version()}"

    def caused(self, **fields: Any) -> dict[str, Any]:
        """Envelope fields for a message caused by this one (same conversation)."""
        return {
            "correlation_id": self.correlation_id or self.message_id,
            "causation_id": self.message_id,
            **fields,
        }


class Command(Envelope[PayloadT], Generic[PayloadT]):
    """A request to a service, named as an order (``CreateCustomer``); answered by a reply."""

    # Commands come from our own tools: an unknown field is a mistake worth an error.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    actor: Actor | None = None


class Event(Envelope[PayloadT], Generic[PayloadT]):
    """A fact that happened, named in the past tense (``CustomerCreated``)."""
