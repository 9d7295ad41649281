"""Full pipeline: commit→stream latency at 50/s, then the highest rate sustained with queues drained."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Sequence
from typing import Any

from benchmarks import dbwork
from benchmarks.effects import wait_drained
from benchmarks.http import HttpPool
from benchmarks.load import percentile, run_handoffs
from benchmarks.procstats import box_busy_seconds
from benchmarks.raw import CommitProbe
from benchmarks.seed import Team
from benchmarks.stack import STREAM_REPLICA, Stack
from benchmarks.streams import Listeners

CANDIDATES = (10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 125, 150, 200, 300)
SUSTAIN_SECONDS = 60.0
# After the last handoff, everything must be done within this to count as sustained: a quarter of the
# run's length (15 s after the 60 s run). A 15 s search step gets the same share, not the same 15 s:
# a burst that needs as long again to drain was double what the box keeps up with.
DRAIN_SHARE = 0.25
MIN_DRAIN_GRACE = 3.0
FINAL_TRIES = 3
STREAM_RUNS = int(os.environ.get("BENCH_STREAM_RUNS", "5"))


async def stream_latency(
    stack: Stack, api: HttpPool, teams: Sequence[Team], *, seconds: float
) -> dict[str, Any]:
    """50 clients (5 in each of 10 accounts) watch 50 escalations/s across those accounts."""
    listeners = Listeners(stack.services[STREAM_REPLICA].port)
    group = list(teams[:10])
    tokens = [t for team in group for t in itertools.islice(itertools.cycle(team.senior_tokens), 5)]
    await listeners.connect(tokens)
    async with CommitProbe(stack.dsn) as probe:
        load = await run_handoffs(api, group, rate=50, seconds=seconds)
    drain = await wait_drained(stack, [h for _, h, _ in load.handoffs], timeout=60)
    await asyncio.sleep(0.5)
    await listeners.close()
    lat = listeners.latencies_ms()
    expected = 5 * load.ok
    return {
        "clients": len(tokens),
        "rate": 50,
        "seconds": seconds,
        "deliveries": len(lat),
        "expected_deliveries": expected,
        "commit_to_stream_p50_ms": round(percentile(lat, 50), 1),
        "commit_to_stream_p99_ms": round(percentile(lat, 99), 1),
        "commit_to_stream_max_ms": round(max(lat), 1) if lat else None,
        "api": load.summary(),
        # The disk's commit latency in the same window: the floor under both figures above.
        "postgres_commit_probe": probe.summary(),
        "drained": drain["drained"],
    }


async def sustained(
    stack: Stack,
    api: HttpPool,
    teams: Sequence[Team],
    *,
    rate: int,
    seconds: float,
    db_counters: bool = False,
) -> dict[str, Any]:
    """Run `rate`/s for `seconds`; sustained if the API kept up and everything drained within the grace.

    Also where the CPU went: each process' CPU from the first handoff until everything drained,
    per escalation (the box-wide PostgreSQL and RabbitMQ figures include whatever else they served);
    with `db_counters`, PostgreSQL's commits, WAL flushes and rows per escalation (a quiet wait
    before and after, so each snapshot holds all of its side's work).
    """
    grace = max(DRAIN_SHARE * seconds, MIN_DRAIN_GRACE)
    db_before = await dbwork.counters(stack.dsn) if db_counters else None
    before, box_before, kernel_before = stack.cpu_snapshot(), box_busy_seconds(), stack.system_cpu_snapshot()
    load = await run_handoffs(api, teams, rate=rate, seconds=seconds)
    drain = await wait_drained(stack, [h for _, h, _ in load.handoffs], timeout=grace)
    row: dict[str, Any] = {
        "rate": rate,
        "seconds": seconds,
        "drain_grace_s": grace,
        "api": load.summary(),
        **drain,
    }
    row["sustained"] = bool(drain["drained"] and not load.errors and load.achieved >= 0.95 * rate)
    if not drain["drained"]:
        # Let the backlog finish before the next step, and record how long it took.
        late = await wait_drained(stack, [h for _, h, _ in load.handoffs], timeout=120)
        row["backlog_drained_after_s"] = round(grace + late["drain_seconds"], 1)
        row["effects"], row["duplicates"] = late["effects"], late["duplicates"]
    after, box_after = stack.cpu_snapshot(), box_busy_seconds()
    done = max(load.ok, 1)
    row["cpu_ms_per_escalation"] = {
        name: round((after[name] - before[name]) * 1000 / done, 2) for name in before
    }
    # How much of our services' CPU was the kernel's (system calls: sockets, mostly).
    kernel = stack.system_cpu_snapshot()
    ours = sum(after[name] - before[name] for name in kernel)
    row["services_system_cpu_share"] = round(
        sum(kernel[name] - kernel_before[name] for name in kernel) / ours if ours else 0.0, 3
    )
    # The whole machine, for the share nothing above accounts for (kernel threads, other tenants).
    row["box_cpu_ms_per_escalation"] = round((box_after - box_before) * 1000 / done, 2)
    if db_before is not None:
        row["db_per_escalation"] = dbwork.per_escalation(db_before, await dbwork.counters(stack.dsn), done)
    return row


async def run(stack: Stack, api: HttpPool, teams: Sequence[Team], *, scale: float) -> dict[str, Any]:
    """Stream latency, a short search (15 s steps), then the full 60 s at the best rate found."""
    result: dict[str, Any] = {}
    # The p99 target must hold run after run, not once: every run is kept, the worst one reported.
    runs = []
    for number in range(1, STREAM_RUNS + 1):
        print(f"  commit→stream latency, 50 clients at 50/s (run {number}/{STREAM_RUNS}) ...", flush=True)
        runs.append(await stream_latency(stack, api, teams, seconds=10 * scale))
        print(f"  {runs[-1]}", flush=True)
    result["stream_latency_runs"] = runs
    result["stream_latency"] = max(runs, key=lambda run: run["commit_to_stream_p99_ms"])
    search: list[dict[str, Any]] = []
    best = 0
    for rate in CANDIDATES:
        row = await sustained(stack, api, teams, rate=rate, seconds=15 * scale)
        search.append(row)
        print(
            f"  pipeline search {rate}/s for {15 * scale:.0f}s: sustained={row['sustained']} "
            f"drain={row['drain_seconds']}s api p99={row['api']['p99_ms']}ms",
            flush=True,
        )
        if not row["sustained"]:
            break
        best = rate
    result["search"] = search
    # The full 60 s at the best step; a backlog that only shows over the longer run sends it down the
    # ladder (at most FINAL_TRIES runs), so the result names a rate that held rather than 0.
    passed = [rate for rate in CANDIDATES if rate <= best] or [CANDIDATES[0]]
    finals = []
    for final_rate in passed[::-1][:FINAL_TRIES]:
        print(f"  pipeline sustained run: {final_rate}/s for {SUSTAIN_SECONDS:.0f}s ...", flush=True)
        final = await sustained(stack, api, teams, rate=final_rate, seconds=SUSTAIN_SECONDS, db_counters=True)
        print(
            f"  {final['sustained']=} drain={final['drain_seconds']}s effects={final['effects']}", flush=True
        )
        finals.append(final)
        if final["sustained"]:
            break
    result["final"] = finals[-1]
    result["finals"] = finals
    result["max_sustained_rate"] = finals[-1]["rate"] if finals[-1]["sustained"] else 0
    return result
