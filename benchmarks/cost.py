"""What one escalation costs, measured the way `make bench` measures it, in minutes instead of ten:
for comparing two versions of the code on one machine, one after the other.

    uv run --frozen python -m benchmarks.cost                 # 40/s for 30 s, twice
    BENCH_COST_RATE=30 BENCH_COST_RUNS=3 BENCH_COST_SECONDS=60 uv run --frozen python -m benchmarks.cost

The same stack as `make bench` (its own database and vhost, every service a real process with
production settings, handoff-api with two workers, the fakes), a short unmeasured warm-up, then
sustained runs at one fixed rate, each printed as the CPU of every process and PostgreSQL's own
counters per escalation (`pipeline.sustained`). Nothing is kept: `make bench` writes the history.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import Any

import uvloop

from benchmarks import pipeline
from benchmarks.http import HttpPool
from benchmarks.maintenance import AutovacuumStandIn, vacuum_analyze
from benchmarks.procstats import raise_fd_limit
from benchmarks.results import per_escalation
from benchmarks.run import API_WORKERS
from benchmarks.seed import configure_integrations, seed_teams
from benchmarks.stack import JWT_SECRET, SERVICES, Stack, api_worker_env

RATE = int(os.environ.get("BENCH_COST_RATE", "40"))
RUNS = int(os.environ.get("BENCH_COST_RUNS", "2"))
SECONDS = float(os.environ.get("BENCH_COST_SECONDS", "30"))
WARM_UP_RATE, WARM_UP_SECONDS = 20, 5.0


async def main() -> list[dict[str, Any]]:
    """Provision, seed, start everything, warm up, then `RUNS` sustained runs at `RATE`."""
    raise_fd_limit()
    stack = Stack()
    autovacuum = AutovacuumStandIn(stack.dsn)
    runs: list[dict[str, Any]] = []
    try:
        await stack.provision()
        stack.start_fakes()
        teams = await seed_teams(
            stack.dsn, secret=JWT_SECRET, teams=100, seniors=3, sessions_per_team=600, tag="cost"
        )
        await vacuum_analyze(stack.dsn)
        await autovacuum.start()
        stack.start("handoff-api", extra_env=api_worker_env(API_WORKERS))
        pool = HttpPool("127.0.0.1", stack.services["handoff-api"].port, size=256)
        await configure_integrations(pool, teams, psa_port=stack.fake_ports["psa"])
        stack.start(*(name for name in SERVICES if name != "handoff-api"))
        await asyncio.sleep(3.0)
        await pipeline.sustained(stack, pool, teams, rate=WARM_UP_RATE, seconds=WARM_UP_SECONDS)
        for number in range(1, RUNS + 1):
            row = await pipeline.sustained(stack, pool, teams, rate=RATE, seconds=SECONDS, db_counters=True)
            row["per_escalation"] = per_escalation({"pipeline": {"final": row}})
            runs.append(row)
            print(
                f"run {number}/{RUNS} at {RATE}/s: sustained={row['sustained']} "
                f"per escalation {row['per_escalation']} CPU ms {row['cpu_ms_per_escalation']} "
                f"PostgreSQL {row.get('db_per_escalation')}",
                flush=True,
            )
        await pool.close()
    finally:
        await autovacuum.stop()
        await stack.teardown()
    return runs


def entry() -> None:
    """Run and print the runs as JSON (BENCH_OUT: also to that file)."""
    runs = uvloop.run(main())
    text = json.dumps(runs, indent=2, default=str)
    out = os.environ.get("BENCH_OUT")
    if out:
        with open(out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    entry()
