"""Rows the broker will not take. A refused row waits out its own retry while the other sessions'
rows keep flowing, the backlog gauges show it, and an operator lists it and has it tried again
(`flowpilot-admin outbox`). A row that can never go out is set aside as dead instead of being retried
forever (issue 24, item 9): its session's later events go on, and it is visible
(`flowpilot-admin outbox list --dead`, /metrics)."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client import REGISTRY

from flowpilot_shared.broker.topology import ALL_QUEUES
from flowpilot_shared.events import EVENTS_EXCHANGE
from flowpilot_shared.outbox import housekeeping, pending
from flowpilot_shared.outbox.relay import OutboxRelay
from flowpilot_shared.web.app import create_service_app
from tests.harness.broker import capture, purge_queues
from tests.harness.factories import commit_events, make_escalation, make_team
from tests.harness.waiting import wait_until
from tests.shared.outbox_checks import (
    all_marked,
    delete_rows,
    insert_raw_row,
    outbox_admin,
    outbox_cleared,
    outbox_row,
    published,
    refusing_queue,
    running,
)


@pytest.fixture(autouse=True)
async def clean_outbox_and_queues(db, amqp, core_settings) -> AsyncIterator[None]:  # type: ignore[no-untyped-def]
    """Each test starts with no earlier rows in the outbox, and leaves none of the escalations its
    relay published in the service queues, where a later test's consumers would meet them."""
    await outbox_cleared(db)
    yield
    await purge_queues(amqp, ALL_QUEUES, core_settings.delivery_limit)


async def _backlog(db) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """The relay's backlog gauges (unpublished, failing), refreshed now."""
    await housekeeping.refresh_gauges(db)
    values = (
        REGISTRY.get_sample_value(name)
        for name in ("flowpilot_outbox_unpublished", "flowpilot_outbox_failing")
    )
    unpublished, failing = (value or 0.0 for value in values)
    return unpublished, failing


async def test_a_refused_row_waits_alone_and_holds_back_only_its_session(
    db, amqp, core_settings, monkeypatch
):
    # Long enough that the refused row is not tried again while the test runs.
    monkeypatch.setattr(pending, "ROW_RETRY_BASE_SECONDS", 120.0)
    refused_key = f"test.refused.{uuid.uuid4().hex[:8]}"
    captured = await capture(amqp, "handoff.escalated")  # declares the exchanges too
    async with refusing_queue(amqp, refused_key) as full:
        team = await make_team(db)
        held = await make_escalation(db, team, escalator=team.users[1])
        other = await make_escalation(db, team, escalator=team.users[1])
        assert await _backlog(db) == (0, 0)
        refused_id = await insert_raw_row(db, routing_key=refused_key, beside=held)
        await commit_events(db, held)  # the refused row's session goes on after it
        try:
            async with running(OutboxRelay(db=db, settings=core_settings, name="test")):

                async def refused_once() -> bool:
                    return (await outbox_row(db, refused_id)).attempts >= 1

                await wait_until(refused_once, message="the broker's refusal recorded on the row")
                await commit_events(db, other)
                await wait_until(
                    lambda: published(captured, other.id), message="another session's event published"
                )
                await wait_until(lambda: all_marked(db, [other.id]), message="and marked published")
                row = await outbox_row(db, refused_id)
                # Not tried again pass after pass (the relay did not back off as a whole and retry it).
                assert row.attempts == 1, row.last_error
                assert row.retry_at is not None and row.published_at is None
                assert row.last_error and "DeliveryError" in row.last_error, row.last_error
                # Its session's next event waits behind it: session order holds.
                assert not await published(captured, held.id)
                assert (await outbox_row(db, held.id)).published_at is None

                # Visible in the metrics operators alert on: two rows waiting (the refused row and the
                # event behind it), one of them failing; this test's rows are the only ones there are.
                assert await _backlog(db) == (2, 1)

                # The operator sees it, fixes the cause, and has it tried again now rather than in minutes.
                listed = {r["id"]: r for r in json.loads(outbox_admin(core_settings, "list", "--json"))}
                assert listed[str(refused_id)]["attempts"] == 1
                assert "DeliveryError" in listed[str(refused_id)]["last_error"]
                await full.unbind(EVENTS_EXCHANGE, routing_key=refused_key)
                assert "to be tried again now" in outbox_admin(
                    core_settings, "retry", "--id", str(refused_id)
                )
                await wait_until(
                    lambda: all_marked(db, [refused_id, held.id]),
                    message="the row and its session's next event published",
                )
                assert await published(captured, held.id)
                assert str(refused_id) not in outbox_admin(core_settings, "list")
                assert await _backlog(db) == (0, 0)
        finally:
            await delete_rows(db, [refused_id, held.id])


async def _metrics() -> str:
    """What a service's /metrics shows (the process's registry, as Prometheus scrapes it)."""
    app = create_service_app(title="probe")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe") as client:
        return (await client.get("/metrics")).text


def _dead_total(routing_key: str) -> float:
    value = REGISTRY.get_sample_value("flowpilot_outbox_dead_total", {"routing_key": routing_key})
    return value or 0.0


async def test_a_row_too_large_to_publish_is_set_aside_and_its_session_goes_on(db, amqp, core_settings):
    settings = core_settings.model_copy(update={"outbox_max_payload_bytes": 4096})
    huge_key = f"test.huge.{uuid.uuid4().hex[:8]}"
    captured = await capture(amqp, "#")
    team = await make_team(db)
    later = await make_escalation(db, team, escalator=team.users[1])
    huge_id = await insert_raw_row(db, routing_key=huge_key, beside=later, payload={"blob": "x" * 10_000})
    await commit_events(db, later)  # committed after the huge row, in the same session
    try:
        async with running(OutboxRelay(db=db, settings=settings, name="test-dead")):
            await wait_until(
                lambda: all_marked(db, [later.id]), timeout=20, message="the session's later event published"
            )
            row = await outbox_row(db, huge_id)
            assert row.dead_at is not None and row.published_at is None and row.retry_at is None
            assert row.attempts == 1 and row.last_error and "over the limit of 4096" in row.last_error
            assert await published(captured, later.id) and not await published(captured, huge_id)

            listed = json.loads(outbox_admin(core_settings, "list", "--dead", "--json"))
            [dead] = [r for r in listed if r["id"] == str(huge_id)]
            assert dead["state"] == "dead" and "over the limit" in dead["last_error"]
            assert str(huge_id) in outbox_admin(core_settings, "list")
            assert _dead_total(huge_key) == 1.0
            await housekeeping.refresh_gauges(db)
            exposed = await _metrics()
            assert f'flowpilot_outbox_dead_total{{routing_key="{huge_key}"}} 1.0' in exposed
            assert "flowpilot_outbox_dead_rows " in exposed
    finally:
        await delete_rows(db, [huge_id, later.id])


async def test_a_row_refused_again_and_again_is_set_aside_then_retried_by_an_operator(
    db, amqp, core_settings, monkeypatch
):
    monkeypatch.setattr(pending, "ROW_RETRY_BASE_SECONDS", 0.05)
    settings = core_settings.model_copy(update={"outbox_row_max_attempts": 3})
    refused_key = f"test.refused.{uuid.uuid4().hex[:8]}"
    captured = await capture(amqp, "#")
    async with refusing_queue(amqp, refused_key) as full:
        team = await make_team(db)
        later = await make_escalation(db, team, escalator=team.users[1])
        refused_id = await insert_raw_row(db, routing_key=refused_key, beside=later)
        await commit_events(db, later)
        try:
            async with running(OutboxRelay(db=db, settings=settings, name="test-refused")):
                await wait_until(
                    lambda: all_marked(db, [later.id]),
                    timeout=20,
                    message="the session's later event published",
                )
                row = await outbox_row(db, refused_id)
                # Tried the bounded number of times, then set aside (no longer waiting on a retry).
                assert row.attempts == 3 and row.dead_at is not None and row.retry_at is None
                assert row.last_error and "DeliveryError" in row.last_error
                assert _dead_total(refused_key) == 1.0

                # The operator fixes the cause and has it tried again: it goes out, and leaves the dead list.
                await full.unbind(EVENTS_EXCHANGE, routing_key=refused_key)
                assert "to be tried again now" in outbox_admin(
                    core_settings, "retry", "--id", str(refused_id)
                )
                await wait_until(
                    lambda: all_marked(db, [refused_id]), timeout=20, message="the revived row published"
                )
                assert await published(captured, refused_id)
                assert str(refused_id) not in outbox_admin(core_settings, "list", "--dead")
        finally:
            await delete_rows(db, [refused_id, later.id])
