"""Every metric the Grafana dashboard and the alert rules query exists in the code, with the labels
and label values they use, so a renamed metric or label fails here instead of leaving a blank panel or
an alert that can never fire. The definitions are read from the source (every `Counter(...)`,
`Gauge(...)`, `Histogram(...)` of shared/ and the services), the queries from deploy/observability.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
OBSERVABILITY = ROOT / "deploy" / "observability"
SOURCES = [ROOT / "shared" / "src", *sorted((ROOT / "services").glob("*/src"))]
K8S_BASE = ROOT / "deploy" / "k8s" / "base"
# Series exported by kube-state-metrics, not by FlowPilot: their labels as it documents them.
KUBE_STATE_METRICS = {"kube_deployment_status_replicas_available": {"namespace", "deployment"}}
SUFFIXES = {
    "Counter": ("_total",),
    "Gauge": ("",),
    "Histogram": ("_bucket", "_sum", "_count"),
    "Summary": ("_sum", "_count", ""),
}
METRIC = re.compile(r"\b((?:flowpilot|kube)_[a-zA-Z0-9_]+)\s*(\{[^}]*\})?")
MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"')
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)")


@dataclass(frozen=True)
class Series:
    """A series name as Prometheus scrapes it, the metric it comes from and that metric's labels."""

    metric: str
    labels: frozenset[str]


def _defined() -> tuple[dict[str, Series], set[str]]:
    """Exposed series names from the metric definitions, and every string literal of the source."""
    series: dict[str, Series] = {}
    literals: set[str] = set()
    for path in (p for source in SOURCES for p in source.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                literals.add(node.value)
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            kind = node.func.id
            if kind not in SUFFIXES or not node.args or not isinstance(node.args[0], ast.Constant):
                continue
            name = str(node.args[0].value).removesuffix("_total" if kind == "Counter" else "")
            label_node = next((k.value for k in node.keywords if k.arg == "labelnames"), None)
            label_node = label_node or (node.args[2] if len(node.args) > 2 else None)
            labels = {e.value for e in getattr(label_node, "elts", []) if isinstance(e, ast.Constant)}
            for suffix in SUFFIXES[kind]:
                extra = {"le"} if suffix == "_bucket" else set()
                series[name + suffix] = Series(name, frozenset(labels | extra))
    for name, labels in KUBE_STATE_METRICS.items():
        series[name] = Series(name, frozenset(labels))
    return series, literals


SERIES, LITERALS = _defined()


def _queries() -> list[tuple[str, str]]:
    rules = yaml.safe_load((OBSERVABILITY / "alerts.yaml").read_text())
    board = json.loads((OBSERVABILITY / "flowpilot-escalations.json").read_text())
    return [
        *((f"alert {r['alert']}", r["expr"]) for g in rules["groups"] for r in g["rules"]),
        *(
            (f"panel {p['title']!r} {t['refId']}", t["expr"])
            for p in board["panels"]
            for t in p.get("targets", [])
        ),
    ]


QUERIES = _queries()


def _consumer_deployments() -> set[str]:
    """The base's Deployments that run the services' image (every one runs consumers)."""
    names = set()
    for manifest in K8S_BASE.glob("*.yaml"):
        for doc in yaml.safe_load_all(manifest.read_text()):
            if doc and doc.get("kind") == "Deployment":
                images = {c["image"] for c in doc["spec"]["template"]["spec"]["containers"]}
                if images == {"flowpilot"}:
                    names.add(doc["metadata"]["name"])
    return names


def test_the_definitions_are_found():
    # Guards the parser: these are defined in shared/ and in each service.
    for name in (
        "flowpilot_dlq_messages",
        "flowpilot_outbox_lag_seconds_bucket",
        "flowpilot_psa_pushes_total",
    ):
        assert name in SERIES
    assert len(QUERIES) >= 20


@pytest.mark.parametrize(("where", "expr"), QUERIES, ids=[w for w, _ in QUERIES])
def test_every_queried_series_and_label_exists(where: str, expr: str):
    used = METRIC.findall(expr)
    assert used, f"{where} queries no FlowPilot or kube-state-metrics series: {expr}"
    labels_in_query: set[str] = set()
    for name, selector in used:
        assert name in SERIES, f"{where}: {name} is defined nowhere in shared/ or services/"
        known = SERIES[name].labels
        labels_in_query |= known
        for label, op, value in MATCHER.findall(selector):
            assert label in known, f"{where}: {name} has no label {label} (it has {sorted(known)})"
            if name in KUBE_STATE_METRICS or op not in ("=", "=~"):
                continue
            for alternative in value.split("|"):
                assert alternative in LITERALS, (
                    f"{where}: {label}={alternative!r} is written nowhere in the code"
                )
    for grouping in GROUPING.findall(expr):
        for label in filter(None, (part.strip() for part in grouping.split(","))):
            assert label in labels_in_query, f"{where}: groups by {label}, a label none of its series has"


def test_kube_state_metrics_queries_name_the_consumer_deployments_of_the_base():
    base = yaml.safe_load((K8S_BASE / "kustomization.yaml").read_text())
    consumers = _consumer_deployments()
    assert consumers == {"handoff-api", "notifier", "docgen", "psa-sync"}
    kube_queries = [(w, e) for w, e in QUERIES if "kube_" in e]
    assert kube_queries
    for where, expr in kube_queries:
        matchers = {label: value for label, _, value in MATCHER.findall(expr)}
        assert matchers["namespace"] == base["namespace"], where
        assert set(matchers["deployment"].split("|")) == consumers, where


def test_every_alert_has_its_section_in_the_operations_guide():
    operations = (ROOT / "docs" / "operations.md").read_text()
    headings = {line.lstrip("#").strip() for line in operations.splitlines() if line.startswith("#")}
    rules = yaml.safe_load((OBSERVABILITY / "alerts.yaml").read_text())
    for rule in (r for g in rules["groups"] for r in g["rules"]):
        assert rule["alert"] in headings, f"docs/operations.md has no section for {rule['alert']}"
        assert rule["annotations"]["runbook"] == f"docs/operations.md#{rule['alert'].lower()}"
