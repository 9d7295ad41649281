"""A redelivered event, a re-emitted event and two replicas still make one documentation and one event."""

from __future__ import annotations

import asyncio
import uuid
from types import SimpleNamespace

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from docgen.consumer import CONSUMER_NAME, escalations_consumer
from docgen.generation import Generator
from flowpilot_shared.db import Database
from flowpilot_shared.models import OutboxEvent
from flowpilot_shared.service import ServiceRuntime
from tests.docgen.conftest import documentation_rows, package_rows, running_docgen
from tests.harness.broker import capture, publish_event
from tests.harness.factories import commit_events, make_escalation, make_team
from tests.harness.waiting import wait_until

pytestmark = pytest.mark.usefixtures("purged_queue")


def _outcomes() -> dict[str, float]:
    return {
        outcome: REGISTRY.get_sample_value(
            "flowpilot_consumer_messages_total", {"consumer": CONSUMER_NAME, "outcome": outcome}
        )
        or 0.0
        for outcome in ("processed", "duplicate", "dead_lettered")
    }


async def _generated_rows(db: Database, session_id: uuid.UUID | None) -> int:
    async with db.sessions() as session:
        query = select(func.count()).where(
            OutboxEvent.routing_key == "documentation.generated", OutboxEvent.session_id == session_id
        )
        return int((await session.execute(query)).scalar_one())


@pytest.mark.parametrize("model", [True, False], ids=["model", "template"])
async def test_duplicates_and_two_replicas_make_one_documentation(
    db, amqp, docgen_settings, fake_anthropic, model
):
    """With a model the duplicates stop at the 'already documented?' check; without, at the write."""
    fake_anthropic.delay(4, seconds=0.3)  # keep model calls in flight so the replicas overlap
    team = await make_team(db)
    event = await make_escalation(db, team, escalator=team.users[1])
    re_emitted = event.model_copy(update={"id": uuid.uuid4()})
    captured = await capture(amqp, "documentation.generated")
    before = _outcomes()
    settings = docgen_settings() if model else docgen_settings(anthropic_api_key=None)
    async with running_docgen(settings), running_docgen(settings):
        await commit_events(db, event)
        await publish_event(amqp, event)
        await publish_event(amqp, event)
        await publish_event(amqp, re_emitted)

        async def all_handled() -> bool:
            now = _outcomes()
            return now["processed"] + now["duplicate"] - before["processed"] - before["duplicate"] >= 4

        await wait_until(all_handled, timeout=20, message="four deliveries handled")
        await wait_until(
            lambda: captured.of_account(team.account.id), message="documentation.generated published"
        )
    after = _outcomes()
    assert after["processed"] - before["processed"] == 1
    assert after["duplicate"] - before["duplicate"] == 3
    assert after["dead_lettered"] == before["dead_lettered"]
    assert len(await documentation_rows(db, event.data.handoff_id)) == 1
    assert len(await package_rows(db, event.data.handoff_id)) == 1
    assert await _generated_rows(db, event.session_id) == 1
    assert len(captured.of_account(team.account.id, "documentation.generated")) == 1


# What `_run_once` reads of a delivery: a first delivery, not an operator's replay.
_DELIVERY = SimpleNamespace(redelivered=False, headers={})


@pytest.mark.parametrize("same_event_id", [True, False], ids=["redelivery", "re-emitted"])
async def test_concurrent_replicas_race_one_wins(db, docgen_settings, fake_anthropic, same_event_id):
    """Both replicas pass the 'already documented?' check and call the model; one write wins."""
    fake_anthropic.delay(2, seconds=0.3)
    team = await make_team(db)
    event = await make_escalation(db, team, escalator=team.users[1])
    twin = event if same_event_id else event.model_copy(update={"id": uuid.uuid4()})
    settings = docgen_settings()
    generator = Generator(settings)
    runtime = ServiceRuntime(name="docgen-test", settings=settings, db=db)
    replicas = [escalations_consumer(runtime, settings, generator) for _ in range(2)]
    try:
        outcomes = await asyncio.gather(
            replicas[0]._run_once(event, _DELIVERY, 1),  # type: ignore[arg-type]
            replicas[1]._run_once(twin, _DELIVERY, 1),  # type: ignore[arg-type]
        )
    finally:
        await generator.close()
    assert sorted(outcomes) == ["duplicate", "processed"]
    assert len(fake_anthropic.requests) == 2  # both really raced through generation
    assert len(await documentation_rows(db, event.data.handoff_id)) == 1
    assert len(await package_rows(db, event.data.handoff_id)) == 1
    assert await _generated_rows(db, event.session_id) == 1
