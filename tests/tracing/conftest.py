"""Tracing fixtures: an in-memory span exporter, captured log lines, and all four services in-process.

Tracing is turned on by handing the SDK a provider here (`use_tracer_provider`), not through the
OTEL_* variables, and off again after the test: the apps are built after it is on, so they are
instrumented; the client libraries (httpx, aiohttp, asyncpg) are instrumented for the test's length.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
import structlog
from aio_pika.abc import AbstractRobustConnection
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from flowpilot_shared import telemetry
from flowpilot_shared.broker.topology import ALL_QUEUES
from flowpilot_shared.settings import CoreSettings
from notifier.app import create_app as create_notifier
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.slack import FakeSlack
from tests.fakes.smtp import FakeSmtp
from tests.hardening.conftest import Pipeline, pipeline
from tests.harness.broker import purge_queues
from tests.harness.waiting import wait_until
from tests.notifier.conftest import notifier_settings_from


class Spans:
    """The spans ended so far, and ways to read one trace out of them."""

    def __init__(self, exporter: InMemorySpanExporter) -> None:
        self._exporter = exporter

    def all(self) -> Sequence[ReadableSpan]:
        """Every span ended since the test started."""
        return self._exporter.get_finished_spans()

    def of_trace(self, trace_id: int) -> list[ReadableSpan]:
        """The ended spans of one trace."""
        return [s for s in self.all() if s.context is not None and s.context.trace_id == trace_id]

    def named(self, name: str, trace_id: int | None = None) -> list[ReadableSpan]:
        """Ended spans with this name (of one trace, if given)."""
        spans = self.all() if trace_id is None else self.of_trace(trace_id)
        return [s for s in spans if s.name == name]


@pytest.fixture
def spans() -> Iterator[Spans]:
    """Tracing on for the test, into memory (exported as each span ends)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(telemetry.WithoutUnparented(SimpleSpanProcessor(exporter)))
    telemetry.use_tracer_provider(provider)
    try:
        yield Spans(exporter)
    finally:
        telemetry.use_tracer_provider(None)
        provider.shutdown()


@pytest.fixture
def log_lines() -> Iterator[list[MutableMapping[str, Any]]]:
    """Every structlog line of the test, as the services' processors leave it (contextvars merged,
    trace ids added), instead of printed."""
    lines: list[MutableMapping[str, Any]] = []

    def keep(_logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> Any:
        lines.append({"level": method_name, **event_dict})
        raise structlog.DropEvent

    structlog.configure(
        processors=[structlog.contextvars.merge_contextvars, telemetry.add_trace_context, keep]
    )
    try:
        yield lines
    finally:
        structlog.reset_defaults()


@dataclass
class System:
    """handoff-api (a client of it), docgen, psa-sync and the notifier, each with its consumers and relay."""

    pipeline: Pipeline
    notifier: FastAPI


@contextlib.asynccontextmanager
async def whole_system(
    core: CoreSettings,
    amqp: AbstractRobustConnection,
    *,
    anthropic: FakeAnthropic,
    smtp: FakeSmtp,
    slack: FakeSlack,
) -> AsyncIterator[System]:
    """Every service running in this process on this worker's database and vhost, queues emptied."""
    await purge_queues(amqp, ALL_QUEUES, core.delivery_limit)
    notifier = create_notifier(
        notifier_settings_from(core, smtp_host=smtp.host, smtp_port=smtp.port, slack_api_url=slack.api_url)
    )
    async with (
        LifespanManager(notifier, startup_timeout=30, shutdown_timeout=30),
        pipeline(core, amqp, anthropic) as running,
    ):
        await wait_until(
            lambda: all(c._channel is not None for c in notifier.state.runtime.consumers),
            timeout=15,
            message="notifier consuming",
        )
        yield System(pipeline=running, notifier=notifier)
