"""Offline checks of deploy/observability (run by scripts/validate-deploy.sh).

    uv run --frozen python deploy/observability/check.py --dashboard-rules OUT.yaml [--kustomized FILE]

- the dashboard JSON is what dashboard.py builds with grafana-foundation-sdk, every key in it is one
  Grafana's dashboard model knows (read back through the SDK's models), and it keeps Grafana's layout
  rules (unique panel ids, 24 columns, no overlap, a query and a unique refId per target, the
  datasource variable it refers to);
- its PromQL is written to OUT.yaml as recording rules, so `promtool check rules` parses every query
  the dashboard runs (Grafana's $__rate_interval stands in as 5m);
- `kubectl kustomize deploy/observability` (FILE) holds the two ConfigMaps, valid for Kubernetes, with
  the very files of this directory, and prometheus_rule.py wraps alerts.yaml's groups unchanged.
Whether each metric exists in the code is tests/observability/test_metric_names.py's job.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import dashboard
import kubernetes_validate
import prometheus_rule
import yaml
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard

HERE = Path(__file__).resolve().parent
ALERTS = HERE / "alerts.yaml"
K8S_VERSION = "1.30.0"
COLUMNS = 24


def missing_keys(original: Any, read_back: Any, path: str = "") -> list[str]:
    """Paths of `original` that reading it through the SDK's models lost (keys Grafana does not know)."""
    if isinstance(original, dict):
        if not isinstance(read_back, dict):
            return [path or "/"]
        return [
            found
            for key, value in original.items()
            for found in (
                missing_keys(value, read_back[key], f"{path}/{key}")
                if key in read_back
                else [f"{path}/{key}"]
            )
        ]
    if isinstance(original, list):
        if not isinstance(read_back, list) or len(read_back) != len(original):
            return [path]
        return [f for i, item in enumerate(original) for f in missing_keys(item, read_back[i], f"{path}/{i}")]
    return []


def layout_errors(board: dict[str, Any]) -> list[str]:
    errors: list[str] = []
    variables = {v["name"] for v in board.get("templating", {}).get("list", [])}
    taken: set[tuple[int, int]] = set()
    ids: set[int] = set()
    for panel in board["panels"]:
        label = f"panel {panel.get('id')} ({panel.get('title')})"
        if panel.get("id") in ids or not isinstance(panel.get("id"), int) or panel["id"] < 1:
            errors.append(f"{label}: ids must be unique positive integers")
        ids.add(panel.get("id"))
        pos = panel["gridPos"]
        if not all(isinstance(pos[k], int) for k in "hwxy") or pos["x"] + pos["w"] > COLUMNS:
            errors.append(f"{label}: gridPos {pos} is not within {COLUMNS} columns")
            continue
        cells = {(pos["x"] + dx, pos["y"] + dy) for dx in range(pos["w"]) for dy in range(pos["h"])}
        if cells & taken:
            errors.append(f"{label}: overlaps another panel")
        taken |= cells
        if panel["type"] == "row":
            continue
        uid = panel.get("datasource", {}).get("uid", "")
        if uid.startswith("${") and uid[2:-1] not in variables:
            errors.append(f"{label}: datasource {uid} is no dashboard variable")
        refs = [t.get("refId") for t in panel.get("targets", [])]
        if not refs or len(set(refs)) != len(refs) or not all(refs):
            errors.append(f"{label}: each target needs its own refId")
        if not all(t.get("expr") for t in panel.get("targets", [])):
            errors.append(f"{label}: a target without a query")
    return errors


def dashboard_errors(board: dict[str, Any]) -> list[str]:
    register_default_plugins()  # so panels' options and Prometheus queries are read as their own types
    read_back = json.loads(json.dumps(Dashboard.from_json(board), cls=JSONEncoder))
    unknown = [f"not in Grafana's dashboard model: {p}" for p in missing_keys(board, read_back)]
    return unknown + layout_errors(board)


def dashboard_queries_as_rules(board: dict[str, Any]) -> dict[str, Any]:
    rules = [
        {"record": f"flowpilot:dashboard:panel{panel['id']}:{target['refId']}",
         "expr": target["expr"].replace("$__rate_interval", "5m")}
        for panel in board["panels"]
        for target in panel.get("targets", [])
    ]  # fmt: skip
    return {"groups": [{"name": "dashboard-queries", "rules": rules}]}


def bundle_errors(docs: list[dict[str, Any]]) -> list[str]:
    errors: list[str] = []
    by_name = {d["metadata"]["name"]: d for d in docs}
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{doc['kind']}/{doc['metadata']['name']}: {exc.message}")
    board = by_name.get("flowpilot-grafana-dashboard", {})
    if board.get("data", {}).get(dashboard.OUTPUT.name) != dashboard.OUTPUT.read_text():
        errors.append(f"ConfigMap flowpilot-grafana-dashboard does not hold {dashboard.OUTPUT.name}")
    if board.get("metadata", {}).get("labels", {}).get("grafana_dashboard") != "1":
        errors.append("ConfigMap flowpilot-grafana-dashboard lacks the grafana_dashboard label")
    rules = by_name.get("flowpilot-prometheus-rules", {})
    if rules.get("data", {}).get("flowpilot-alerts.yaml") != ALERTS.read_text():
        errors.append("ConfigMap flowpilot-prometheus-rules does not hold alerts.yaml")
    return errors


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="offline checks of deploy/observability")
    parser.add_argument("--dashboard-rules", type=Path, required=True, help="where to write the queries")
    parser.add_argument("--kustomized", type=Path, help="`kubectl kustomize deploy/observability` output")
    args = parser.parse_args(argv)
    errors: list[str] = []
    if dashboard.OUTPUT.read_text() != dashboard.render():
        errors.append(f"{dashboard.OUTPUT.name} is not what dashboard.py builds: run dashboard.py")
    board = json.loads(dashboard.OUTPUT.read_text())
    errors += dashboard_errors(board)
    args.dashboard_rules.write_text(yaml.safe_dump(dashboard_queries_as_rules(board), width=1000))
    rule = prometheus_rule.prometheus_rule("monitoring", {})
    if rule["spec"]["groups"] != yaml.safe_load(ALERTS.read_text())["groups"]:
        errors.append("prometheus_rule.py does not carry alerts.yaml's groups")
    if args.kustomized:
        errors += bundle_errors([d for d in yaml.safe_load_all(args.kustomized.read_text()) if d])
    for error in errors:
        print(f"FAIL {error}")
    panels = sum(1 for p in board["panels"] if p["type"] != "row")
    print(f"observability: dashboard ({panels} panels), alerts.yaml, {len(errors)} failing")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
