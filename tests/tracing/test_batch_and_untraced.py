"""The context a message carries reaches its own handler in a batch, and the request id travels untraced."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import pytest
import structlog
from opentelemetry import context as otel_context
from opentelemetry import propagate

from flowpilot_shared import telemetry
from flowpilot_shared.broker.topology import QueueSpec
from flowpilot_shared.consumer import Consumer, HandlerContext
from flowpilot_shared.errors import TransientError
from flowpilot_shared.events import AnyEvent, HandoffEscalated
from flowpilot_shared.outbox.relay import OutboxRelay
from tests.harness.broker import own_queue
from tests.harness.factories import Team, make_escalation, make_team
from tests.harness.waiting import wait_until
from tests.notifier.conftest import claimed_event
from tests.shared.conftest import inbox_transactions
from tests.tracing.conftest import Spans

log = structlog.get_logger(__name__)


@pytest.fixture
async def queue(amqp, core_settings) -> AsyncIterator[QueueSpec]:
    """A queue of this test's own, bound to escalations."""
    spec = QueueSpec(f"test.tracing.{uuid.uuid4().hex[:8]}", ("handoff.escalated",))
    async with own_queue(amqp, spec, core_settings.delivery_limit):
        yield spec


async def _escalate_in_request(db, team: Team, request_id: str) -> HandoffEscalated:
    """Escalate as handoff-api does while serving a request with this X-Request-ID (traced if on)."""
    tracer = telemetry.tracer()
    with tracer.start_as_current_span(f"request {request_id}") if tracer else _no_span():
        token = telemetry.enter_request(request_id)
        try:
            return await make_escalation(db, team, escalator=team.users[1], staged=True)
        finally:
            telemetry.leave_request(token)


class _no_span:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


async def _outbox_context(db, event_id: uuid.UUID) -> tuple[str | None, str | None]:
    async with db.driver() as conn:
        row = await conn.fetchrow("SELECT traceparent, request_id FROM outbox WHERE id = $1", event_id)
    assert row is not None
    return row["traceparent"], row["request_id"]


async def test_handlers_batched_together_each_write_in_their_own_trace_and_request(
    spans: Spans, log_lines: list[MutableMapping[str, Any]], db, amqp, core_settings, queue
) -> None:
    team = await make_team(db)
    follow_ups: dict[uuid.UUID, uuid.UUID] = {}

    async def handler(event: AnyEvent, ctx: HandlerContext) -> None:
        assert isinstance(event, HandoffEscalated)
        follow_up = claimed_event(event, claimer=team.users[2], team=team)
        follow_ups[event.id] = follow_up.id
        log.info("escalation seen", event_id=str(event.id))
        ctx.uow.add_event(follow_up)

    requests = [f"batch-{i}-{uuid.uuid4().hex}" for i in range(3)]
    escalations = [await _escalate_in_request(db, team, request_id) for request_id in requests]
    consumer = Consumer(
        name=queue.name,
        spec=queue,
        handler=handler,
        db=db,
        settings=core_settings,
        batch_limit=10,
        batch_linger_seconds=0.3,
    )
    relay = OutboxRelay(db=db, settings=core_settings, name="tracing-batch-test")
    await consumer.start(amqp)
    await relay.start()
    try:
        await wait_until(lambda: len(follow_ups) == 3, timeout=30, message="every escalation handled")
    finally:
        await consumer.stop()
        await relay.stop()
    batches = await inbox_transactions(db, queue.name, [e.id for e in escalations])
    assert len(set(batches.values())) < 3, "some handlers shared a transaction (else nothing is tested)"

    for escalation, request_id in zip(escalations, requests, strict=True):
        delivery = [
            s
            for s in spans.named(f"process {queue.name}")
            if (s.attributes or {}).get("messaging.message.id") == str(escalation.id)
        ]
        assert len(delivery) == 1 and delivery[0].context is not None
        traceparent, written_for = await _outbox_context(db, follow_ups[escalation.id])
        assert written_for == request_id
        context = delivery[0].context
        assert traceparent == f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
        [line] = [line for line in log_lines if line.get("event_id") == str(escalation.id)]
        assert (line["request_id"], line["trace_id"]) == (request_id, f"{context.trace_id:032x}")


async def test_untraced_the_request_id_still_reaches_the_consumers_log_lines(
    log_lines: list[MutableMapping[str, Any]], db, amqp, core_settings, queue
) -> None:
    assert not telemetry.tracing_on(), "tracing is off unless configured"
    team = await make_team(db)
    attempts: list[uuid.UUID] = []

    async def fails_once(event: AnyEvent, ctx: HandlerContext) -> None:
        if event.id != escalation.id:
            return  # a row an earlier test of this worker left for the relay
        attempts.append(event.id)
        if len(attempts) == 1:
            raise TransientError("try again")

    request_id = f"untraced-{uuid.uuid4().hex}"
    escalation = await _escalate_in_request(db, team, request_id)
    assert await _outbox_context(db, escalation.id) == (None, request_id)
    consumer = Consumer(name=queue.name, spec=queue, handler=fails_once, db=db, settings=core_settings)
    relay = OutboxRelay(db=db, settings=core_settings, name="tracing-off-test")
    await consumer.start(amqp)
    await relay.start()
    try:
        await wait_until(lambda: len(attempts) == 2, timeout=30, message="the retry")
    finally:
        await consumer.stop()
        await relay.stop()
    failed = [
        line
        for line in log_lines
        if line["event"] == "handler failed" and line.get("event_id") == str(escalation.id)
    ]
    assert [(line.get("request_id"), "trace_id" in line) for line in failed] == [(request_id, False)]


async def test_untraced_a_consumer_passes_the_trace_it_received_on_to_what_it_writes(
    db, amqp, core_settings, queue
) -> None:
    # Tracing on in the API only (here a context made current by hand): neither the relay nor the
    # consumer record spans, and the trace still reaches the event the consumer writes.
    team = await make_team(db)
    traceparent = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"
    follow_ups: list[uuid.UUID] = []

    async def handler(event: AnyEvent, ctx: HandlerContext) -> None:
        assert isinstance(event, HandoffEscalated)
        follow_up = claimed_event(event, claimer=team.users[2], team=team)
        ctx.uow.add_event(follow_up)
        follow_ups.append(follow_up.id)

    token = otel_context.attach(propagate.extract({"traceparent": traceparent}))
    try:
        escalation = await _escalate_in_request(db, team, "untraced-relay")
    finally:
        otel_context.detach(token)
    assert await _outbox_context(db, escalation.id) == (traceparent, "untraced-relay")
    consumer = Consumer(name=queue.name, spec=queue, handler=handler, db=db, settings=core_settings)
    relay = OutboxRelay(db=db, settings=core_settings, name="tracing-pass-on-test")
    await consumer.start(amqp)
    await relay.start()
    try:
        await wait_until(lambda: follow_ups, timeout=30, message="the escalation handled")
    finally:
        await consumer.stop()
        await relay.stop()
    assert await _outbox_context(db, follow_ups[0]) == (traceparent, "untraced-relay")
