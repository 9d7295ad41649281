"""Whether this process traces, with which provider, and the libraries instrumented with it.

Off by default: no provider, no instrumentation, and the hooks in the relay and the consumers see
`tracer()` is None and do nothing but carry the request id. A service process turns it on from the
OpenTelemetry SDK's own environment (`configure_tracing`, called by `service_lifespan`): an OTLP
endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT` / `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) or an explicit
`OTEL_TRACES_EXPORTER`. Tests hand a provider (with an in-memory exporter) to `use_tracer_provider`.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

TRACER_NAME = "flowpilot"
# The database driver's spans with no parent are the relay's polls and the background loops' reads:
# several a second in every process, each its own trace, and no escalation's.
UNPARENTED_DROPPED_SCOPES = frozenset({"opentelemetry.instrumentation.asyncpg"})
# Probes and scrapes are not worth a trace each.
UNTRACED_PATHS = "/healthz,/readyz,/metrics"


@dataclass
class _Tracing:
    provider: TracerProvider | None = None
    tracer: trace.Tracer | None = None


_state = _Tracing()


def tracer() -> trace.Tracer | None:
    """FlowPilot's own tracer (relay, consumers, external calls); None while tracing is off."""
    return _state.tracer


def tracing_on() -> bool:
    """Whether this process records spans."""
    return _state.tracer is not None


def _exporter_from_environment() -> SpanExporter | None:
    """The exporter the standard variables ask for; None when they leave tracing off."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    chosen = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    if chosen == "none" or (not chosen and not endpoint):
        return None
    if chosen == "console":
        return ConsoleSpanExporter()
    # Imported only when used: the protobuf modules take a while to load.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()  # endpoint, headers, timeout, compression: its own OTEL_EXPORTER_OTLP_*


def configure_tracing(service_name: str) -> None:
    """Trace this process if the environment asks for it (once; later calls change nothing).

    `service_name` names the process unless OTEL_SERVICE_NAME or OTEL_RESOURCE_ATTRIBUTES do; the
    sampler is the SDK's own choice from OTEL_TRACES_SAMPLER (parent-based, always on by default).
    """
    if _state.provider is not None:
        return
    exporter = _exporter_from_environment()
    if exporter is None:
        return
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: service_name}))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(WithoutUnparented(BatchSpanProcessor(exporter)))
    trace.set_tracer_provider(provider)  # for any library that asks the global API
    use_tracer_provider(provider)


def use_tracer_provider(provider: TracerProvider | None) -> None:
    """Trace with `provider` from now on (None: stop), the instrumented client libraries too.

    FastAPI apps are instrumented as they are built (`instrument_app`), so an app built before
    tracing was turned on stays untraced.
    """
    if _state.provider is not None:
        for instrumentor in _instrumentors():
            instrumentor.uninstrument()
    _state.provider = provider
    _state.tracer = provider.get_tracer(TRACER_NAME) if provider is not None else None
    if provider is not None:
        for instrumentor in _instrumentors():
            instrumentor.instrument(tracer_provider=provider)


def _instrumentors() -> tuple[Any, ...]:
    # Imported only once tracing is on. httpx: Teams, Anthropic, the PSAs; aiohttp: slack-sdk's
    # client; asyncpg: every statement (SQLAlchemy's too, it runs on asyncpg).
    from opentelemetry.instrumentation.aiohttp_client import AioHttpClientInstrumentor
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    return HTTPXClientInstrumentor(), AsyncPGInstrumentor(), AioHttpClientInstrumentor()


def instrument_app(app: FastAPI) -> None:
    """A server span per request (none for probes and scrapes) while tracing is on."""
    if _state.provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=_state.provider,
        excluded_urls=UNTRACED_PATHS,
        exclude_spans=["receive", "send"],
    )


def flush() -> None:
    """Export what has ended so far (a stopping process; its spans would otherwise wait for the batch)."""
    if _state.provider is not None:
        with contextlib.suppress(Exception):
            _state.provider.force_flush(timeout_millis=5_000)


class WithoutUnparented(SpanProcessor):
    """Passes spans on to `inner`, except unparented ones from the noisy scopes."""

    def __init__(self, inner: SpanProcessor) -> None:
        self._inner = inner

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        """Started: nothing is decided yet."""
        self._inner.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        """Ended: dropped if it is a root span of a dropped scope."""
        scope = span.instrumentation_scope
        if span.parent is None and scope is not None and scope.name in UNPARENTED_DROPPED_SCOPES:
            return
        self._inner.on_end(span)

    def shutdown(self) -> None:
        """Shut the inner processor down."""
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        """Flush the inner processor."""
        return self._inner.force_flush(timeout_millis)
