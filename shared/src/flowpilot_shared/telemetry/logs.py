"""Log lines and traces point at each other: a line names its trace, a warning shows in its span."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from opentelemetry import trace

# Levels whose lines also become events of the current span (a retry, a failure, a dead letter).
SPAN_EVENT_LEVELS = frozenset({"warning", "error", "critical", "exception"})


def add_trace_context(_logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> Any:
    """structlog processor: `trace_id` and `span_id` while a span is current (nothing when tracing is off)."""
    span = trace.get_current_span()
    context = span.get_span_context()
    if not context.is_valid:
        return event_dict
    event_dict.setdefault("trace_id", f"{context.trace_id:032x}")
    event_dict.setdefault("span_id", f"{context.span_id:016x}")
    if method_name in SPAN_EVENT_LEVELS and span.is_recording():
        attributes = {
            f"log.{key}": value if isinstance(value, str | int | float | bool) else str(value)
            for key, value in event_dict.items()
            if key not in ("event", "trace_id", "span_id") and value is not None
        }
        span.add_event(str(event_dict.get("event", method_name)), {"log.level": method_name, **attributes})
    return event_dict
