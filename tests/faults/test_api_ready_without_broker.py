"""handoff-api stays ready (and takes escalations) while its broker is gone; the broker shows as degraded."""

from __future__ import annotations

import asyncio
import re
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select

from flowpilot_shared.models import OutboxEvent
from tests.faults.system import System
from tests.harness.people import create_session, escalate, signup
from tests.harness.processes import ServiceProcess
from tests.harness.tcp_proxy import TcpProxy
from tests.harness.waiting import wait_until


def _broker_gauge(metrics: str) -> float | None:
    match = re.search(r'^flowpilot_broker_connected\{service="handoff-api"\} (\S+)$', metrics, re.M)
    return float(match.group(1)) if match else None


@pytest.mark.faults
@pytest.mark.timeout(240)
async def test_api_stays_ready_while_its_broker_is_away(system: System, infra, db):
    broker = urlsplit(infra.amqp_url)
    proxy = await TcpProxy(broker.hostname or "127.0.0.1", broker.port or 5672).start()
    system.env["FLOWPILOT_AMQP_URL"] = proxy.url_through(infra.amqp_url)
    system.start(["handoff-api"])
    replicas: list[ServiceProcess] = []
    try:
        async with system.client() as api:

            async def readiness() -> tuple[int, dict]:
                answer = await api.get("/readyz")
                return answer.status_code, answer.json()

            async def gauge() -> float | None:
                return _broker_gauge((await api.get("/metrics")).text)

            await wait_until(lambda: _is(gauge, 1.0), timeout=60, message="broker connected")
            assert await readiness() == (200, {"status": "ready"})

            await proxy.cut()
            await wait_until(lambda: _is(gauge, 0.0), timeout=60, message="broker loss noticed")
            status, body = await readiness()
            assert status == 200, body  # a Kubernetes readiness probe keeps the pod in service
            assert body["status"] == "ready" and "check_broker" in body["degraded"]

            # A replica starting during the outage (a rollout, a rescheduled pod) becomes ready too.
            late = ServiceProcess("handoff-api", system.base_env(), system.log_dir)
            replicas.append(late)
            await asyncio.to_thread(late.start)
            async with httpx.AsyncClient(base_url=late.url, timeout=30) as other:
                answer = await other.get("/readyz")
                assert answer.status_code == 200 and "check_broker" in answer.json()["degraded"]

            # ...because escalations are still taken: the outbox holds them.
            tenant = await signup(api)
            session = await create_session(api, tenant.owner.token)
            await escalate(api, tenant.owner.token, session["id"])

            await proxy.restore()
            await wait_until(lambda: _is(gauge, 1.0), timeout=90, message="broker back")
            assert await readiness() == (200, {"status": "ready"})

            async def published() -> bool:
                async with db.sessions() as s:
                    rows = await s.execute(
                        select(OutboxEvent.published_at).where(
                            OutboxEvent.session_id == session["id"],
                            OutboxEvent.routing_key == "handoff.escalated",
                        )
                    )
                    return all(r.published_at for r in rows) and bool(rows)

            await wait_until(
                published, timeout=90, message="the escalation published once the broker is back"
            )
    finally:
        for replica in replicas:
            await asyncio.to_thread(replica.stop)
        await proxy.cut()


async def _is(probe, expected: float) -> bool:
    return await probe() == expected
