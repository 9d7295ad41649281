"""One escalation, one trace: the context travels request → outbox row → message → consumer → outbox row.

The commit-then-publish gap is where a trace usually breaks: the relay publishes in its own loop,
long after the request (or the handler) that wrote the row is gone. So every outbox row keeps the
W3C `traceparent` of the span that wrote it and the X-Request-ID it served, the relay publishes the
row in a span that is that context's child and puts its own context (and the request id) in the
message headers, and each consumer handles a delivery in a span that is the child of the headers'
context, with the request id bound to its log lines. Whatever the handler writes to the outbox
then carries the same trace on, and so does every redelivery of the message.

The request id travels whether tracing is on or not: log lines of every service name it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Iterator, Mapping
from contextvars import ContextVar, Token
from typing import Any

import structlog
from aio_pika.abc import AbstractIncomingMessage
from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

from flowpilot_shared.telemetry.setup import tracer

REQUEST_ID_HEADER = "x-request-id"
REQUEST_ID_ATTRIBUTE = "flowpilot.request_id"
# The headers a context travels in (W3C trace context and baggage).
CONTEXT_HEADERS = ("traceparent", "tracestate", "baggage")

# The X-Request-ID of the request (or of the message) being served in this context.
REQUEST_ID: ContextVar[str | None] = ContextVar("flowpilot_request_id", default=None)
# The delivery whose span is current in this task (see `handling`).
_DELIVERY: ContextVar[AbstractIncomingMessage | None] = ContextVar("flowpilot_delivery", default=None)
# Deliveries being processed: their trace context and request id, for a batch that runs one of them in
# another's task.
_live: dict[int, tuple[otel_context.Context | None, str | None]] = {}


def enter_request(request_id: str) -> Token[str | None]:
    """Serve a request: its id goes onto its span and into whatever it writes to the outbox."""
    span = trace.get_current_span()
    if span.is_recording():
        span.set_attribute(REQUEST_ID_ATTRIBUTE, request_id)
    return REQUEST_ID.set(request_id)


def leave_request(token: Token[str | None]) -> None:
    """The request is answered."""
    REQUEST_ID.reset(token)


def current_traceparent() -> str | None:
    """The W3C traceparent of the current span; None when there is none (tracing off)."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def outbox_context() -> tuple[str | None, str | None]:
    """(traceparent, request id) to keep with an outbox row written now."""
    return current_traceparent(), REQUEST_ID.get()


@contextlib.contextmanager
def publishing(row: Mapping[str, Any], headers: dict[str, Any]) -> Iterator[None]:
    """Publish an outbox row inside this block: in a span that is the child of the row's stored
    context, whose own context (and the row's request id) go into `headers`.

    Tracing off here, the stored context is passed on as it is: a traced consumer still joins the
    trace its writer started.
    """
    stored, request_id = row["traceparent"], row["request_id"]
    if request_id:
        headers[REQUEST_ID_HEADER] = request_id
    traced = tracer()
    if traced is None:
        if stored:
            headers["traceparent"] = stored
        yield
        return
    parent = propagate.extract({"traceparent": stored}) if stored else None
    attributes = {
        "messaging.system": "rabbitmq",
        "messaging.operation.type": "send",
        "messaging.destination.name": row["exchange"],
        "messaging.rabbitmq.destination.routing_key": row["routing_key"],
        "messaging.message.id": str(row["id"]),
        "flowpilot.outbox.attempts": row["attempts"],
    }
    if request_id:
        attributes[REQUEST_ID_ATTRIBUTE] = request_id
    with traced.start_as_current_span(
        f"publish {row['routing_key']}", context=parent, kind=SpanKind.PRODUCER, attributes=attributes
    ):
        propagate.inject(headers)
        yield


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) and value else None


async def traced_delivery(
    work: Awaitable[None], message: AbstractIncomingMessage, consumer: str, queue: str
) -> None:
    """Run `work` (one delivery's processing, retries included) as the child of the message's context,
    its log lines naming the request the message came from.

    Tracing off here, the message's context is still made current (a remote parent, recording
    nothing): what the handler writes to the outbox carries the trace on for the services that trace.
    """
    headers = message.headers or {}
    request_id = _text(headers.get(REQUEST_ID_HEADER))
    if request_id:
        REQUEST_ID.set(request_id)  # this task's own context: nothing to undo
        structlog.contextvars.bind_contextvars(request_id=request_id)
    carrier = {name: text for name in CONTEXT_HEADERS if (text := _text(headers.get(name)))}
    traced = tracer()
    if traced is None:
        if not carrier and request_id is None:
            await work
            return
        parent = propagate.extract(carrier) if carrier else None
        if parent is not None:
            otel_context.attach(parent)  # this task's own context, as above
        with _registered(message, parent, request_id):
            await work
        return
    attributes: dict[str, Any] = {
        "messaging.system": "rabbitmq",
        "messaging.operation.type": "process",
        "messaging.destination.subscription.name": queue,
        "messaging.rabbitmq.destination.routing_key": message.routing_key or "",
        "messaging.message.id": message.message_id or "",
        "flowpilot.consumer": consumer,
        "flowpilot.redelivered": bool(message.redelivered),
    }
    if request_id:
        attributes[REQUEST_ID_ATTRIBUTE] = request_id
    with (
        traced.start_as_current_span(
            f"process {queue}",
            context=propagate.extract(carrier),
            kind=SpanKind.CONSUMER,
            attributes=attributes,
        ) as span,
        _registered(message, trace.set_span_in_context(span), request_id),
    ):
        await work


@contextlib.contextmanager
def _registered(
    message: AbstractIncomingMessage, context: otel_context.Context | None, request_id: str | None
) -> Iterator[None]:
    key = id(message)
    _live[key] = (context, request_id)
    token = _DELIVERY.set(message)
    try:
        yield
    finally:
        _DELIVERY.reset(token)
        _live.pop(key, None)


@contextlib.contextmanager
def handling(message: AbstractIncomingMessage) -> Iterator[None]:
    """Run a message's handler in its own delivery's trace context and request id.

    Usually it already is: each delivery is processed in its own task. A batch of messages runs
    every handler in one task (the one whose turn it was), so each handler's log lines and outbox
    rows would otherwise carry the first message's request and trace.
    """
    live = _live.get(id(message))
    if live is None or _DELIVERY.get() is message:
        yield
        return
    context, request_id = live
    prior = structlog.contextvars.get_contextvars().get("request_id")
    token = REQUEST_ID.set(request_id)
    attached = otel_context.attach(context if context is not None else otel_context.Context())
    _bind_request_id(request_id)
    try:
        yield
    finally:
        otel_context.detach(attached)
        REQUEST_ID.reset(token)
        _bind_request_id(prior)


def _bind_request_id(request_id: str | None) -> None:
    if request_id:
        structlog.contextvars.bind_contextvars(request_id=request_id)
    else:
        structlog.contextvars.unbind_contextvars("request_id")


@contextlib.contextmanager
def external_call(
    name: str, attributes: Mapping[str, str | int | float | bool] | None = None
) -> Iterator[trace.Span]:
    """A client span around a call to the outside that no instrumented library makes (SMTP, the
    Anthropic SDK); a non-recording span while tracing is off."""
    traced = tracer()
    if traced is None:
        yield trace.INVALID_SPAN
        return
    with traced.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attributes) as span:
        yield span
