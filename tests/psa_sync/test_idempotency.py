"""Never a second note: redelivered events, duplicates and a crash between the PSA's answer and the commit."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from flowpilot_shared.broker.topology import PSA_SYNC_DOCUMENTATION
from flowpilot_shared.db import Database
from flowpilot_shared.events import DocumentationGenerated
from flowpilot_shared.models import Documentation, PsaPush
from psa_sync.providers import AutotaskProvider, ConnectWiseProvider
from psa_sync.pushes.service import compose_note, note_marker
from tests.fakes.psa import FakePsa
from tests.faults.system import unacked_held
from tests.harness.broker import capture, publish_event
from tests.harness.factories import commit_events
from tests.harness.infra import Infra
from tests.harness.waiting import wait_until
from tests.psa_sync.conftest import documentation_event, make_scenario, settled_row


async def test_same_event_delivered_twice_is_one_note(
    db: Database, amqp, fake_psa: FakePsa, psa_app, infra: Infra
):
    captured = await capture(amqp, "psa.#")
    scenario = await make_scenario(db, fake_psa, "connectwise")
    event = documentation_event(scenario)
    # Two copies at once, then a third after the first settled.
    await asyncio.gather(publish_event(amqp, event), publish_event(amqp, event))
    row = await settled_row(db, event.data.documentation_id)
    await publish_event(amqp, event)
    # A different event id for the same documentation (a re-emitted event) must not post either.
    reemitted = event.model_copy(update={"id": uuid.uuid4()})
    await publish_event(amqp, reemitted)
    # Every copy handled to its end and acknowledged: the push row is the only record they leave.
    await wait_until(lambda: _drained(amqp, infra), timeout=30, message="psa-sync's queue drained")
    await wait_until(lambda: _consumed(captured, scenario.account_id), message="note_pushed published")

    assert row.status == "pushed"
    assert len(fake_psa.ticket_notes("connectwise", "4711")) == 1
    assert len(fake_psa.calls("connectwise", "create_note")) == 1
    assert len(captured.of_account(scenario.account_id, "psa.note_pushed")) == 1


async def _drained(amqp, infra: Infra) -> bool:
    """Nothing waits in psa-sync's queue and its consumer holds nothing unacknowledged."""
    channel = await amqp.channel()
    try:
        queue = await channel.declare_queue(PSA_SYNC_DOCUMENTATION.name, passive=True)
        waiting = queue.declaration_result.message_count
    finally:
        await channel.close()
    return not waiting and await asyncio.to_thread(unacked_held, infra, [PSA_SYNC_DOCUMENTATION.name]) == 0


async def _consumed(captured, account_id):
    return captured.of_account(account_id, "psa.note_pushed")


async def test_crash_after_psa_answered_before_commit_is_one_note(
    db: Database, amqp, fake_psa: FakePsa, psa_app, monkeypatch: pytest.MonkeyPatch
):
    original = ConnectWiseProvider.create_note
    crashes: list[str] = []

    async def create_then_crash(self, ticket_id: str, text: str) -> str:
        note_id = await original(self, ticket_id, text)
        if not crashes:
            crashes.append(note_id)
            raise RuntimeError("process died after the PSA answered")
        return note_id

    monkeypatch.setattr(ConnectWiseProvider, "create_note", create_then_crash)
    captured = await capture(amqp, "psa.#")
    scenario = await make_scenario(db, fake_psa, "connectwise")
    event = documentation_event(scenario)
    await commit_events(db, event)

    row = await settled_row(db, event.data.documentation_id)
    assert crashes, "the crash was injected"
    assert row.status == "pushed" and row.external_note_id == crashes[0] and row.attempts == 2
    assert len(fake_psa.ticket_notes("connectwise", "4711")) == 1
    assert len(fake_psa.calls("connectwise", "create_note")) == 1
    assert len(fake_psa.calls("connectwise", "find_note")) == 1
    [pushed] = await wait_until(lambda: _consumed(captured, scenario.account_id), message="note_pushed")
    assert pushed["data"]["external_note_id"] == crashes[0]


async def _pending_row(db: Database, scenario, event) -> None:
    """The state a process leaves when it dies after claiming and calling, before recording."""
    async with db.sessions() as session, session.begin():
        session.add(
            PsaPush(
                account_id=scenario.account_id,
                session_id=scenario.escalation.session_id,
                handoff_id=event.data.handoff_id,
                documentation_id=event.data.documentation_id,
                event_id=event.id,
                provider="autotask",
                ticket_id="4711",
                status="pending",
                marker=note_marker(event.data.documentation_id),
                attempts=1,
            )
        )


async def _note_left_by(fake_psa: FakePsa, psa_app, event: DocumentationGenerated) -> str:
    """The note an attempt that died (or timed out) after the PSA answered managed to create."""
    provider = AutotaskProvider(
        base_url=fake_psa.base_url("autotask"),
        credentials=fake_psa.credentials("autotask"),
        client=psa_app.state.pushes.client(),
        tokens=psa_app.state.pushes.tokens,
    )
    marker = note_marker(event.data.documentation_id)
    note_id = await provider.create_note("4711", compose_note(event.data.content_markdown, marker))
    fake_psa.requests.clear()
    return note_id


async def test_redelivery_of_crashed_push_finds_the_note_by_marker(db: Database, fake_psa: FakePsa, psa_app):
    scenario = await make_scenario(db, fake_psa, "autotask")
    event = documentation_event(scenario)
    await _pending_row(db, scenario, event)
    existing = await _note_left_by(fake_psa, psa_app, event)
    marker = note_marker(event.data.documentation_id)

    await commit_events(db, event)
    row = await settled_row(db, event.data.documentation_id)
    assert row.status == "pushed" and row.external_note_id == existing and row.attempts == 2
    assert len(fake_psa.ticket_notes("autotask", "4711")) == 1
    assert fake_psa.calls("autotask", "create_note") == []
    [query] = fake_psa.calls("autotask", "find_note")
    assert marker in query.query["search"]


async def test_redelivery_of_crashed_push_posts_when_no_note_exists(db: Database, fake_psa: FakePsa, psa_app):
    scenario = await make_scenario(db, fake_psa, "autotask")
    event = documentation_event(scenario)
    await _pending_row(db, scenario, event)

    await commit_events(db, event)
    row = await settled_row(db, event.data.documentation_id)
    assert row.status == "pushed" and row.attempts == 2
    assert len(fake_psa.ticket_notes("autotask", "4711")) == 1
    assert [c.operation for c in fake_psa.calls("autotask")] == ["find_note", "create_note"]


async def _stored_version(db: Database, scenario, version: int, content: str) -> DocumentationGenerated:
    """A documentation version of the scenario's escalation, stored as docgen stores it, and its event."""
    event = documentation_event(scenario, content=content)
    event = event.model_copy(update={"data": event.data.model_copy(update={"version": version})})
    async with db.sessions() as session, session.begin():
        session.add(
            Documentation(
                id=event.data.documentation_id,
                account_id=scenario.account_id,
                session_id=event.session_id,
                handoff_id=event.data.handoff_id,
                version=version,
                content_markdown=content,
                generated_by="template",
                model=None,
            )
        )
    return event


async def test_a_regeneration_updates_the_note_an_unsettled_earlier_push_created(
    db: Database, fake_psa: FakePsa, psa_app
):
    """The first push timed out after the PSA created its note; the regenerated documentation comes
    before that push's retry. It updates that note (found by the first push's marker), and the retry
    then leaves the newer text: one note on the ticket."""
    scenario = await make_scenario(db, fake_psa, "autotask")
    first = await _stored_version(db, scenario, 1, "## Version one of the documentation")
    await _pending_row(db, scenario, first)
    existing = await _note_left_by(fake_psa, psa_app, first)

    second = await _stored_version(db, scenario, 2, "## Version two, after the regeneration")
    await commit_events(db, second)
    row = await settled_row(db, second.data.documentation_id)
    assert row.status == "pushed" and row.external_note_id == existing, row.last_error
    [note] = fake_psa.ticket_notes("autotask", "4711")
    assert "Version two" in str(note) and "Version one" not in str(note)

    await commit_events(db, first)  # the first push's retry
    row = await settled_row(db, first.data.documentation_id)
    assert row.status == "pushed" and row.external_note_id == existing, row.last_error
    [note] = fake_psa.ticket_notes("autotask", "4711")
    assert "Version two" in str(note)
    assert fake_psa.calls("autotask", "create_note") == []
