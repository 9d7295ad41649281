"""The escalation lifecycle's costs: the timer loop while idle, and the timeline.

Timer overhead: 1,000 open escalations are seeded (their timers due in an hour), then handoff-api's CPU
per second of idle time is measured twice, with the timer loop off (the baseline) and on, each in a
fresh process after a settling pause. The loop's wake-ups in that window and the plan and time of its
one per-wake query are reported beside it.

The escalation's write statement (the hot path) is timed with and without the timer it now starts.

Timeline cost: the timeline reads what the other services wrote where they wrote it, so it adds no
write to an escalation; a short fixed-rate pipeline step gives PostgreSQL's commits per escalation,
then the timelines of its last escalations are read one at a time (latency, handoff-api CPU per read).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
from prometheus_client.parser import text_string_to_metric_families

from benchmarks.http import HttpPool
from benchmarks.pipeline import sustained
from benchmarks.procstats import cpu_seconds
from benchmarks.seed import Team, seed_teams
from benchmarks.stack import JWT_SECRET, STREAM_REPLICA, Stack
from handoff_api.handoffs.sql import write_escalate_sql
from handoff_api.reescalation.sql import NEXT_WAKE

OPEN_ESCALATIONS = 1000
SETTLE_SECONDS = 10.0
# The timeline step: how many of its last escalations have their timeline read, one at a time.
TIMELINE_READS = 200
OPEN_UP = """
WITH s AS (
  UPDATE ai_sessions SET status = 'escalated', escalation_reason = 'Bench: waiting' WHERE id = ANY($1::uuid[])
  RETURNING id, account_id, owner_id
), h AS (
  INSERT INTO handoffs (id, account_id, session_id, intent, reason, from_user_id)
  SELECT gen_random_uuid(), account_id, id, 'escalate', 'Bench: waiting', owner_id FROM s
  RETURNING id, account_id, session_id
)
INSERT INTO escalation_timers (session_id, handoff_id, account_id, due_at, last_at)
SELECT session_id, id, account_id, now() + interval '1 hour', now() FROM h
"""
RECENT_ESCALATIONS = """
SELECT session_id, account_id FROM handoffs WHERE intent = 'escalate' ORDER BY created_at DESC LIMIT $1
"""


async def seed_open_escalations(stack: Stack, count: int = OPEN_ESCALATIONS) -> int:
    """`count` unclaimed escalations in 10 accounts, each with its timer due in an hour; all timers now."""
    teams = await seed_teams(
        stack.dsn, secret=JWT_SECRET, teams=10, seniors=3, sessions_per_team=count // 10, tag="timers"
    )
    conn = await asyncpg.connect(stack.dsn)
    try:
        await conn.execute(OPEN_UP, [s for team in teams for s in team.sessions])
        # Their accounts keep the default policy (600 s): the seeded quiet policy is for the pipeline.
        await conn.execute(
            "DELETE FROM escalation_policies WHERE account_id = ANY($1::uuid[])",
            [t.account_id for t in teams],
        )
        await conn.execute("ANALYZE escalation_timers")
        return int(await conn.fetchval("SELECT count(*) FROM escalation_timers"))
    finally:
        await conn.close()


async def _metric(port: int, name: str, labels: dict[str, str] | None = None) -> float:
    """A counter's value from a service's /metrics (summed over label sets matching `labels`)."""
    async with httpx.AsyncClient(timeout=10) as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics")).text
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in (labels or {}).items()):
                total += sample.value
    return total


async def _idle_cpu(stack: Stack, *, timers: bool, seconds: float) -> dict[str, float]:
    """handoff-api's CPU per second over `seconds` of idle time, in a fresh process."""
    stack.restart("handoff-api", extra_env={"FLOWPILOT_REESCALATION_TIMERS": "true" if timers else "false"})
    await asyncio.sleep(SETTLE_SECONDS)
    port = stack.services["handoff-api"].port
    wakeups_before = await _metric(port, "flowpilot_reescalation_timer_wakeups_total")
    cpu_before, started = cpu_seconds(stack.pid("handoff-api")), time.monotonic()
    await asyncio.sleep(seconds)
    cpu, elapsed = cpu_seconds(stack.pid("handoff-api")) - cpu_before, time.monotonic() - started
    wakeups = await _metric(port, "flowpilot_reescalation_timer_wakeups_total") - wakeups_before
    return {
        "cpu_seconds_per_second": round(cpu / elapsed, 5),
        "seconds": round(elapsed, 1),
        "wakeups": wakeups,
    }


async def _next_wake_plan(stack: Stack) -> dict[str, Any]:
    conn = await asyncpg.connect(stack.dsn)
    try:
        plan = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {NEXT_WAKE}")
    finally:
        await conn.close()
    top = (json.loads(plan) if isinstance(plan, str) else plan)[0]
    nodes: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        nodes.append(node["Node Type"] + (f" on {node['Index Name']}" if "Index Name" in node else ""))
        for child in node.get("Plans", []):
            walk(child)

    walk(top["Plan"])
    return {"execution_ms": round(top["Execution Time"], 3), "nodes": nodes}


async def timer_overhead(stack: Stack, *, seconds: float) -> dict[str, Any]:
    """Idle CPU of handoff-api with 1,000 open escalations: timer loop off vs on."""
    timers = await seed_open_escalations(stack)
    off = await _idle_cpu(stack, timers=False, seconds=seconds)
    on = await _idle_cpu(stack, timers=True, seconds=seconds)
    return {
        "open_escalations_seeded": OPEN_ESCALATIONS,
        "timers_in_table": timers,
        "loop_off": off,
        "loop_on": on,
        "overhead_cpu_seconds_per_second": round(
            on["cpu_seconds_per_second"] - off["cpu_seconds_per_second"], 5
        ),
        "next_wake_query": await _next_wake_plan(stack),
        "escalation_write": await escalation_write_cost(stack),
    }


async def timeline_cost(
    stack: Stack, api: HttpPool, teams: Sequence[Team], *, rate: int, seconds: float
) -> dict[str, Any]:
    """A fixed-rate pipeline step (the timeline writes nothing of its own: its commits per escalation
    are the pipeline's), then the timelines of its last escalations read one at a time, as a senior
    opening them would: latency and handoff-api's CPU per read."""
    row = await sustained(stack, api, teams, rate=rate, seconds=seconds, db_counters=True)
    conn = await asyncpg.connect(stack.dsn)
    try:
        recent = await conn.fetch(RECENT_ESCALATIONS, TIMELINE_READS)
    finally:
        await conn.close()
    tokens = {team.account_id: team.owner_token for team in teams}
    timeline = await _reads(
        stack,
        api,
        [(f"/api/v1/ai-sessions/{e['session_id']}/timeline", tokens[e["account_id"]]) for e in recent],
        items="entries_per_timeline_median",
    )
    # As every senior's console does on each stream event.
    queue = await _reads(
        stack,
        api,
        [("/api/v1/ai-sessions/queue", tokens[e["account_id"]]) for e in recent],
        items="items_per_queue_median",
    )
    badge = await _reads(
        stack, api, [("/api/v1/ai-sessions/queue/count", tokens[e["account_id"]]) for e in recent]
    )
    # As the Sessions page does on each handoff event of its account (its page size, web/src/api).
    sessions = await _reads(
        stack,
        api,
        [("/api/v1/ai-sessions?mine=false&limit=100", tokens[e["account_id"]]) for e in recent],
        items="items_median",
    )
    # As every senior's bell badge does on each of their bell rows (a recipient's own count), from the
    # replica that serves the consoles.
    seniors = {team.account_id: team.senior_tokens[0] for team in teams}
    notifier = HttpPool("127.0.0.1", stack.services[STREAM_REPLICA].port, size=4)
    try:
        bell = await _reads(
            stack,
            notifier,
            [("/api/v1/notifications/unread-count", seniors[e["account_id"]]) for e in recent],
            service=STREAM_REPLICA,
        )
    finally:
        await notifier.close()
    return {
        "rate": rate,
        "seconds": seconds,
        "escalations": row["api"]["ok"],
        "drained": row["drained"],
        "postgres_commits_per_escalation": row.get("db_per_escalation", {}).get("commits"),
        **timeline,
        "queue": queue,
        "queue_count": badge,
        "sessions_list": sessions,
        "bell_unread_count": bell,
        "measured_at": datetime.now(UTC).isoformat(),
    }


async def _reads(
    stack: Stack,
    api: HttpPool,
    reads: Sequence[tuple[str, str]],
    *,
    service: str = "handoff-api",
    items: str | None = None,
) -> dict[str, Any]:
    """GET each (path, bearer token) from `service` one at a time: latency, the service's CPU per read,
    and (under the key `items`, for answers that are lists) the median number of items listed."""
    latencies, counts = [], []
    cpu_before = stack.cpu_snapshot()[service]
    for path, token in reads:
        started = time.perf_counter()
        response = await api.request("GET", path, headers={"Authorization": f"Bearer {token}"})
        latencies.append((time.perf_counter() - started) * 1000)
        if response.status != 200:
            raise RuntimeError(f"{path} answered {response.status}")
        counts.append(len(response.json()))
    cpu = stack.cpu_snapshot()[service] - cpu_before
    latencies.sort()
    return {
        "reads": len(latencies),
        "read_ms_median": round(statistics.median(latencies), 2),
        "read_ms_p99": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 2),
        f"{service.replace('-', '_')}_cpu_ms_per_read": round(cpu * 1000 / max(len(latencies), 1), 2),
    } | ({items: statistics.median(counts)} if items else {})


async def escalation_write_cost(stack: Stack, *, statements: int = 3000) -> dict[str, Any]:
    """The escalation's one write statement with its timer (as shipped) and without, alternately, on
    one connection, each in a transaction rolled back after it: what starting the timer in that
    statement adds per escalation (median ms, the commit left out of both)."""
    (team,) = await seed_teams(
        stack.dsn, secret=JWT_SECRET, teams=1, seniors=3, sessions_per_team=statements, tag="write"
    )
    variants = {
        "with_timer": write_escalate_sql(timer=True),
        "without_timer": write_escalate_sql(timer=False),
    }
    times: dict[str, list[float]] = {name: [] for name in variants}
    payload = json.dumps({"data": "x" * 1500})
    conn = await asyncpg.connect(stack.dsn)
    try:
        for i, session_id in enumerate(team.sessions):
            name = list(variants)[i % 2]
            version = await conn.fetchval("SELECT xmin FROM ai_sessions WHERE id = $1", session_id)
            handoff = (uuid.uuid4(), team.account_id, session_id, "escalate", "Bench", team.junior_id, None)
            write = (datetime.now(UTC), version, "normal")
            outbox = (
                uuid.uuid4(),
                "flowpilot.events",
                "handoff.escalated",
                team.account_id,
                session_id,
                None,
            )
            args = (*handoff, *write, *outbox, payload, None, None)  # no trace context, no request id
            # Rolled back: the rows (an outbox row among them) must not reach the relay and the queues.
            transaction = conn.transaction()
            await transaction.start()
            started = time.perf_counter()
            await conn.execute(variants[name], *args)
            times[name].append((time.perf_counter() - started) * 1000)
            await transaction.rollback()
    finally:
        await conn.close()
    warm = statements // 10  # the first statements plan and warm the caches
    medians = {name: round(statistics.median(values[warm:]), 3) for name, values in times.items()}
    return {**{f"{k}_median_ms": v for k, v in medians.items()}, "statements": statements}
