"""OpenTelemetry for every service (P5): one trace follows a conversation across services.

FastStream's ``RabbitTelemetryMiddleware`` starts a consumer span from the ``traceparent``
header of each message it handles and injects the current context into everything the
broker publishes. Events leave through the outbox instead, after the transaction: so the
context of the handler that wrote an event is stored in its outbox document
(``trace_headers``) and the relay publishes it as the event's headers; the consumer's span
then continues the same trace.

Exporting: ``OTEL_TRACES_EXPORTER=console`` prints spans; ``otlp`` sends them to
``OTEL_EXPORTER_OTLP_ENDPOINT`` when ``opentelemetry-exporter-otlp`` is installed.
``OTEL_SERVICE_NAME`` and ``OTEL_TRACES_SAMPLER`` are honoured. Unset or ``none``: tracing
is off (no middleware, no spans, no ``traceparent`` headers), since spans nobody exports
cost a busy consumer a tenth of its CPU (measured in the order benchmark). An application
that installed its own SDK tracer provider before the services start (tests do) gets traces
whatever the variable says.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context, propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

log = logging.getLogger("oms.telemetry")

#: The W3C trace-context headers a message carries.
TRACE_HEADERS = ("traceparent", "tracestate", "baggage")


def configure_tracing(service: str) -> TracerProvider | None:
    """The process's SDK tracer provider, installed once per process (the first service to ask
    names it) when an exporter is configured; None when tracing is off."""
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current
    exporter_name = os.environ.get("OTEL_TRACES_EXPORTER", "none").strip().lower()
    if exporter_name == "console":
        processor = BatchSpanProcessor(ConsoleSpanExporter())
    elif exporter_name == "otlp":
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            log.warning("OTEL_TRACES_EXPORTER=otlp but opentelemetry-exporter-otlp is not installed: tracing is off")
            return None
        processor = BatchSpanProcessor(OTLPSpanExporter())
    else:
        return None
    provider = TracerProvider(
        resource=Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or f"oms-{service}"})
    )
    provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    return trace.get_tracer_provider()  # type: ignore[return-value]


def trace_headers() -> dict[str, str]:
    """The current trace context as message headers (empty outside any span)."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return {k: v for k, v in carrier.items() if k in TRACE_HEADERS}


@contextmanager
def continuing(headers: Mapping[str, Any] | None) -> Iterator[None]:
    """Run a block in the trace of a message: what it publishes (a retry, a dead letter)
    stays in that trace instead of starting a new one."""
    carrier = {k: str(v) for k, v in (headers or {}).items() if k in TRACE_HEADERS}
    token = context.attach(propagate.extract(carrier))
    try:
        yield
    finally:
        context.detach(token)


def trace_id(headers: Mapping[str, Any] | None) -> str | None:
    """The trace id in a message's ``traceparent`` header, if any."""
    value = str((headers or {}).get("traceparent") or "")
    parts = value.split("-")
    return parts[1] if len(parts) == 4 else None
