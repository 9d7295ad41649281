"""A notifier replica may consume no work queue: it serves streams while another replica sends."""

from __future__ import annotations

import subprocess

import aio_pika
import pytest

from flowpilot_shared.broker.topology import NOTIFIER_BELL, NOTIFIER_CHAT, NOTIFIER_EMAIL, NOTIFIER_TEAMS
from notifier.settings import NotifierSettings
from notifier.stream import hub as hub_module
from tests.harness.broker import purge_queues
from tests.harness.factories import commit_events, make_escalation, make_team
from tests.harness.sse import open_stream
from tests.harness.waiting import wait_until
from tests.notifier.conftest import bell_rows, notifier_settings_from, serve_notifier

STREAM = "ai-sessions/escalations/stream"
WORK_QUEUE_SPECS = (NOTIFIER_BELL, NOTIFIER_EMAIL, NOTIFIER_CHAT, NOTIFIER_TEAMS)
WORK_QUEUES = tuple(spec.name for spec in WORK_QUEUE_SPECS)


async def _consumers(amqp: aio_pika.abc.AbstractRobustConnection) -> dict[str, int]:
    """Consumers on each work queue (0 for a queue nobody declared)."""
    counts = {}
    for name in WORK_QUEUES:
        channel = await amqp.channel()
        try:
            queue = await channel.declare_queue(name, passive=True)
            counts[name] = queue.declaration_result.consumer_count or 0
        except aio_pika.exceptions.ChannelNotFoundEntity:
            counts[name] = 0
        finally:
            if not channel.is_closed:
                await channel.close()
    return counts


async def test_stream_replica_streams_while_worker_replica_sends(
    core_settings, smtp, db, amqp, http, token_for
):
    # Nothing earlier tests of this worker left in the work queues reaches this test's replicas.
    await purge_queues(amqp, WORK_QUEUE_SPECS, core_settings.delivery_limit)
    team = await make_team(db, engineers=2)
    to_sink = {"smtp_host": "127.0.0.1", "smtp_port": smtp.port}
    streaming = notifier_settings_from(core_settings, notifier_queues="", **to_sink)
    working = notifier_settings_from(core_settings, notifier_queues="notifier.bell,notifier.email", **to_sink)
    async with serve_notifier(working):

        async def worker_consuming() -> dict[str, int] | None:
            counts = await _consumers(amqp)
            return counts if counts[NOTIFIER_BELL.name] and counts[NOTIFIER_EMAIL.name] else None

        before = await wait_until(worker_consuming, message="the worker replica consuming")
        async with serve_notifier(streaming) as stream_replica:
            # The stream replica adds no consumer to any work queue.
            assert await _consumers(amqp) == before
            assert before[NOTIFIER_BELL.name] == 1 and before[NOTIFIER_EMAIL.name] == 1
            assert before[NOTIFIER_CHAT.name] == 0 and before[NOTIFIER_TEAMS.name] == 0
            owner = token_for(team.owner)
            async with open_stream(http, stream_replica.url(STREAM), headers=owner) as stream:
                await stream.wait_event("ready")
                event = await make_escalation(db, team, escalator=team.users[1])
                await commit_events(db, event)
                created = await stream.wait_event("handoff_created")
                # The bell row the worker replica wrote reaches the owner through the stream replica.
                await stream.wait_event("notification")
            assert created.json()["handoff_id"] == str(event.data.handoff_id)
            rows = await bell_rows(db, event.id)
            assert {r.user_id for r in rows} == {r.id for r in event.data.recipients}
            recipients = sorted(r.email.lower() for r in event.data.recipients)

            def emails_of_this_escalation() -> list[str]:
                mails = [m for m in smtp.messages if m.headers["X-FlowPilot-Event-ID"] == str(event.id)]
                return sorted(address.lower() for m in mails for address in m.rcpt_tos)

            await wait_until(
                lambda: emails_of_this_escalation() == recipients,
                message="one email per recipient, sent by the worker replica",
            )


def test_unknown_queue_name_is_refused_at_start(core_settings):
    with pytest.raises(ValueError, match="unknown notifier queues"):
        NotifierSettings(**core_settings.model_dump(), notifier_queues="notifier.bell,notifier.sms")


async def _bindings(infra, queue: str) -> set[tuple[str, str]]:
    """(exchange, routing key) of every binding of `queue` but the default exchange's."""
    listing = subprocess.run(
        [
            *infra.rabbitmqctl,
            "list_bindings",
            "-p",
            infra.vhost,
            "source_name",
            "destination_name",
            "routing_key",
            "--quiet",
            "--no-table-headers",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = set()
    for line in listing.splitlines():
        source, destination, key = [*line.split("\t"), "", "", ""][:3]
        if destination == queue and source:
            found.add((source, key))
    return found


async def test_a_replica_receives_stream_events_only_while_it_has_clients(
    core_settings, notifier_settings, db, http, token_for, infra, monkeypatch
):
    monkeypatch.setattr(hub_module, "UNBIND_AFTER_SECONDS", 0.3)
    team = await make_team(db)
    async with serve_notifier(notifier_settings) as replica:
        queue = replica.hub.queue_name
        # Consuming (ready), but no client: none of the tenants' stream traffic comes its way.
        assert await _bindings(infra, queue) == set()
        async with open_stream(http, replica.url(STREAM), headers=token_for(team.owner)) as stream:
            await stream.wait_event("ready")
            assert await _bindings(infra, queue) == set(hub_module.STREAM_BINDINGS)
            event = await make_escalation(db, team, escalator=team.users[1])
            await commit_events(db, event)
            created = await stream.wait_event("handoff_created")
            assert created.json()["handoff_id"] == str(event.data.handoff_id)

        async def unbound() -> bool:
            return await _bindings(infra, queue) == set()

        await wait_until(unbound, message="unbound once the last client left")
        # A client coming back finds it bound again before its replay, and gets live events.
        async with open_stream(http, replica.url(STREAM), headers=token_for(team.owner)) as stream:
            await stream.wait_event("ready")
            later = await make_escalation(db, team, escalator=team.users[1])
            await commit_events(db, later)
            again = await stream.wait_event("handoff_created")
            while again.json()["handoff_id"] != str(later.data.handoff_id):
                again = await stream.wait_event("handoff_created")
