"""What each kind of I/O one escalation is made of costs our side, one operation at a time.

The pipeline's CPU per escalation is the sum of many small operations: statements, deliveries,
publishes, emails, API calls. This phase times each kind alone, with the libraries and settings the
services use, against the same PostgreSQL, RabbitMQ and fakes: the CPU of this process per operation
(`time.process_time`, the client's side only), after a warm-up. `model` multiplies them by what one
escalation of the pipeline does, so the results show how much of the services' CPU per escalation the
operations themselves take, however well the code around them is written.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aio_pika
import aiohttp
import aiosmtplib
import asyncpg
from slack_sdk.web.async_client import AsyncWebClient
from tests.fakes.psa_wire import CREDENTIALS, ROOTS
from tests.fakes.slack import TOKEN_PREFIX

from benchmarks.stack import SERVICES, Stack
from flowpilot_shared.broker.topology import ALL_QUEUES, NOTIFIER_EMAIL
from flowpilot_shared.events import HandoffEscalated, parse_event
from flowpilot_shared.security.urls import guarded_client
from notifier.channels.base import Target
from notifier.channels.email import EmailChannel
from notifier.settings import NotifierSettings
from psa_sync.providers import PROVIDERS, TokenCache

OPERATIONS = 1000
WARM_UP = 100
QUEUE = "flowpilot.bench.units"


async def _per_operation(operation: Callable[[], Awaitable[Any]], count: int = OPERATIONS) -> float:
    """Client CPU microseconds per call of `operation`, one after another, after a warm-up."""
    for _ in range(WARM_UP):
        await operation()
    started = time.process_time()
    for _ in range(count):
        await operation()
    return round(1e6 * (time.process_time() - started) / count, 1)


def escalation_event() -> HandoffEscalated:
    """An escalation like the pipeline's: a seeded session with two steps, three recipients."""
    now = datetime.now(UTC).isoformat()

    def person(role: str) -> dict[str, str]:
        user = uuid.uuid4()
        return {"id": str(user), "name": "Sam Senior", "email": f"{user.hex[:12]}@example.com", "role": role}

    steps = [
        {
            "id": str(uuid.uuid4()),
            "kind": kind,
            "content": content,
            "author_id": str(uuid.uuid4()),
            "created_at": now,
        }
        for kind, content in (("action", "Rebuilt the Outlook profile"), ("observation", "Still prompts"))
    ]
    session = {
        "id": str(uuid.uuid4()),
        "title": "Outlook cannot connect",
        "problem": "Users at Contoso get a password prompt loop in Outlook",
        "client_name": "Contoso",
        "psa_ticket_id": "T-1001",
        "status": "active",
        "owner_id": str(uuid.uuid4()),
        "created_at": now,
        "steps": steps,
    }
    body = {
        "type": "handoff.escalated",
        "account_id": str(uuid.uuid4()),
        "session_id": session["id"],
        "data": {
            "handoff_id": str(uuid.uuid4()),
            "reason": "Stuck after profile rebuild; needs a senior",
            "escalated_at": now,
            "session": session,
            "escalator": person("junior"),
            "recipients": [person("senior") for _ in range(3)],
        },
    }
    event = parse_event(json.dumps(body))
    assert isinstance(event, HandoffEscalated)
    return event


async def _postgres(dsn: str) -> dict[str, float]:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE TEMP TABLE bench_units (id uuid PRIMARY KEY, body text)")

        async def transaction() -> None:
            async with conn.transaction():
                await conn.execute("INSERT INTO bench_units VALUES ($1, 'x')", uuid.uuid4())

        return {
            "postgres_statement": await _per_operation(lambda: conn.fetchval("SELECT 1")),
            # A commit at its cheapest: one self-committing statement, one round trip.
            "postgres_commit": await _per_operation(
                lambda: conn.execute("INSERT INTO bench_units VALUES ($1, 'x')", uuid.uuid4())
            ),
            "postgres_transaction": await _per_operation(transaction),
        }
    finally:
        await conn.close()


async def _rabbitmq(amqp_url: str, body: bytes) -> dict[str, float]:
    connection = await aio_pika.connect_robust(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(QUEUE, durable=True, arguments={"x-queue-type": "quorum"})
        await queue.purge()
        published = await _per_operation(
            lambda: channel.default_exchange.publish(
                aio_pika.Message(body, delivery_mode=aio_pika.DeliveryMode.PERSISTENT), routing_key=QUEUE
            )
        )
        # Every message published above, delivered and acked one at a time (prefetch 1).
        taken: asyncio.Queue[None] = asyncio.Queue()

        async def take(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            await message.ack()
            taken.put_nowait(None)

        consuming = await connection.channel()
        await consuming.set_qos(prefetch_count=1)
        delivering = await consuming.get_queue(QUEUE)
        started = time.process_time()
        tag = await delivering.consume(take)
        for _ in range(WARM_UP + OPERATIONS):
            await asyncio.wait_for(taken.get(), timeout=30)
        delivered = round(1e6 * (time.process_time() - started) / (WARM_UP + OPERATIONS), 1)
        await delivering.cancel(tag)
        await queue.delete(if_unused=False, if_empty=False)
        return {"amqp_publish_confirmed": published, "amqp_delivery_acked": delivered}
    finally:
        await connection.close()


async def _smtp(port: int, event: HandoffEscalated) -> dict[str, float]:
    settings = NotifierSettings(smtp_host="127.0.0.1", smtp_port=port)
    email = EmailChannel(settings, NOTIFIER_EMAIL)
    person = event.data.recipients[0]
    _, message = email.build_message(event, [Target(recipient=person.email, params={"name": person.name})])
    others = [f"{n}.{person.email}" for n in range(2)]
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, local_hostname="bench.local")
    await client.connect()
    try:
        sendmail = await _per_operation(
            lambda: client.sendmail("flowpilot@localhost", [person.email], message)
        )
        # An escalation's recipients share one message: what each one beyond the first adds.
        to_three = await _per_operation(
            lambda: client.sendmail("flowpilot@localhost", [person.email, *others], message)
        )
    finally:
        await client.quit()
    return {
        "smtp_email": sendmail,
        "smtp_extra_recipient": round((to_three - sendmail) / len(others), 1),
        "email_bytes": float(len(message)),
    }


async def _psa(port: int, markdown: str) -> float:
    client = guarded_client(allow_loopback=True)
    provider = PROVIDERS["connectwise"](
        base_url=f"http://127.0.0.1:{port}{ROOTS['connectwise']}",
        credentials=CREDENTIALS["connectwise"],
        client=client,
        tokens=TokenCache(margin_seconds=60),
    )
    try:
        return await _per_operation(lambda: provider.create_note("T-1001", markdown))
    finally:
        await client.aclose()


async def _slack(port: int) -> float:
    async with aiohttp.ClientSession() as session:
        client = AsyncWebClient(
            token=f"{TOKEN_PREFIX}bench", base_url=f"http://127.0.0.1:{port}/api/", session=session
        )
        return await _per_operation(
            lambda: client.chat_postMessage(channel="C-BENCH", text="Escalation: bench")
        )


async def measure(*, dsn: str, amqp_url: str, fake_ports: dict[str, int]) -> dict[str, float]:
    """Client CPU microseconds per operation of each kind (and the email's size in bytes)."""
    event = escalation_event()
    body = event.model_dump_json().encode()
    documentation = "# Escalation package\n\n" + "Rebuilt the Outlook profile; still prompts.\n" * 40
    costs = {
        "event_parse": await _per_operation(lambda: _parse(body), count=5 * OPERATIONS),
        **await _postgres(dsn),
        **await _rabbitmq(amqp_url, body),
        **await _smtp(fake_ports["smtp"], event),
        "psa_note_httpx": await _psa(fake_ports["psa"], documentation),
        "slack_post": await _slack(fake_ports["slack"]),
    }
    return costs


async def _parse(body: bytes) -> None:
    parse_event(body)


def model(units: dict[str, float], final: dict[str, Any]) -> dict[str, Any]:
    """The operations one escalation of the sustained pipeline run does, priced at `units`.

    Counts come from that run: deliveries from the queues the escalation's two awaited events are
    routed to, publishes from its outbox rows, emails and chat posts from its effects, commits from
    PostgreSQL, each priced as one self-committing statement: the statements of a transaction beyond
    its commit are left out, so this is a floor, not the whole.
    """
    escalations = final["api"]["ok"] or 1
    effects = final["effects"]
    counts = {
        "amqp_delivery_acked": sum(
            ("handoff.escalated" in spec.bindings) + ("documentation.generated" in spec.bindings)
            for spec in ALL_QUEUES
        ),
        "amqp_publish_confirmed": final["db_per_escalation"]["outbox_rows"],
        "postgres_commit": final["db_per_escalation"]["commits"],
        "smtp_email": effects["email_messages"] / escalations,
        "smtp_extra_recipient": (effects["email"] - effects["email_messages"]) / escalations,
        "slack_post": effects["slack"] / escalations,
        "psa_note_httpx": effects["psa_note"] / escalations,
    }
    priced = {kind: round(count * units[kind] / 1000, 2) for kind, count in counts.items()}
    floor = round(sum(priced.values()), 2)
    services = sum(final["cpu_ms_per_escalation"].get(name, 0.0) for name in SERVICES)
    return {
        "counts": {kind: round(count, 2) for kind, count in counts.items()},
        "ms_per_escalation": priced,
        "operations_ms": floor,
        "services_cpu_ms": round(services, 2),
        "share_of_services_cpu": round(floor / services, 2) if services else None,
    }


async def run(stack: Stack, pipeline: dict[str, Any] | None) -> dict[str, Any]:
    """The phase: each operation's cost on this stack, and priced for the pipeline's escalation."""
    costs = await measure(dsn=stack.dsn, amqp_url=stack.amqp_url, fake_ports=stack.fake_ports)
    result: dict[str, Any] = {"client_cpu_us": costs}
    if pipeline:
        result["model"] = model(costs, pipeline["final"])
    return result
