"""Handoff API latency at fixed rates, and the highest rate whose p99 stays under 100 ms."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from benchmarks.http import HttpPool
from benchmarks.load import run_handoffs
from benchmarks.procstats import cpu_seconds
from benchmarks.raw import CommitProbe
from benchmarks.seed import Team

FIXED_RATES = (50, 100, 200)
P99_LIMIT_MS = 100.0
FIXED_P99_TARGET_MS = 50.0
# A lone commit on the idle box takes about a millisecond; one held this long means the disk stalled
# in that window (a checkpoint or vacuum flushing, a noisy neighbour), whatever the API did.
DISK_STALL_MS = 50.0


async def _step(
    api: HttpPool, teams: Sequence[Team], *, dsn: str, rate: int, seconds: float
) -> dict[str, Any]:
    """One load step, with the commit probe timing the disk in the same window."""
    async with CommitProbe(dsn) as probe:
        result = await run_handoffs(api, teams, rate=rate, seconds=seconds)
    return {**result.summary(), "postgres_commit_probe": probe.summary()}


def disk_stalled(row: dict[str, Any]) -> bool:
    """Whether the disk held a lone commit for `DISK_STALL_MS` or more during this step."""
    return float(row["postgres_commit_probe"].get("max_ms") or 0.0) >= DISK_STALL_MS


async def _step_judged(
    api: HttpPool,
    teams: Sequence[Team],
    *,
    dsn: str,
    rate: int,
    seconds: float,
    p99_limit_ms: float,
) -> dict[str, Any]:
    """A step; one that missed `p99_limit_ms` while the disk stalled is run once more.

    The returned row is the one that counts; a first run set aside stays in it under `stalled_run`,
    so the table shows both.
    """
    row = await _step(api, teams, dsn=dsn, rate=rate, seconds=seconds)
    row["passed"] = _passes(row, p99_limit_ms)
    if row["passed"] or not disk_stalled(row):
        return row
    print(f"  api {rate}/s: p99 {row['p99_ms']} ms while the disk stalled; once more", flush=True)
    await asyncio.sleep(2.0)
    rerun = await _step(api, teams, dsn=dsn, rate=rate, seconds=seconds)
    rerun["passed"] = _passes(rerun, p99_limit_ms)
    rerun["stalled_run"] = row
    return rerun


async def fixed_rates(
    api: HttpPool,
    teams: Sequence[Team],
    *,
    dsn: str,
    seconds: float,
    pid: int,
    rates: Sequence[int] = FIXED_RATES,
) -> list[dict[str, Any]]:
    """p50/p95/p99 at 50, 100 and 200 escalations/s, and handoff-api CPU per handoff (noise-proof)."""
    rows = []
    for rate in rates:
        before = cpu_seconds(pid)
        row = await _step_judged(
            api, teams, dsn=dsn, rate=rate, seconds=seconds, p99_limit_ms=FIXED_P99_TARGET_MS
        )
        await asyncio.sleep(0.5)  # let the relay publish the tail (its CPU belongs to these handoffs)
        handoffs = row["ok"] + row.get("stalled_run", {}).get("ok", 0)
        row["api_cpu_ms_per_handoff"] = round((cpu_seconds(pid) - before) * 1000 / max(handoffs, 1), 2)
        rows.append(row)
        print(f"  api {rate}/s: {row}", flush=True)
        await asyncio.sleep(1.0)
    return rows


# Unmeasured warm-up steps (rate/s, seconds), busy enough that every worker opens its pool's
# connections and prepares its statements on each: a measured step faster than the warm-up would pay
# for the connections it opened mid-step.
WARM_UP = ((100, 3.0), (400, 3.0), (800, 2.0))


async def warm_up(
    api: HttpPool, teams: Sequence[Team], *, steps: Sequence[tuple[int, float]] = WARM_UP
) -> None:
    """Unmeasured load first: every worker and pooled connection prepares its statements."""
    for rate, seconds in steps:
        await run_handoffs(api, teams, rate=rate, seconds=seconds)
        await asyncio.sleep(1.0)


def _passes(row: dict[str, Any], p99_limit_ms: float) -> bool:
    return (
        not row["errors"]
        and row["p99_ms"] < p99_limit_ms
        and row["achieved_rate"] >= 0.95 * float(row["target_rate"])
    )


LADDER = (50, 100, 150, 200, 300, 400, 500, 600, 800, 1000, 1200, 1500, 2000)


async def max_rate(
    api: HttpPool, teams: Sequence[Team], *, dsn: str, seconds: float, ladder: Sequence[int] = LADDER
) -> tuple[int, list[dict[str, Any]]]:
    """Climb the ladder until p99 passes 100 ms (or errors/shortfall); then try once between the steps.

    A step that missed while the disk stalled is run once more (`_step_judged`).
    """
    steps: list[dict[str, Any]] = []
    best, failed_at = 0, 0
    for rate in ladder:
        row = await _step_judged(api, teams, dsn=dsn, rate=rate, seconds=seconds, p99_limit_ms=P99_LIMIT_MS)
        steps.append(row)
        print(
            f"  api search {rate}/s: p99 {row['p99_ms']} ms, achieved {row['achieved_rate']}/s, "
            f"commit probe max {row['postgres_commit_probe'].get('max_ms')} ms",
            flush=True,
        )
        await asyncio.sleep(2.0)
        if not row["passed"]:
            failed_at = rate
            break
        best = rate
    if best and failed_at:
        middle = (best + failed_at) // 2
        row = await _step_judged(api, teams, dsn=dsn, rate=middle, seconds=seconds, p99_limit_ms=P99_LIMIT_MS)
        steps.append(row)
        print(f"  api search {middle}/s: p99 {row['p99_ms']} ms", flush=True)
        if row["passed"]:
            best = middle
    return best, steps
