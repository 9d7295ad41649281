"""The API and the pipeline measured again with every service exporting its spans (BENCH_TRACING=off skips).

Right after each of those phases (tracing off, as always), its services are restarted with the
OpenTelemetry variables aimed at a local sink that accepts OTLP/HTTP and discards it
(`benchmarks/trace_sink.py`), the same load runs again, and the services are restarted untraced for
the phases after. The figures go under `tracing_on` in the results, beside the untraced ones.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Sequence
from typing import Any

from tests.harness.processes import free_port

from benchmarks import api, pipeline
from benchmarks import results as history
from benchmarks.http import HttpPool
from benchmarks.seed import Team
from benchmarks.stack import SERVICES, Stack, wait_port

# On by default: `make bench` shows the cost with tracing off and on (BENCH_TRACING=off skips it).
ENABLED = os.environ.get("BENCH_TRACING", "on").strip().lower() != "off"
SINK = "otlp sink"


def _sink_port(stack: Stack) -> int:
    """The sink's port, started (as a process of its own: its CPU is counted beside the fakes') once."""
    if SINK not in stack.fakes:
        port = free_port()
        stack.fakes[SINK] = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.trace_sink", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=(stack.workdir / "otlp-sink.log").open("wb"),
        )
        stack.fake_ports[SINK] = port
        wait_port(port, stack.fakes[SINK])
    return stack.fake_ports[SINK]


def _sink_stats(stack: Stack) -> dict[str, int]:
    with urllib.request.urlopen(f"http://127.0.0.1:{stack.fake_ports[SINK]}/stats", timeout=10) as answer:
        stats: dict[str, int] = json.loads(answer.read())
    return stats


async def _restart(
    stack: Stack, pool: HttpPool, names: Sequence[str], *, traced: bool, api_env: dict[str, str]
) -> None:
    """Restart the services (on their ports) with tracing on or off, handoff-api with its worker
    settings; the pool's connections to the stopped handoff-api are dropped."""
    stack.tracing_env = (
        {
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{_sink_port(stack)}",
        }
        if traced
        else dict(Stack.UNTRACED)
    )
    for name in names:
        stack.restart(name, extra_env=api_env if name == "handoff-api" else None)
    await pool.close()


async def api_traced(
    stack: Stack,
    pool: HttpPool,
    teams: Sequence[Team],
    *,
    seconds: float,
    rates: Sequence[int],
    api_env: dict[str, str],
) -> dict[str, Any]:
    """The API phase's fixed rates again with handoff-api (alone, as then) traced."""
    await _restart(stack, pool, ["handoff-api"], traced=True, api_env=api_env)
    before = _sink_stats(stack)
    try:
        await api.warm_up(pool, teams)
        fixed = await api.fixed_rates(
            pool, teams, dsn=stack.dsn, seconds=seconds, pid=stack.pid("handoff-api"), rates=rates
        )
    finally:
        await _restart(stack, pool, ["handoff-api"], traced=False, api_env=api_env)
    return {"fixed": fixed, "exported": _exported(before, _sink_stats(stack))}


async def pipeline_traced(
    stack: Stack, pool: HttpPool, teams: Sequence[Team], *, rate: int, api_env: dict[str, str]
) -> dict[str, Any]:
    """The pipeline's sustained run again at the same rate with every service traced: its CPU per
    escalation is the figure to compare."""
    await _restart(stack, pool, SERVICES, traced=True, api_env=api_env)
    await asyncio.sleep(3.0)
    before = _sink_stats(stack)
    try:
        final = await pipeline.sustained(
            stack, pool, teams, rate=rate, seconds=pipeline.SUSTAIN_SECONDS, db_counters=True
        )
        await asyncio.sleep(6.0)  # the batch span processors export every 5 s
        exported = _exported(before, _sink_stats(stack))
    finally:
        await _restart(stack, pool, SERVICES, traced=False, api_env=api_env)
    return {
        "final": final,
        "per_escalation": history.per_escalation({"pipeline": {"final": final}}),
        "exported": exported,
    }


def _exported(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {key: after[key] - before[key] for key in after}


def rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    """Table rows comparing the traced runs with the untraced ones (none when not measured)."""
    traced = results.get("tracing_on")
    if not traced:
        return []
    out = []
    untraced_api = {step["target_rate"]: step for step in results.get("api", {}).get("fixed", [])}
    for step in traced.get("api", {}).get("fixed", []):
        off = untraced_api.get(step["target_rate"], {})
        out.append(
            (
                f"tracing on: handoff API at {step['target_rate']}/s p50 / p99 (tracing off)",
                f"{step['p50_ms']} / {step['p99_ms']} ms ({off.get('p50_ms', '?')} / {off.get('p99_ms', '?')} ms)",
            )
        )
    on, off = (traced.get("pipeline") or {}).get("per_escalation"), results.get("per_escalation")
    if on:
        rate = traced["pipeline"]["final"]["rate"]
        out.append(
            (
                f"tracing on: pipeline at {rate}/s, services' CPU ms per escalation (tracing off)",
                f"{on['services_cpu_ms']} ({(off or {}).get('services_cpu_ms', '?')}); sustained="
                f"{traced['pipeline']['final']['sustained']}, {traced['pipeline']['exported']['requests']} "
                "OTLP exports",
            )
        )
    return out
