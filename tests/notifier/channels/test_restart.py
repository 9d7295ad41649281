"""A notifier stopping mid-retry gives the message back at once; the next process carries on, once."""

from __future__ import annotations

import time

from aio_pika.abc import AbstractRobustConnection

from flowpilot_shared.consumer import Consumer
from flowpilot_shared.db import Database
from flowpilot_shared.service import ServiceRuntime
from notifier import channels
from notifier.settings import NotifierSettings
from tests.fakes.smtp import FakeSmtp
from tests.harness.broker import publish_event
from tests.harness.factories import make_escalation, make_team
from tests.harness.waiting import wait_until
from tests.notifier.channels.conftest import deliveries


async def test_stop_during_backoff_then_restart_sends_once(
    db: Database,
    amqp: AbstractRobustConnection,
    channel_settings: NotifierSettings,
    channel_consumers: list[Consumer],
    smtp: FakeSmtp,
) -> None:
    team = await make_team(db, engineers=2)
    event = await make_escalation(db, team, escalator=team.users[1])
    smtp.stop()
    await publish_event(amqp, event)

    async def retrying() -> bool:
        rows = await deliveries(db, event.id, "email")
        return len(rows) == 2 and all(r.status == "retrying" for r in rows)

    await wait_until(retrying, timeout=10, message="emails waiting to retry")
    started = time.monotonic()
    for consumer in channel_consumers:
        await consumer.stop()
    assert time.monotonic() - started < 3  # the backoff did not hold the shutdown
    rows = await deliveries(db, event.id, "email")
    assert all(r.status == "retrying" for r in rows)  # nothing in flight, nothing given up

    smtp.start()
    runtime = ServiceRuntime(name="notifier-test-2", settings=channel_settings, db=db)
    replacements = channels.channel_consumers(runtime)
    for consumer in replacements:
        await consumer.start(amqp)
    try:

        async def sent() -> bool:
            return [r.status for r in await deliveries(db, event.id, "email")] == ["sent", "sent"]

        await wait_until(sent, timeout=15, message="emails sent by the next process")
    finally:
        for consumer in replacements:
            await consumer.stop()
    assert sorted(r for m in smtp.messages for r in m.rcpt_tos) == sorted(
        [team.owner.email.lower(), team.users[2].email.lower()]
    )
    assert all(r.attempts > 1 for r in await deliveries(db, event.id, "email"))
