"""Prometheus metrics of docgen (exposed on /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

GENERATIONS = Counter(
    "flowpilot_docgen_generations_total", "Documentation stored, by how it was made", ["generated_by"]
)
FALLBACKS = Counter("flowpilot_docgen_fallbacks_total", "Template fallbacks, by cause", ["cause"])
MODEL_LATENCY = Histogram(
    "flowpilot_docgen_model_latency_seconds",
    "Latency of successful model calls (SDK retries included)",
    ["model"],
    buckets=(0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120),
)
TOKENS = Counter("flowpilot_docgen_tokens_total", "Model tokens used", ["model", "kind"])
DUPLICATES = Counter(
    "flowpilot_docgen_duplicates_total", "Escalations already documented (redelivery or another replica)"
)
