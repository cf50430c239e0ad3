"""P5: what a running service costs: traces only when an exporter is configured, and a
garbage collector tuned for a long-running consumer."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

PROBE = """
from plumbing.service import create_service_app
from plumbing.settings import ServiceSettings
from plumbing.telemetry import configure_tracing
app = create_service_app("probe", ServiceSettings(), lambda runtime: [])
broker = app.context.get("runtime").broker
names = [type(m).__name__ if isinstance(m, type) else getattr(m, "__name__", type(m).__name__)
         for m in broker.middlewares]
print(type(configure_tracing("probe")).__name__, any("Telemetry" in n for n in names))
"""


@pytest.mark.parametrize(
    ("exporter", "expected"), [("none", "NoneType False"), ("", "NoneType False"), ("console", "TracerProvider True")]
)
def test_p5_services_trace_only_when_an_exporter_is_configured(exporter: str, expected: str) -> None:
    env = {**os.environ, "OTEL_TRACES_EXPORTER": exporter}
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n")[-2] == expected


def test_p5_a_started_service_collects_garbage_less_often_and_never_rescans_its_startup() -> None:
    probe = (
        "import gc\n"
        "from plumbing.service import GC_YOUNG_THRESHOLD, settle_garbage_collection\n"
        "before = gc.get_freeze_count()\n"
        "settle_garbage_collection()\n"
        "print(gc.get_threshold()[0] == GC_YOUNG_THRESHOLD, gc.get_freeze_count() > before)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True True"
