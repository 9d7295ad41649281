"""Prometheus metrics of the external channels."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

DELIVERIES = Counter(
    "flowpilot_notifier_deliveries_total",
    "Delivery ledger transitions by channel and status (sent, retrying, failed, skipped)",
    ["channel", "status"],
)
SEND_SECONDS = Histogram(
    "flowpilot_notifier_send_seconds",
    "Time of one external send attempt",
    ["channel", "outcome"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
