"""Handoff metrics (Prometheus, served on /metrics)."""

from __future__ import annotations

from prometheus_client import Histogram

TIME_TO_PICKUP = Histogram(
    "flowpilot_time_to_pickup_seconds",
    "Time an escalation waited in the queue (since escalated or released) until a senior claimed it",
    buckets=(5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400, 28800, 86400),
)
