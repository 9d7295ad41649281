"""Scenario 1: RabbitMQ stopped for 20 s while 300 escalations are created through handoff-api."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from flowpilot_shared.broker.topology import ALL_QUEUES
from tests.faults.accounting import settled
from tests.faults.system import (
    System,
    consumer_queues,
    create_sessions,
    escalate_all,
    make_team,
    rabbitmqctl,
)
from tests.harness.waiting import wait_until

ESCALATIONS = 300
OUTAGE_SECONDS = 20.0


async def _all_ready(system: System) -> bool:
    async with httpx.AsyncClient(timeout=5) as client:
        for name in system.procs:
            try:
                if (await client.get(f"{system.url(name)}/readyz")).status_code != 200:
                    return False
            except httpx.HTTPError:
                return False
    return True


@pytest.mark.faults
@pytest.mark.serial
@pytest.mark.timeout(420)
async def test_broker_stopped_while_escalating(system, infra, db):
    system.start()
    async with system.client() as api:
        team = await make_team(api, system.fakes)
        sessions = await create_sessions(api, team, ESCALATIONS)
        await asyncio.to_thread(rabbitmqctl, infra, "stop_app")
        stopped = time.monotonic()
        try:
            escalations = await escalate_all(api, team, sessions)  # asserts 201 for every call
            took = time.monotonic() - stopped
            # Every escalation was answered while the broker was down (it starts again only below);
            # the outage then lasts its full length however fast the API was (its speed is the
            # benchmark's api phase).
            await asyncio.sleep(max(0.0, OUTAGE_SECONDS - took))
        finally:
            await asyncio.to_thread(rabbitmqctl, infra, "start_app")
            await asyncio.to_thread(rabbitmqctl, infra, "await_startup")
    assert len({e.handoff_id for e in escalations}) == ESCALATIONS

    report = await settled(db, system.fakes, escalations, team.recipient_emails, infra=infra, timeout=180)
    print(f"\n{ESCALATIONS} escalations in {took:.1f}s while the broker was down\n{report}")

    # Consumers came back on their own: every service ready, every durable queue consumed again.
    await wait_until(lambda: _all_ready(system), timeout=30, message="every service ready")

    async def registered() -> dict[str, int] | None:
        consumers = await asyncio.to_thread(consumer_queues, infra)
        return consumers if all(consumers.get(s.name) for s in ALL_QUEUES) else None

    await wait_until(registered, timeout=30, interval=0.5, message="a consumer on every durable queue")
