"""Tracing from the environment: off by default, on with an OTLP endpoint, spans exported over OTLP/HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator

import pytest
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace.export import ConsoleSpanExporter

from flowpilot_shared.telemetry.setup import _exporter_from_environment
from tests.fakes._server import free_port
from tests.harness.waiting import wait_until

OTEL_VARIABLES = (
    "OTEL_SDK_DISABLED",
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)

# A process of its own (tracing is set up once per process): a service's set-up, one span, a flush.
TRACED_PROCESS = """
from flowpilot_shared import telemetry
telemetry.configure_tracing("export-probe")
tracer = telemetry.tracer()
assert tracer is not None, "tracing stayed off"
with tracer.start_as_current_span("probe"):
    pass
telemetry.flush()
"""


@pytest.mark.parametrize(
    ("variables", "exporter"),
    [
        ({}, None),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, OTLPSpanExporter),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, OTLPSpanExporter),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, OTLPSpanExporter),
        ({"OTEL_TRACES_EXPORTER": "console"}, ConsoleSpanExporter),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, None),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, None),
    ],
)
def test_the_standard_variables_turn_tracing_on(monkeypatch, variables, exporter) -> None:
    for name in OTEL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    chosen = _exporter_from_environment()
    assert chosen is None if exporter is None else isinstance(chosen, exporter)


@pytest.fixture
def sink() -> Iterator[int]:
    """The benchmark's OTLP/HTTP sink as a process (starting); its port."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "benchmarks.trace_sink", "--port", str(port)])
    try:
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def _serving(port: int) -> bool:
    try:
        return bool(_stats(port) is not None)
    except OSError:
        return False


def _stats(port: int) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as answer:
        stats: dict[str, int] = json.loads(answer.read())
    return stats


async def test_a_process_given_an_otlp_endpoint_exports_its_spans_there(sink: int) -> None:
    await wait_until(lambda: _serving(sink), timeout=15, message="the sink answers")
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink}", "PATH": ""}
    done = subprocess.run([sys.executable, "-c", TRACED_PROCESS], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    stats = await wait_until(lambda: _stats(sink)["requests"] and _stats(sink), message="an OTLP export")
    assert stats["bytes"] > 0
