"""P5: every service exposes Prometheus metrics (messages in and out, handler latency,
outbox lag, dead-letter depth) and carries OpenTelemetry traces across services in message
headers, through the outbox too."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.semconv.trace import SpanAttributes

from contracts.customer.records import CreateCustomer, CreateScope, CustomerReply, ScopeReply
from customer.app import create_app as customer_app
from plumbing.client import OmsClient
from plumbing.messaging import events_exchange
from plumbing.settings import ServiceSettings
from plumbing.telemetry import configure_tracing
from plumbing.unit_of_work import OUTBOX, outbox_document

from ...support import Cleanup, eventually, running
from .test_platform_support import PROBE, Behaviour, Ledger, emit, probe_app, producer_app, tick


async def http_get(app: Any, path: str) -> tuple[int, str]:
    """One GET through the app's ASGI interface, as uvicorn would send it."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [],
        "scheme": "http",
        "server": ("test", 80),
        "client": ("test", 1),
        "root_path": "",
    }
    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return status, body.decode()


def sample(metrics: str, name: str, **labels: str) -> float | None:
    """The value of one sample in Prometheus text format (labels matched as given)."""
    for line in metrics.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{key}="{value}"' in line for key, value in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_p5_metrics_count_messages_time_handlers_and_show_outbox_lag_and_dead_letters(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    ledger = Ledger(settings)
    probe = probe_app(settings)
    producer = producer_app(settings)
    try:
        async with running(producer, probe, cleanup=cleanup):
            await emit(producer, [tick("C1", n) for n in range(5)])
            await eventually(lambda: ledger.applied(5))
            await client.ping(PROBE)  # a request in, a reply out
            await client.broker.publish(
                b"{not json",
                exchange=events_exchange(settings.topology),
                routing_key="probe.ticked.v1",
                message_id="junk",
                persist=True,
            )

            async def dead_lettered() -> str | None:
                status, text = await http_get(probe, "/metrics")
                assert status == 200
                return text if sample(text, "oms_dead_letter_messages", service=PROBE) == 1 else None

            probe_metrics = await eventually(dead_lettered)

            # The producer's relay is away: events wait. (Stopped rather than robbed of its
            # lease: a relay in the middle of a round still publishes what it finds.)
            runtime = producer.context.get("runtime")
            await runtime.outbox.stop()
            stuck = outbox_document(tick("C2", 1), settings.topology.events_exchange, "C2")
            stuck["created_at"] = datetime.now(UTC) - timedelta(seconds=90)
            await runtime.db[OUTBOX].insert_one(stuck)
            status, producer_metrics = await http_get(producer, "/metrics")
    finally:
        await ledger.close()

    assert status == 200
    received = sample(
        probe_metrics, "faststream_received_messages_total", handler=f"{settings.namespace}.events.probe.ticked.v1"
    )
    assert received is not None and received >= 6, "messages in"
    assert (sample(probe_metrics, "faststream_published_messages_total") or 0) >= 1, "messages out (the pong)"
    assert sample(probe_metrics, "faststream_received_processed_messages_duration_seconds_count") is not None
    assert "faststream_received_processed_messages_duration_seconds_bucket" in probe_metrics, (
        "handler latency histogram"
    )
    assert sample(producer_metrics, "oms_outbox_published_events_total", service="customer") == 5
    assert sample(producer_metrics, "oms_outbox_pending_events", service="customer") == 1
    assert (sample(producer_metrics, "oms_outbox_lag_seconds", service="customer") or 0) >= 90
    assert sample(producer_metrics, "oms_dead_letter_messages", service="customer") == 0
    assert re.search(
        r'oms_retry_waiting_messages\{queue="[^"]+\.customer\.retry\.1",service="customer"\} 0\.0', producer_metrics
    )


def in_memory_spans() -> InMemorySpanExporter:
    """Traces as an application that installs its own tracer provider gets them (tracing is
    on for the services started after it, whatever OTEL_TRACES_EXPORTER says)."""
    if configure_tracing("tests") is None:
        trace.set_tracer_provider(TracerProvider())
    provider = configure_tracing("tests")
    assert isinstance(provider, TracerProvider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


async def test_p5_command_and_the_consumer_of_the_event_it_caused_share_one_trace(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    spans = in_memory_spans()
    ledger = Ledger(settings)
    try:
        async with running(
            customer_app(settings), probe_app(settings, Behaviour(ordered=True, customers=True)), cleanup=cleanup
        ):
            scope = await client.request(
                CreateScope(producer="tests", payload={"scope_id": "eu-fr", "name": "EU", "country": "FR"}), ScopeReply
            )
            assert scope.ok, scope.error
            command = CreateCustomer(
                producer="tests",
                payload={
                    "scope_id": "eu-fr",
                    "first_name": "Ana",
                    "last_name": "Lima",
                    "email": "ana@example.fr",
                    "account_type": "guest",
                },
            )
            reply = await client.request(command, CustomerReply)
            assert reply.ok, reply.error
            effects = await eventually(lambda: ledger.applied(1))
        (event_id,) = effects
        finished = spans.get_finished_spans()
    finally:
        spans.shutdown()  # stops collecting; the provider stays for the rest of the run
        await ledger.close()

    def trace_of(message_id: str, kind: trace.SpanKind) -> set[str]:
        return {
            format(span.context.trace_id, "032x")
            for span in finished
            if span.kind == kind and span.attributes.get(SpanAttributes.MESSAGING_MESSAGE_ID) == message_id
        }

    command_traces = trace_of(command.message_id, trace.SpanKind.CONSUMER)
    event_traces = trace_of(event_id, trace.SpanKind.CONSUMER)
    assert len(command_traces) == 1, "the customer service handled the command in one trace"
    assert event_traces == command_traces, "the probe's span for the event continues the command's trace"
