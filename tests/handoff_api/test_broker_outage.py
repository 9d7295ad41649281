"""RabbitMQ down while escalations are created: the API answers at once, events follow once it is back."""

from __future__ import annotations

import asyncio
import subprocess
import uuid

import aio_pika
import pytest
from sqlalchemy import func, select

from flowpilot_shared.broker.topology import declare_exchanges
from flowpilot_shared.events import EVENTS_EXCHANGE
from flowpilot_shared.models import OutboxEvent
from tests.harness.people import API, add_user, create_session, signup
from tests.harness.waiting import wait_until

ESCALATIONS = 50


async def _ctl(infra, *args: str) -> None:
    await asyncio.to_thread(
        subprocess.run, [*infra.rabbitmqctl, *args], check=True, capture_output=True, timeout=120
    )


async def _durable_capture(amqp_url: str) -> str:
    # A durable queue survives stop_app/start_app, so nothing published after the restart is missed.
    name = f"test.outage.{uuid.uuid4().hex[:8]}"
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        await declare_exchanges(channel)
        queue = await channel.declare_queue(name, durable=True)
        await queue.bind(EVENTS_EXCHANGE, routing_key="handoff.escalated")
    return name


async def _drain(amqp_url: str, name: str, seen: list[str], want: set[str]) -> None:
    connection = await aio_pika.connect(amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(name)

        async def probe() -> bool:
            while (message := await queue.get(no_ack=False, fail=False)) is not None:
                seen.append(str(message.message_id))
                await message.ack()
            return want <= set(seen)

        await wait_until(probe, timeout=60, interval=0.2, message="all escalations published after restart")
        # Anything published twice would already be queued behind the last expected message.
        await probe()
        await queue.delete(if_unused=False, if_empty=False)


@pytest.mark.faults
@pytest.mark.serial
@pytest.mark.xdist_group("broker")
async def test_escalations_while_broker_is_down(api, infra, core_settings, db):
    queue_name = await _durable_capture(core_settings.amqp_url)
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    await add_user(api, tenant, "engineer")
    sessions = [await create_session(api, junior.token, title=f"Outage {i}") for i in range(ESCALATIONS)]
    handoff_ids: set[str] = set()
    await _ctl(infra, "stop_app")
    try:
        # Each answered while the broker is down, its event left waiting in the outbox (below). How
        # fast the API answers is the benchmark's (api phase), not a bound here.
        for session in sessions:
            response = await api.post(
                f"{API}/ai-sessions/{session['id']}/handoff",
                headers=junior.headers,
                json={"intent": "escalate", "reason": "Broker is down, escalate anyway"},
            )
            assert response.status_code == 201, response.text
            handoff_ids.add(response.json()["id"])
        async with db.sessions() as s:
            unpublished = await s.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(OutboxEvent.account_id == tenant.account_id, OutboxEvent.published_at.is_(None))
            )
        assert unpublished == ESCALATIONS  # the broker really was down: all 50 wait in the outbox
    finally:
        await _ctl(infra, "start_app")
        await _ctl(infra, "await_startup")
    assert len(handoff_ids) == ESCALATIONS
    async with db.sessions() as s:
        event_ids = {
            str(i)
            for i in (
                await s.execute(
                    select(OutboxEvent.id).where(
                        OutboxEvent.account_id == tenant.account_id,
                        OutboxEvent.routing_key == "handoff.escalated",
                    )
                )
            ).scalars()
        }
    assert len(event_ids) == ESCALATIONS
    seen: list[str] = []
    await _drain(core_settings.amqp_url, queue_name, seen, event_ids)
    mine = [m for m in seen if m in event_ids]
    assert sorted(mine) == sorted(event_ids), "every escalation published exactly once"

    async def all_marked() -> bool:
        async with db.sessions() as s:
            pending = await s.scalar(
                select(func.count())
                .select_from(OutboxEvent)
                .where(OutboxEvent.account_id == tenant.account_id, OutboxEvent.published_at.is_(None))
            )
        return pending == 0

    # A pass's rows are marked by the relay's next read (within its poll interval when idle).
    await wait_until(all_marked, timeout=10, message="every published row marked published")
