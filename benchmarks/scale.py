"""Scale: cost per escalation as recipients grow; stream fan-out and notifier memory as clients grow."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
import uuid
from typing import Any

from benchmarks.effects import wait_drained
from benchmarks.http import HttpPool
from benchmarks.procstats import rss_mb
from benchmarks.seed import Team, seed_teams
from benchmarks.stack import JWT_SECRET, STREAM_REPLICA, Stack
from benchmarks.streams import Listeners

RECIPIENTS = (3, 30, 300)
CLIENTS = (100, 1000, 5000)
ESCALATIONS_PER_STEP = 3


async def _escalate(api: HttpPool, team: Team) -> tuple[str, float]:
    session_id = team.next_session()
    response = await api.request(
        "POST",
        f"/api/v1/ai-sessions/{session_id}/handoff",
        body={"intent": "escalate", "reason": "Scale probe"},
        headers={"Authorization": f"Bearer {team.junior_token}"},
    )
    if response.status != 201:
        raise RuntimeError(f"handoff answered {response.status}: {response.body[:200]!r}")
    return str(response.json()["id"]), time.time()


async def recipients(stack: Stack, api: HttpPool) -> list[dict[str, Any]]:
    """Commit to every bell row and every email sent, for 3, 30 and 300 recipients (no chat, no PSA)."""
    rows = []
    for count in RECIPIENTS:
        (team,) = await seed_teams(
            stack.dsn,
            secret=JWT_SECRET,
            teams=1,
            seniors=count,
            sessions_per_team=ESCALATIONS_PER_STEP,
            tag=f"r{count}",
        )
        times = []
        for _ in range(ESCALATIONS_PER_STEP):
            started = time.perf_counter()
            handoff_id, _ = await _escalate(api, team)
            answered = time.perf_counter()
            drain = await wait_drained(
                stack,
                [uuid.UUID(handoff_id)],
                timeout=120,
                per_escalation={"bell": count, "email": count},
                interval=0.01,  # the 3-recipient case takes well under a second: poll finely
            )
            seen = drain["effects_seconds"]
            times.append(answered - started + seen if drain["drained"] and seen else float("nan"))
        median = statistics.median(times)
        rows.append(
            {
                "recipients": count,
                "commit_to_all_bell_and_email_s": round(median, 3),
                "per_recipient_ms": round(median * 1000 / count, 2),
                "runs_s": [round(t, 3) for t in times],
            }
        )
        print(f"  recipients {count}: {rows[-1]}", flush=True)
    return rows


async def fan_out(stack: Stack, api: HttpPool) -> list[dict[str, Any]]:
    """Clients on ONE notifier process (all in one account, 10 users): fan-out time and notifier RSS."""
    (team,) = await seed_teams(
        stack.dsn,
        secret=JWT_SECRET,
        teams=1,
        seniors=10,
        sessions_per_team=ESCALATIONS_PER_STEP * len(CLIENTS),
        tag="fan",
    )
    listeners = Listeners(stack.services[STREAM_REPLICA].port)
    pid = stack.pid(STREAM_REPLICA)
    tokens = itertools.cycle(team.senior_tokens)
    rows = []
    try:
        for target in CLIENTS:
            started = time.perf_counter()
            await listeners.connect([next(tokens) for _ in range(target - len(listeners.streams))])
            connect_s = time.perf_counter() - started
            await asyncio.sleep(1.0)
            rss_connected = rss_mb(pid)
            probes = []
            for _ in range(ESCALATIONS_PER_STEP):
                handoff_id, _ = await _escalate(api, team)
                probes.append(await listeners.fan_out_ms(handoff_id, expected=target))
                await asyncio.sleep(0.5)
            alls = [p["all_ms"] for p in probes if p["all_ms"] is not None]
            rows.append(
                {
                    "clients": target,
                    "connect_s": round(connect_s, 1),
                    "fan_out_all_ms_median": round(statistics.median(alls), 1) if alls else None,
                    "fan_out_first_ms_median": round(
                        statistics.median(p["first_ms"] for p in probes if p["first_ms"] is not None), 1
                    )
                    if alls
                    else None,
                    "received_all": all(p["received"] == target for p in probes),
                    "notifier_rss_mb": round(max(rss_connected, rss_mb(pid)), 1),
                    "probes": probes,
                }
            )
            print(f"  fan-out {target} clients: {rows[-1]}", flush=True)
    finally:
        await listeners.close()
    return rows


async def run(stack: Stack, api: HttpPool, *, scale: float) -> dict[str, Any]:
    """Both scale measurements."""
    return {"recipients": await recipients(stack, api), "stream_fan_out": await fan_out(stack, api)}
