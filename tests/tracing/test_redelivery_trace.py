"""A message handled twice (redelivered, or in a batch) is handled in its own trace and request each time."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import pytest

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
from tests.tracing.conftest import Spans


@pytest.fixture
async def queue(amqp, core_settings) -> AsyncIterator[QueueSpec]:
    """A queue of this test's own, bound to escalations."""
    spec = QueueSpec(f"test.tracing.{uuid.uuid4().hex[:8]}", ("handoff.escalated",))
    async with own_queue(amqp, spec, core_settings.delivery_limit):
        yield spec


@pytest.fixture
async def relay(db, core_settings) -> AsyncIterator[OutboxRelay]:
    """An outbox relay of this test, publishing what the test commits."""
    running = OutboxRelay(db=db, settings=core_settings, name="tracing-test")
    await running.start()
    yield running
    await running.stop()


async def _escalate_in_a_request(db, team: Team, request_id: str) -> tuple[HandoffEscalated, int]:
    """Escalate as handoff-api would while serving a request: its outbox row keeps the request's
    trace and id. The event and the trace id."""
    tracer = telemetry.tracer()
    assert tracer is not None
    with tracer.start_as_current_span("POST /handoff") as span:
        token = telemetry.enter_request(request_id)
        try:
            event = await make_escalation(db, team, escalator=team.users[1], staged=True)
        finally:
            telemetry.leave_request(token)
    return event, span.get_span_context().trace_id


async def test_a_redelivered_message_is_handled_in_the_trace_it_was_published_in(
    spans: Spans, log_lines: list[MutableMapping[str, Any]], db, amqp, core_settings, queue, relay
) -> None:
    team = await make_team(db)
    first_try = asyncio.Event()

    async def handler(event: AnyEvent, ctx: HandlerContext) -> None:
        assert isinstance(event, HandoffEscalated)
        if event.account_id != team.account.id:
            return  # a row an earlier test of this worker left for the relay
        if not first_try.is_set():
            first_try.set()
            # Waits out a minute's backoff, so stopping the consumer hands the message back.
            raise TransientError("try again later", retry_after=60)
        ctx.uow.add_event(claimed_event(event, claimer=team.users[2], team=team))

    request_id = f"redelivery-{uuid.uuid4().hex}"
    first = Consumer(name=queue.name, spec=queue, handler=handler, db=db, settings=core_settings)
    await first.start(amqp)
    try:
        event, trace_id = await _escalate_in_a_request(db, team, request_id)
        await wait_until(first_try.is_set, timeout=15, message="the first delivery")
    finally:
        await first.stop()  # unacked: the broker delivers the message again
    second = Consumer(name=queue.name, spec=queue, handler=handler, db=db, settings=core_settings)
    await second.start(amqp)
    try:
        await wait_until(
            lambda: spans.named("publish handoff.claimed", trace_id),
            timeout=30,
            message="the follow-up event",
        )
    finally:
        await second.stop()

    published = spans.named("publish handoff.escalated", trace_id)
    deliveries = spans.named(f"process {queue.name}", trace_id)
    assert len(published) == 1 and len(deliveries) == 2
    assert [(s.attributes or {}).get("flowpilot.redelivered") for s in deliveries] == [False, True]
    assert all(s.parent is not None and s.parent.span_id == published[0].context.span_id for s in deliveries)
    # What the redelivery's handler wrote goes on in the same trace, from its own delivery's span.
    follow_up = spans.named("publish handoff.claimed", trace_id)[0]
    assert follow_up.parent is not None and follow_up.parent.span_id == deliveries[1].context.span_id
    assert {(s.attributes or {}).get("flowpilot.request_id") for s in [*deliveries, follow_up]} == {
        request_id
    }
    failed = [line for line in log_lines if line["event"] == "handler failed"]
    assert [line.get("request_id") for line in failed] == [request_id]
    assert failed[0]["trace_id"] == f"{trace_id:032x}"
    assert str(event.id) == deliveries[0].attributes["messaging.message.id"]  # type: ignore[index]
