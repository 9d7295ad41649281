"""alerts.yaml as a PrometheusRule, for a cluster whose Prometheus is run by the Prometheus Operator.

    uv run --frozen python deploy/observability/prometheus_rule.py --label release=kube-prometheus-stack \\
      | kubectl apply -f -

The groups are alerts.yaml's, unchanged (promtool checks and tests that file); `--label` adds what the
operator's `ruleSelector` asks for, `--namespace` picks where the rule lives (default: monitoring).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

ALERTS = Path(__file__).resolve().parent / "alerts.yaml"


def prometheus_rule(namespace: str, labels: dict[str, str]) -> dict[str, Any]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "flowpilot",
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": "flowpilot", **labels},
        },
        "spec": {"groups": groups},
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespace", default="monitoring")
    parser.add_argument("--label", action="append", default=[], help="key=value (repeatable)")
    args = parser.parse_args(argv)
    labels = dict(item.split("=", 1) for item in args.label)
    yaml.safe_dump(prometheus_rule(args.namespace, labels), sys.stdout, sort_keys=False, width=110)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
