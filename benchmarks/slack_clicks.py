"""Slack Pick up clicks at 50/s against the real handoff-api process, for ~20 s.

Measures what Slack waits for: the interactions endpoint's answer (Slack gives up after 3 s), from
each click's scheduled time (open loop, so a stall counts against every click queued behind it).
Also the work done after answering (users.info, the claim, the ephemeral reply): click to reply,
and how long after the last click everything was done. Every escalation gets five clicks from
five seniors close together: one claim and four "already picked up" replies each.

`uv run --frozen python -m benchmarks.slack_clicks` (CLICKS_RATE, CLICKS_SECONDS change the load;
CLICKS_OUT names a JSON file for the results). Not part of `make bench`; reports, asserts nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from tests.fakes.slack import SlackMessage
from tests.fakes.slack_interactive import build_click

from benchmarks.http import HttpPool
from benchmarks.load import collector_paused, percentile
from benchmarks.seed import Team, seed_teams
from benchmarks.stack import JWT_SECRET, Stack

RATE = float(os.environ.get("CLICKS_RATE", "50"))
SECONDS = float(os.environ.get("CLICKS_SECONDS", "20"))
CLICKS_PER_ESCALATION = 5
TEAMS = 10
SENIORS = CLICKS_PER_ESCALATION + 1  # the owner and five engineers; the junior escalates
INTERACTIONS = "/api/v1/integrations/slack/interactions"
SERVICES = ("handoff-api", "notifier", "docgen", "psa-sync")


def _secret(team: Team) -> str:
    return f"bench-signing-{team.account_id.hex}"


def _button_message(handoff_id: str) -> SlackMessage:
    button = {
        "type": "button",
        "action_id": "pickup",
        "text": {"type": "plain_text", "text": "Pick up"},
        "value": handoff_id,
    }
    return SlackMessage(
        "C0BENCH", f"{time.time():.6f}", "Escalation", [{"type": "actions", "elements": [button]}]
    )


async def prepare(
    stack: Stack, api: HttpPool, teams: list[Team], per_team: int
) -> list[tuple[Team, str, list[str]]]:
    """Slack (with a signing secret) for each team, its seniors in the Slack workspace, and escalations.

    Returns (team, handoff id, the seniors' Slack ids) per escalation.
    """
    slack_url = f"http://127.0.0.1:{stack.fake_ports['slack']}"
    escalations: list[tuple[Team, str, list[str]]] = []
    async with httpx.AsyncClient(base_url=slack_url, timeout=30) as fake:
        for t, team in enumerate(teams):
            owner = {"Authorization": f"Bearer {team.owner_token}"}
            put = await api.request(
                "PUT",
                "/api/v1/integrations/slack",
                body={
                    "bot_token": f"xoxb-bench-{t}",
                    "channel_id": "C0BENCH",
                    "signing_secret": _secret(team),
                },
                headers=owner,
            )
            assert put.status < 300, put.body
            # seed_teams' emails: index 0 the owner, 1 the junior, 2.. the engineers.
            emails = [f"{stack.run_id}-{t}-{i}@bench.example.com" for i in (0, *range(2, SENIORS + 1))]
            slack_ids = [(await fake.post("/_fake/users", json={"email": e})).json()["id"] for e in emails]
            junior = {"Authorization": f"Bearer {team.junior_token}"}
            for _ in range(per_team):
                made = await api.request(
                    "POST",
                    f"/api/v1/ai-sessions/{team.next_session()}/handoff",
                    body={"intent": "escalate", "reason": "Benchmark: needs a senior"},
                    headers=junior,
                )
                assert made.status == 201, made.body
                escalations.append((team, made.json()["id"], slack_ids[:CLICKS_PER_ESCALATION]))
    return escalations


async def drained(stack: Stack, timeout: float = 120.0) -> None:
    """Wait until the escalations' fan-out (email, chat, documentation) has left the queues."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        depths = await stack.queue_depths()
        if all(depth <= 0 for depth in depths.values()):
            return
        await asyncio.sleep(1.0)


async def click_at_rate(
    api: HttpPool, stack: Stack, escalations: list[tuple[Team, str, list[str]]]
) -> tuple[list[float], dict[str, int], dict[str, float]]:
    """Send the clicks on schedule; answer times (ms from the scheduled time), statuses, schedule by reply key."""
    slack_url = f"http://127.0.0.1:{stack.fake_ports['slack']}"
    plan = [(team, hid, user) for team, hid, users in escalations for user in users]
    plan = plan[: int(RATE * SECONDS)]
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    scheduled_by_key: dict[str, float] = {}
    start = time.monotonic() + 0.5
    wall_offset = time.time() - time.monotonic()

    async def one(i: int, team: Team, handoff_id: str, user: str) -> None:
        due = start + i / RATE
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        click = build_click(
            slack_url=slack_url,
            signing_secret=_secret(team),
            user_id=user,
            username=user.lower(),
            message=_button_message(handoff_id),
        )
        scheduled_by_key[click.response_url.rsplit("/", 1)[-1]] = due + wall_offset
        try:
            answer = await api.request("POST", INTERACTIONS, content=click.body, headers=click.headers)
            key = str(answer.status)
        except Exception as exc:
            key = type(exc).__name__
        latencies.append((time.monotonic() - due) * 1000)
        statuses[key] = statuses.get(key, 0) + 1

    with collector_paused():
        await asyncio.gather(*(one(i, *step) for i, step in enumerate(plan)))
    return latencies, statuses, scheduled_by_key


async def settle(stack: Stack, handoff_ids: list[str], clicks: int, timeout: float = 120.0) -> dict[str, Any]:
    """Wait until every escalation is claimed and every click has its reply; the claims and reply times."""
    slack_url = f"http://127.0.0.1:{stack.fake_ports['slack']}"
    deadline = time.monotonic() + timeout
    ids = [uuid.UUID(h) for h in handoff_ids]
    claimed, replies = 0, {}
    async with httpx.AsyncClient(base_url=slack_url, timeout=30) as fake:
        conn = await asyncpg.connect(stack.dsn)
        try:
            while time.monotonic() < deadline:
                claimed = await conn.fetchval(
                    "SELECT count(*) FROM handoffs WHERE id = ANY($1::uuid[]) AND claimed_at IS NOT NULL", ids
                )
                replies = (await fake.get("/_fake/replies")).json()["first_reply_at"]
                if claimed == len(ids) and len(replies) >= clicks:
                    break
                await asyncio.sleep(0.2)
        finally:
            await conn.close()
    return {"claimed": claimed, "replies": replies}


async def main() -> dict[str, Any]:
    """Run the benchmark in its own database and vhost; the results."""
    stack = Stack()
    per_team = -(-int(RATE * SECONDS) // (CLICKS_PER_ESCALATION * TEAMS))
    try:
        await stack.provision()
        stack.start_fakes()
        teams = await seed_teams(
            stack.dsn,
            secret=JWT_SECRET,
            teams=TEAMS,
            seniors=SENIORS,
            sessions_per_team=per_team,
            tag=stack.run_id,
        )
        stack.start(*SERVICES)
        api = HttpPool("127.0.0.1", stack.services["handoff-api"].port, size=64)
        escalations = await prepare(stack, api, teams, per_team)
        await drained(stack)
        cpu_before = stack.cpu_snapshot()
        latencies, statuses, scheduled = await click_at_rate(api, stack, escalations)
        last_click = max(scheduled.values())
        outcome = await settle(stack, [hid for _, hid, _ in escalations], len(scheduled))
        cpu_after = stack.cpu_snapshot()
        to_reply = [
            (outcome["replies"][key] - due) * 1000
            for key, due in scheduled.items()
            if key in outcome["replies"]
        ]
        results = {
            "rate_per_s": RATE,
            "seconds": SECONDS,
            "clicks": len(latencies),
            "statuses": statuses,
            "answer_p50_ms": round(percentile(latencies, 50), 1),
            "answer_p95_ms": round(percentile(latencies, 95), 1),
            "answer_p99_ms": round(percentile(latencies, 99), 1),
            "answer_max_ms": round(max(latencies), 1),
            "escalations": len(escalations),
            "claimed": outcome["claimed"],
            "replies": len(to_reply),
            "click_to_reply_p50_ms": round(percentile(to_reply, 50), 1),
            "click_to_reply_p99_ms": round(percentile(to_reply, 99), 1),
            # The last reply is the last piece of work (each click's claim commits before its reply).
            "all_done_after_last_click_s": round(
                max(outcome["replies"].values(), default=last_click) - last_click, 2
            ),
            "cpu_seconds": {k: round(cpu_after[k] - cpu_before.get(k, 0.0), 2) for k in cpu_after},
            "loadavg": Path("/proc/loadavg").read_text().split()[:3],
        }
        await api.close()
    finally:
        await stack.teardown()
    return results


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main()), indent=2))
