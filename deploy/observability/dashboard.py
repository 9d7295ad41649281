"""The FlowPilot Grafana dashboard, built with Grafana's own types (grafana-foundation-sdk).

    uv run --frozen python deploy/observability/dashboard.py          # write flowpilot-escalations.json
    uv run --frozen python deploy/observability/dashboard.py --check  # fail if the committed file differs

The JSON beside this file is what Grafana loads (kustomization.yaml ships it as a ConfigMap); edit the
panels here and write it again. Every metric queried is checked against the services' metric
definitions by tests/observability/test_metric_names.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from grafana_foundation_sdk.builders import common, dashboard, prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.common import LegendDisplayMode, LegendPlacement
from grafana_foundation_sdk.models.dashboard import DataSourceRef, Threshold, ThresholdsMode

OUTPUT = Path(__file__).resolve().parent / "flowpilot-escalations.json"
UID = "flowpilot-escalations"
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
# The Deployments of deploy/k8s/base that run consumers (kube-state-metrics names them so).
CONSUMER_DEPLOYMENTS = ("handoff-api", "notifier", "docgen", "psa-sync")
NAMESPACE = "flowpilot"
RATE = "$__rate_interval"


def query(expr: str, legend: str) -> prometheus.Dataquery:
    return prometheus.Dataquery().expr(expr).legend_format(legend)


def quantile(q: float, histogram: str) -> str:
    return f"histogram_quantile({q}, sum by (le) (rate({histogram}_bucket[{RATE}])))"


def graph(title: str, description: str, unit: str, *targets: prometheus.Dataquery) -> timeseries.Panel:
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .min(0)
        .legend(
            common.VizLegendOptions()
            .display_mode(LegendDisplayMode.LIST)
            .placement(LegendPlacement.BOTTOM)
            .show_legend(True)
        )
        .span(12)
        .height(8)
    )
    for ref, target in zip("ABCDEFGH", targets, strict=False):
        panel = panel.with_target(target.ref_id(ref))
    return panel


def alarm_stat(title: str, description: str, expr: str) -> stat.Panel:
    """A single number that turns red from 1 up (each is also an alert in alerts.yaml)."""
    steps = [Threshold(value=None, color="green"), Threshold(value=1, color="red")]
    return (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .with_target(query(expr, title).instant().ref_id("A"))
        .reduce_options(common.ReduceDataOptions().calcs(["lastNotNull"]))
        .thresholds(dashboard.ThresholdsConfig().mode(ThresholdsMode.ABSOLUTE).steps(steps))
        .span(6)
        .height(4)
    )


def build() -> dashboard.Dashboard:
    deployments = "|".join(CONSUMER_DEPLOYMENTS)
    return (
        dashboard.Dashboard("FlowPilot Escalations")
        .uid(UID)
        .description("Escalations, the outbox, the queues and the deliveries (alerts: deploy/observability/alerts.yaml)")
        .tags(["flowpilot"])
        .refresh("30s")
        .time("now-6h", "now")
        .timezone("browser")
        .with_variable(dashboard.DatasourceVariable("datasource").label("Prometheus").type("prometheus"))
        .with_row(dashboard.Row("Now"))
        .with_panel(alarm_stat("Dead letters", "Messages in the <queue>.dlq queues", "sum(max by (queue) (flowpilot_dlq_messages))"))
        .with_panel(alarm_stat("Past the last round", "Escalations nobody claimed after the policy's final notice", "max(flowpilot_escalations_past_last_round)"))
        .with_panel(alarm_stat("Dead outbox rows", "Events set aside, never published (flowpilot-admin outbox list --dead)", "max(flowpilot_outbox_dead_rows)"))
        .with_panel(alarm_stat("Consumers without a ready replica", "Consumer Deployments with no available pod (kube-state-metrics)", f'count(kube_deployment_status_replicas_available{{namespace="{NAMESPACE}", deployment=~"{deployments}"}} < 1) or vector(0)'))
        .with_row(dashboard.Row("Escalations"))
        .with_panel(graph(
            "Escalations/s", "Escalations committed and announced (handoff.escalated published), and re-escalation rounds fired", "reqps",
            query(f'sum(rate(flowpilot_outbox_published_total{{routing_key="handoff.escalated"}}[{RATE}]))', "escalations/s"),
            query(f'sum by (outcome) (rate(flowpilot_reescalations_total{{outcome=~"round|final"}}[{RATE}]))', "re-escalations/s ({{outcome}})"),
        ))
        .with_panel(graph(
            "Time to pickup", "How long an escalation waited in the queue until a senior claimed it", "s",
            query(quantile(0.5, "flowpilot_time_to_pickup_seconds"), "p50"),
            query(quantile(0.9, "flowpilot_time_to_pickup_seconds"), "p90"),
            query(quantile(0.99, "flowpilot_time_to_pickup_seconds"), "p99"),
        ))
        .with_row(dashboard.Row("Outbox"))
        .with_panel(graph(
            "Outbox lag", "Commit to confirmed publish (p99), and the age of the oldest row still waiting", "s",
            query(quantile(0.99, "flowpilot_outbox_lag_seconds"), "publish lag p99"),
            query("max(flowpilot_outbox_oldest_unpublished_seconds)", "oldest unpublished"),
        ))
        .with_panel(graph(
            "Outbox backlog", "Rows not yet published, those the broker refused, those set aside", "short",
            query("max(flowpilot_outbox_unpublished)", "unpublished"),
            query("max(flowpilot_outbox_failing)", "failing"),
            query("max(flowpilot_outbox_dead_rows)", "dead"),
        ))
        .with_row(dashboard.Row("Queues"))
        .with_panel(graph(
            "Queue depth per consumer", "Messages waiting in each consumer's queue", "short",
            query("max by (queue) (flowpilot_queue_messages)", "{{queue}}"),
        ))
        .with_panel(graph(
            "Dead-letter queues", "Messages in each <queue>.dlq (flowpilot-admin dlq list)", "short",
            query("max by (queue) (flowpilot_dlq_messages)", "{{queue}}"),
        ))
        .with_panel(graph(
            "Consumer messages", "Messages handled per consumer, by outcome", "short",
            query(f"sum by (consumer, outcome) (rate(flowpilot_consumer_messages_total[{RATE}]))", "{{consumer}} {{outcome}}"),
        ))
        .with_panel(graph(
            "Ready replicas", "Available pods of each consumer Deployment (kube-state-metrics)", "short",
            query(f'kube_deployment_status_replicas_available{{namespace="{NAMESPACE}", deployment=~"{deployments}"}}', "{{deployment}}"),
        ))
        .with_row(dashboard.Row("Deliveries"))
        .with_panel(graph(
            "Delivery outcomes per channel", "Delivery ledger transitions (sent, retrying, failed, skipped) by channel", "short",
            query(f"sum by (channel, status) (rate(flowpilot_notifier_deliveries_total[{RATE}]))", "{{channel}} {{status}}"),
        ))
        .with_panel(graph(
            "PSA pushes", "Ticket notes by provider and outcome (pushed, retrying, failed, no_psa)", "short",
            query(f"sum by (provider, outcome) (rate(flowpilot_psa_pushes_total[{RATE}]))", "{{provider}} {{outcome}}"),
        ))
    )  # fmt: skip


def render() -> str:
    model = build().build()
    # Grafana tells panels apart by id; the builders leave them all 0. Numbered in layout order.
    for number, panel in enumerate(model.panels or [], start=1):
        panel.id_val = number
    return json.dumps(model, cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print(f"{OUTPUT.name} is not what dashboard.py builds: run deploy/observability/dashboard.py")
            return 1
        print(f"{OUTPUT.name}: as dashboard.py builds it")
        return 0
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
