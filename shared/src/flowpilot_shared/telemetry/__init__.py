"""Tracing with OpenTelemetry: off unless configured, one trace per escalation across every service."""

from flowpilot_shared.telemetry.logs import add_trace_context
from flowpilot_shared.telemetry.propagation import (
    REQUEST_ID,
    REQUEST_ID_ATTRIBUTE,
    REQUEST_ID_HEADER,
    current_traceparent,
    enter_request,
    external_call,
    handling,
    leave_request,
    outbox_context,
    publishing,
    traced_delivery,
)
from flowpilot_shared.telemetry.setup import (
    WithoutUnparented,
    configure_tracing,
    flush,
    instrument_app,
    tracer,
    tracing_on,
    use_tracer_provider,
)

__all__ = [
    "REQUEST_ID",
    "REQUEST_ID_ATTRIBUTE",
    "REQUEST_ID_HEADER",
    "WithoutUnparented",
    "add_trace_context",
    "configure_tracing",
    "current_traceparent",
    "enter_request",
    "external_call",
    "flush",
    "handling",
    "instrument_app",
    "leave_request",
    "outbox_context",
    "publishing",
    "traced_delivery",
    "tracer",
    "tracing_on",
    "use_tracer_provider",
]
