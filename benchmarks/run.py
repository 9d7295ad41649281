"""`make bench`: one run on this machine; prints a table, writes benchmarks/results/<date>-<host>.json.

A benchmark, not a test: it reports what it measured and never asserts a timing. Durations are scaled
down from the issue's wording where noted (BENCH_SCALE=2 doubles every phase's duration) so the whole
run stays near ten minutes; the sustained pipeline run is the full 60 s. The API and the pipeline are
measured once more with every service exporting OpenTelemetry spans (`tracing.py`; BENCH_TRACING=off skips).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import subprocess
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import uvloop

from benchmarks import api, console_queue, lifecycle, pipeline, raw, scale, slack_clicks, tracing, units
from benchmarks import results as history
from benchmarks.http import HttpPool
from benchmarks.maintenance import AutovacuumStandIn, vacuum_analyze
from benchmarks.procstats import raise_fd_limit, rss_mb
from benchmarks.report import render
from benchmarks.seed import configure_integrations, seed_teams
from benchmarks.stack import JWT_SECRET, SERVICES, Stack, api_worker_env

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
PHASES_OFF = set(os.environ.get("BENCH_SKIP", "").split(","))
API_RATES = tuple(int(r) for r in os.environ.get("BENCH_API_RATES", "50,100,200").split(","))
API_WORKERS = int(os.environ.get("BENCH_API_WORKERS", "2"))
PHASES = set(
    os.environ.get("BENCH_PHASES", "raw,api,pipeline,units,scale,timeline,timers,console,slack").split(",")
)
# The escalation lifecycle's steps: idle window of each timer measurement, the timeline step's rate.
TIMER_IDLE_SECONDS = 60.0
TIMELINE_RATE = 20


def machine() -> dict[str, Any]:
    """What this run ran on."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )

    def version(cmd: list[str]) -> str:
        try:
            return (
                subprocess.run(cmd, capture_output=True, text=True, timeout=30).stdout.strip().splitlines()[0]
            )
        except Exception:
            return "unknown"

    return {
        "nproc": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "postgresql": version(
            ["psql", "-XtAc", "show server_version", "postgresql://postgres@127.0.0.1:5432/postgres"]
        ),
        "rabbitmq": version(["rabbitmqctl", "version"]),
        "python": platform.python_version(),
    }


async def _retrying(measure: Callable[[], Awaitable[float]], attempts: int = 12) -> float:
    """Run a raw measurement, waiting out a shared server that is briefly out of connections."""
    for attempt in range(attempts):
        try:
            return await measure()
        except Exception as exc:
            if attempt == attempts - 1:
                raise
            print(f"  raw measurement failed ({type(exc).__name__}: {exc}); retrying", flush=True)
            await asyncio.sleep(5.0)
    raise AssertionError("unreachable")


async def main() -> dict[str, Any]:
    """Run every phase and return the results."""
    fds = raise_fd_limit()
    results: dict[str, Any] = {
        "machine": machine(),
        "duration_scale": SCALE,
        "fd_limit": fds,
        "started": time.time(),
    }
    # The box may be shared (other test runs): say how busy it was, the numbers depend on it.
    results["loadavg_start"] = Path("/proc/loadavg").read_text().split()[0]
    stack = Stack()
    autovacuum = AutovacuumStandIn(stack.dsn)
    print(
        f"benchmark run {stack.run_id}: database {stack.db_name}, vhost {stack.vhost}, logs {stack.workdir}",
        flush=True,
    )
    try:
        await stack.provision()
        if "raw" in PHASES:
            print("raw limits ...", flush=True)
            results["raw"] = {
                "postgres_tx_per_s": round(
                    await _retrying(lambda: raw.postgres_commits_per_second(stack.dsn, seconds=5 * SCALE))
                ),
                "rabbitmq_pub_per_s": round(
                    await _retrying(
                        lambda: raw.rabbitmq_publishes_per_second(stack.amqp_url, seconds=5 * SCALE)
                    )
                ),
                "postgres_commit_latency": await raw.postgres_commit_latency(stack.dsn, seconds=10 * SCALE),
            }
            print(f"  {results['raw']}", flush=True)
        stack.start_fakes()
        print("seeding ...", flush=True)
        api_teams = await seed_teams(
            stack.dsn, secret=JWT_SECRET, teams=100, seniors=3, sessions_per_team=450, tag="api"
        )
        pipe_teams = await seed_teams(
            stack.dsn, secret=JWT_SECRET, teams=100, seniors=3, sessions_per_team=600, tag="pipe"
        )
        await vacuum_analyze(stack.dsn)
        results["autovacuum_stand_in"] = await autovacuum.start()
        # handoff-api alone first: its events are published (confirmed) but no consumer queue exists yet.
        stack.start("handoff-api")
        # Idle memory with the default settings (one process); the load phases then run the API with
        # BENCH_API_WORKERS worker processes, as a deployment on this box would.
        results["idle_rss_mb"] = {"handoff-api": round(rss_mb(stack.pid("handoff-api")), 1)}
        results["api_workers"] = API_WORKERS
        api_env = api_worker_env(API_WORKERS)
        if api_env:
            stack.restart("handoff-api", extra_env=api_env)
        pool = HttpPool("127.0.0.1", stack.services["handoff-api"].port, size=256)
        await configure_integrations(pool, pipe_teams, psa_port=stack.fake_ports["psa"])
        if "api" in PHASES:
            print("handoff API (handoff-api alone, relay publishing) ...", flush=True)
            await api.warm_up(pool, api_teams)
            results["api"] = {
                "fixed": await api.fixed_rates(
                    pool,
                    api_teams,
                    dsn=stack.dsn,
                    seconds=5 * SCALE,
                    pid=stack.pid("handoff-api"),
                    rates=API_RATES,
                )
            }
            if "api-search" not in PHASES_OFF:
                best, steps = await api.max_rate(pool, api_teams, dsn=stack.dsn, seconds=5 * SCALE)
                results["api"].update({"max_rate_p99_under_100ms": best, "search": steps})
                if "raw" in results:
                    ratio = best / results["raw"]["postgres_tx_per_s"]
                    results["api"]["ratio_to_raw_postgres"] = round(ratio, 3)
            if tracing.ENABLED:
                print("handoff API again, traced ...", flush=True)
                results["tracing_on"] = {
                    "api": await tracing.api_traced(
                        stack, pool, api_teams, seconds=5 * SCALE, rates=API_RATES, api_env=api_env
                    )
                }
        await stack.purge_unrouted()
        # The API phase left thousands of handoffs and outbox rows; this PostgreSQL runs without
        # autovacuum, so do what it would have done before the pipeline is measured.
        await vacuum_analyze(stack.dsn)
        stack.start(*SERVICES)
        await asyncio.sleep(3.0)
        for name in SERVICES:
            if name != "handoff-api":
                results["idle_rss_mb"][name] = round(rss_mb(stack.pid(name)), 1)
        if "pipeline" in PHASES:
            print("full pipeline ...", flush=True)
            results["pipeline"] = await pipeline.run(stack, pool, pipe_teams, scale=SCALE)
            if tracing.ENABLED:
                rate = results["pipeline"]["final"]["rate"]
                print(f"pipeline again at {rate}/s, every service traced ...", flush=True)
                results.setdefault("tracing_on", {})["pipeline"] = await tracing.pipeline_traced(
                    stack, pool, pipe_teams, rate=rate, api_env=api_env
                )
        if "units" in PHASES:
            print("the I/O operations of an escalation, one kind at a time ...", flush=True)
            results["units"] = await units.run(stack, results.get("pipeline"))
            print(f"  {results['units']}", flush=True)
        if "scale" in PHASES:
            print("scale ...", flush=True)
            results["scale"] = await scale.run(stack, pool, scale=SCALE)
        if "timeline" in PHASES:
            print("timeline: a pipeline step, then its timelines read ...", flush=True)
            results["timeline"] = await lifecycle.timeline_cost(
                stack, pool, pipe_teams, rate=TIMELINE_RATE, seconds=15 * SCALE
            )
            print(f"  {results['timeline']}", flush=True)
        results["rss_after_mb"] = {name: round(rss_mb(stack.pid(name)), 1) for name in SERVICES}
        await pool.close()
        if "timers" in PHASES:
            # Last: it restarts handoff-api (one worker, the default) for each idle window.
            print("re-escalation timer overhead while idle ...", flush=True)
            results["timers"] = await lifecycle.timer_overhead(stack, seconds=TIMER_IDLE_SECONDS * SCALE)
            print(f"  {results['timers']}", flush=True)
    except Exception as exc:
        # A benchmark reports what it got: a phase that broke (say PostgreSQL restarted under it)
        # is named in the results and the phases before it are still printed and written.
        results["error"] = f"{type(exc).__name__}: {exc}"
        print(f"benchmark stopped early: {results['error']}", flush=True)
    finally:
        await autovacuum.stop()
        await stack.teardown()
    # Each on a stack of its own, after the main one is gone.
    for phase, label, measure in (
        (
            "console",
            "the console: escalation 201 to its row painted in the open queue ...",
            console_queue.main,
        ),
        ("slack", "Pick up from Slack: signed clicks at 50/s ...", slack_clicks.main),
    ):
        if phase in PHASES and "error" not in results:
            print(label, flush=True)
            try:
                results[phase] = await measure()
            except Exception as exc:
                results["error"] = f"{phase}: {type(exc).__name__}: {exc}"
    results["finished"] = time.time()
    return results


def entry() -> None:
    """Run, print the table, write the JSON."""
    results = uvloop.run(main())
    results["per_escalation"] = history.per_escalation(results)
    print(render(results))
    # A partial run (BENCH_PHASES) is not history; BENCH_OUT still gets it for a look.
    if {"raw", "api", "pipeline", "scale"} <= PHASES and "error" not in results:
        path = history.write(results)
        history.update_docs(path, results)
        print(f"results written to {path}; docs/benchmarks.md shows them")
    out = os.environ.get("BENCH_OUT")
    if out:
        Path(out).write_text(json.dumps(results, indent=2, default=str))
        print(f"JSON written to {out}")


if __name__ == "__main__":
    entry()
