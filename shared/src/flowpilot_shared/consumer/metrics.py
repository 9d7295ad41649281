"""Prometheus metrics of the consumers (every service's `/metrics`)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

PROCESSED = Counter(
    "flowpilot_consumer_messages_total", "Messages handled by outcome", ["consumer", "outcome"]
)
HANDLE_SECONDS = Histogram("flowpilot_consumer_handle_seconds", "Handler time", ["consumer"])
EVENT_LAG = Histogram(
    "flowpilot_consumer_event_lag_seconds",
    "Event occurred_at to handled",
    ["consumer"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
BATCH_SIZE = Histogram(
    "flowpilot_consumer_batch_messages",
    "Messages handled in one inbox transaction",
    ["consumer"],
    buckets=(1, 2, 4, 8, 16, 32, 64),
)
