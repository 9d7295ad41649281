"""Handoff API latency at fixed rates, and the highest rate whose p99 stays under 100 ms."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from benchmarks.http import HttpPool
from benchmarks.load import run_handoffs
from benchmarks.procstats import cpu_seconds
from benchmarks.seed import Team

FIXED_RATES = (50, 100, 200)
P99_LIMIT_MS = 100.0


async def fixed_rates(
    api: HttpPool, teams: Sequence[Team], *, seconds: float, pid: int, rates: Sequence[int] = FIXED_RATES
) -> list[dict[str, Any]]:
    """p50/p95/p99 at 50, 100 and 200 escalations/s, and handoff-api CPU per handoff (noise-proof)."""
    rows = []
    for rate in rates:
        before = cpu_seconds(pid)
        result = await run_handoffs(api, teams, rate=rate, seconds=seconds)
        await asyncio.sleep(0.5)  # let the relay publish the tail (its CPU belongs to these handoffs)
        rows.append(result.summary())
        rows[-1]["api_cpu_ms_per_handoff"] = round((cpu_seconds(pid) - before) * 1000 / max(result.ok, 1), 2)
        print(f"  api {rate}/s: {rows[-1]}", flush=True)
        await asyncio.sleep(1.0)
    return rows


# Unmeasured warm-up steps (rate/s, seconds), busy enough that every worker opens its pool's
# connections and prepares its statements on each: a measured step faster than the warm-up paid for
# the connections it opened mid-step (with 400/s the last warm-up, the search's 500/s step had p99
# 124 ms in a full run, and 800/s steps after it p99 82-205 ms; 13-16 ms with 800/s in the warm-up).
WARM_UP = ((100, 3.0), (400, 3.0), (800, 2.0))


async def warm_up(
    api: HttpPool, teams: Sequence[Team], *, steps: Sequence[tuple[int, float]] = WARM_UP
) -> None:
    """Unmeasured load first: every worker and pooled connection prepares its statements."""
    for rate, seconds in steps:
        await run_handoffs(api, teams, rate=rate, seconds=seconds)
        await asyncio.sleep(1.0)


def _passes(row: dict[str, Any]) -> bool:
    return (
        not row["errors"]
        and row["p99_ms"] < P99_LIMIT_MS
        and row["achieved_rate"] >= 0.95 * float(row["target_rate"])
    )


LADDER = (50, 100, 150, 200, 300, 400, 500, 600, 800, 1000, 1200, 1500, 2000)


async def max_rate(
    api: HttpPool, teams: Sequence[Team], *, seconds: float, ladder: Sequence[int] = LADDER
) -> tuple[int, list[dict[str, Any]]]:
    """Climb the ladder until p99 passes 100 ms (or errors/shortfall); then try once between the steps."""
    steps: list[dict[str, Any]] = []
    best, failed_at = 0, 0
    for rate in ladder:
        row = (await run_handoffs(api, teams, rate=rate, seconds=seconds)).summary()
        row["passed"] = _passes(row)
        steps.append(row)
        print(f"  api search {rate}/s: p99 {row['p99_ms']} ms, achieved {row['achieved_rate']}/s", flush=True)
        await asyncio.sleep(2.0)
        if not row["passed"]:
            failed_at = rate
            break
        best = rate
    if best and failed_at:
        middle = (best + failed_at) // 2
        row = (await run_handoffs(api, teams, rate=middle, seconds=seconds)).summary()
        row["passed"] = _passes(row)
        steps.append(row)
        print(f"  api search {middle}/s: p99 {row['p99_ms']} ms", flush=True)
        if row["passed"]:
            best = middle
    return best, steps
